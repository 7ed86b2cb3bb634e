// supra-eval bench: prefill and decode speed and memory at given context lengths, for softmax and SUPRA, on a
// checkpoint or on random weights of a named shape (speed does not depend on the values). Figures are reported
// as tokens/s and as a fraction of the machine's limits: on the CPU measured here (a large SGEMM for FLOP/s, a
// streaming read for bandwidth); on CUDA the H200's nominal 990 dense bf16 TFLOP/s and 4.8 TB/s of HBM — tests
// never assert them. With --batch 1,16 one prefill per context is decoded at each batch size (forks of it).
#include <cblas.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "engine/model.h"
#include "cli/commands.h"
#include "core/build_info.h"
#include "cli/engine_options.h"
#include "harness/task_runner.h"
#include "reports/bench_table.h"
#ifdef SUPRA_WITH_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace supra {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_maxrss) / 1024.0;  // KiB on Linux
}

// What this machine reaches on plain SGEMM and on a streaming read: the denominators of the "% of limit" columns.
struct MachineLimits {
  double gflops = 0, gbps = 0;
  std::string source = "measured here";
};

// H200 nominal limits (ARCHITECTURE.md, Performance method): dense bf16 tensor-core FLOP/s and HBM3e bandwidth.
constexpr double kGpuLimitGflops = 990e3, kGpuLimitGbps = 4800;

MachineLimits measure_cpu_limits() {
  MachineLimits m;
  const int n = 1536;
  std::vector<float> a(size_t(n) * n, 1.f), b(size_t(n) * n, 0.5f), c(size_t(n) * n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
  double best = 1e30;
  for (int r = 0; r < 3; r++) {
    auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    best = std::min(best, seconds_since(t0));
  }
  m.gflops = 2.0 * n * n * double(n) / best / 1e9;
  const size_t words = size_t(256) << 20 >> 2;  // 256 MiB
  std::vector<float> big(words, 1.f);
  best = 1e30;
  for (int r = 0; r < 3; r++) {
    auto t0 = Clock::now();
    // Eight independent accumulators per thread keep the loads, not the add latency, the bottleneck.
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp parallel for reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7) schedule(static)
    for (size_t i = 0; i < words; i += 8) {
      s0 += big[i];
      s1 += big[i + 1];
      s2 += big[i + 2];
      s3 += big[i + 3];
      s4 += big[i + 4];
      s5 += big[i + 5];
      s6 += big[i + 6];
      s7 += big[i + 7];
    }
    const double sum = double(s0) + s1 + s2 + s3 + s4 + s5 + s6 + s7;
    best = std::min(best, seconds_since(t0));
    if (sum < 0) std::printf(" ");
  }
  m.gbps = double(words) * 4 / best / 1e9;
  return m;
}

struct Row {
  std::string mode;
  int64_t ctx = 0;
  int batch = 1;
  double prefill_tps = 0, prefill_gflops = 0;
  double decode_tps = 0, decode_gbps = 0;
  double state_mib = 0, peak_rss_mib = 0;
  double peak_device_mib = 0;  // CUDA: peak device memory of the prefill and this decode
  std::string skipped;         // why the decode of this row did not run (e.g. too little device memory)
};

// FLOPs of one token's matmuls (2 per weight) plus attention against `past` earlier tokens.
double token_flops(const ModelConfig& c, double past) {
  const double D = c.dim, F = c.hidden_dim, Q = c.q_dim(), KV = c.kv_dim(), d = c.head_dim;
  double w = D * Q + 2 * D * KV + Q * D + 3 * D * F;
  double attn = 0;
  if (c.attention == AttentionMode::Supra) {
    w += Q * Q + (c.separate_kv_feature_map ? KV * KV : 0);
    attn = 4.0 * c.n_heads * d * d;  // state update and read, per token (chunked form does about the same work)
  } else {
    const double seen = c.sliding_window ? std::min<double>(past, *c.sliding_window) : past;
    attn = 4.0 * c.n_heads * d * seen;
  }
  return c.n_layers * (2 * w + attn) + 2.0 * D * c.vocab_size / std::max(1.0, past);  // logits of one row
}

// Bytes of the matrices a decode step streams, in the dtype the backend keeps them (`device_dtype` for the GPU).
size_t weight_bytes(const Checkpoint& ck, std::optional<DType> device_dtype = std::nullopt) {
  return matrix_bytes(ck.config, ck.weights, device_dtype);
}

double device_peak_mib(Backend& be) {
#ifdef SUPRA_WITH_CUDA
  if (cuda::is_cuda_backend(be)) return double(cuda::peak_memory(be)) / (1 << 20);
#endif
  return 0;
}

void reset_device_peak(Backend& be) {
#ifdef SUPRA_WITH_CUDA
  if (cuda::is_cuda_backend(be)) cuda::reset_peak_memory(be);
#endif
}

// Free device memory (0 on the CPU, where nothing is checked).
double device_free_bytes(Backend& be) {
#ifdef SUPRA_WITH_CUDA
  if (cuda::is_cuda_backend(be)) return double(cuda::device_info(be).free_bytes);
#endif
  return 0;
}

// Bytes a softmax decode of `batch` forks needs on the device: each fork is reserved at round256(ctx) rows and
// doubles when the decode passes it (KVCache::reserve), old and new copies alive together for a moment.
double softmax_decode_bytes(const ModelConfig& c, int64_t ctx, int steps, int batch) {
  auto round256 = [](int64_t r) { return (r + 255) / 256 * 256; };
  const int64_t cap0 = round256(std::max<int64_t>(ctx, 1));
  const int64_t cap1 = ctx + steps > cap0 ? std::max(round256(ctx + steps), 2 * cap0) : 0;
  const double row = 2.0 * c.n_layers * c.kv_dim() * sizeof(float);
  return double(batch) * double(cap0 + cap1) * row;
}

// One prefill of `ctx` random tokens, then a decode at each batch size (forks of the prefilled state).
std::vector<Row> bench_ctx(EngineSession& s, int64_t ctx, int decode_tokens, const std::vector<int64_t>& batches,
                           int64_t ubatch, uint64_t seed, std::optional<DType> device_dtype) {
  Model& m = *s.model;
  const ModelConfig& c = m.config();
  Backend& be = *s.backend;
  const bool gpu = be.device() == Device::CUDA;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> pick(3, c.vocab_size - 1);
  std::vector<int32_t> prompt(static_cast<size_t>(ctx));
  for (auto& t : prompt) t = pick(rng);

  // Prefill: the whole context in micro-batches of `ubatch` tokens, then the last row's logits.
  reset_device_peak(be);
  auto state = m.new_state();
  Tensor hidden, logits;
  auto t0 = Clock::now();
  for (int64_t i = 0; i < ctx; i += ubatch) {
    const int64_t n = std::min(ubatch, ctx - i);
    SeqInput in{state.get(), std::span<const int32_t>(prompt.data() + i, size_t(n))};
    m.forward(std::span<const SeqInput>(&in, 1), &hidden);
  }
  Tensor last = hidden.slice_rows(hidden.rows() - 1, hidden.rows());
  m.logits(last, logits);
  be.synchronize();
  const double tp = seconds_since(t0);
  const double prefill_tps = double(ctx) / tp;
  double flops = 0;
  for (int64_t i = 0; i < ctx; i += 64) flops += 64 * token_flops(c, double(i));
  const double prefill_gflops = flops / tp / 1e9;
  const double prefill_peak = device_peak_mib(be);

  // Bytes one decode step must read besides the weights, per sequence: the K and V rows it attends to (fp32), or
  // the SUPRA state (read and written).
  const int warmup = gpu ? 4 : 1;  // on CUDA the third and fourth steps capture the decode graphs
  const double mid = double(ctx) + warmup + decode_tokens / 2.0;
  const double live_state =
      c.attention == AttentionMode::Supra
          ? 2.0 * c.n_layers * c.n_heads * double(c.head_dim) * c.head_dim * sizeof(float)
          : 2.0 * c.n_layers * c.kv_dim() * sizeof(float) *
                (c.sliding_window ? std::min<double>(mid, *c.sliding_window) : mid);
  const std::optional<DType> wdt = gpu ? device_dtype : std::nullopt;

  std::vector<Row> rows;
  for (size_t bi = 0; bi < batches.size(); bi++) {
    const int batch = int(batches[bi]);
    const bool last_batch = bi + 1 == batches.size();
    Row row;
    row.mode = mode_name(c.attention);
    row.ctx = ctx;
    row.batch = batch;
    row.prefill_tps = prefill_tps;
    row.prefill_gflops = prefill_gflops;
    if (gpu && c.attention == AttentionMode::Softmax) {
      // The prefilled state is released before the last batch size is decoded: its memory counts as free then.
      const double need = softmax_decode_bytes(c, ctx, warmup + decode_tokens, batch);
      const double free_b = device_free_bytes(be) + (last_batch ? double(state->bytes()) : 0.0);
      if (need > 0.92 * free_b) {
        row.skipped = fmt::format("needs ~{:.0f} GiB of device memory for the fp32 KV caches, {:.0f} GiB free",
                                  need / (1 << 30), free_b / (1 << 30));
        row.state_mib = double(state->bytes()) / (1 << 20);
        row.peak_device_mib = prefill_peak;
        row.peak_rss_mib = peak_rss_mib();
        rows.push_back(row);
        continue;
      }
    }
    reset_device_peak(be);
    // Decode: `batch` forks of the prefilled state, one token each per step, logits and argmax every step.
    std::vector<std::unique_ptr<SequenceState>> seqs;
    for (int b = 0; b < batch; b++) seqs.push_back(state->fork());
    if (last_batch) state.reset();  // its memory goes to the forks' growth
    std::vector<int32_t> next(size_t(batch), prompt.back());
    Tensor targets = be.alloc(DType::I32, {batch}), lp = be.alloc(DType::F32, {batch}),
           am = be.alloc(DType::I32, {batch});
    auto step = [&] {
      std::vector<SeqInput> in;
      for (int b = 0; b < batch; b++)
        in.push_back({seqs[size_t(b)].get(), std::span<const int32_t>(&next[size_t(b)], 1)});
      m.forward(in, &hidden);
      m.logits(hidden, logits);
      be.log_softmax_gather(logits, Tensor{}, lp, am);
      be.to_host(am, next.data());
    };
    for (int i = 0; i < warmup; i++) step();  // first-touch of buffers; CUDA graph capture
    t0 = Clock::now();
    for (int i = 0; i < decode_tokens; i++) step();
    be.synchronize();
    const double td = seconds_since(t0);
    row.decode_tps = double(decode_tokens) * batch / td;
    row.decode_gbps = (double(weight_bytes(s.ckpt, wdt)) + batch * live_state) * decode_tokens / td / 1e9;
    row.state_mib = double(seqs[0]->bytes()) / (1 << 20);
    row.peak_rss_mib = peak_rss_mib();
    row.peak_device_mib = std::max(prefill_peak, device_peak_mib(be));
    rows.push_back(row);
  }
  return rows;
}

}  // namespace

void register_bench(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    std::string shape, ctx = "128,512,2048,8192", modes = "softmax,supra", json_out, dtype = "f32", batch = "1";
    int decode_tokens = 32;
    int64_t ubatch = 512;
    uint64_t seed = 1234;
    std::string db;  // --db: the rows also go into this results store (table bench_results)
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("bench", "prefill and decode tokens/s and memory at given context lengths");
  add_engine_options(*cmd, args->eng, false);
  cmd->add_option("--shape", args->shape,
                  "random weights of a named shape (llama2-7b, mistral-7b, tiny-85m, stories260K) or "
                  "'dim=768,hidden=2048,layers=12,heads=12,kv_heads=12,vocab=512'");
  cmd->add_option("--dtype", args->dtype, "weight dtype of --shape weights: f32, f16, bf16");
  cmd->add_option("--ctx", args->ctx, "context lengths, comma separated");
  cmd->add_option("--modes", args->modes, "softmax, supra or both (SUPRA on a softmax checkpoint adds fresh "
                                          "feature-map weights: fine for speed, meaningless for quality)");
  cmd->add_option("--decode-tokens", args->decode_tokens, "decode steps timed per context")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", args->batch,
                  "sequences decoded together; a list (1,16) decodes each batch size from one prefill");
  cmd->add_option("--ubatch", args->ubatch, "prefill tokens per forward call")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed of random weights, feature maps and prompt tokens");
  cmd->add_option("--json", args->json_out, "also write the rows as JSON to this file");
  cmd->add_option("--db", args->db, "also append the rows to this SQLite results store (table bench_results; "
                                    "supra-eval report plots speed and memory from it)");
  cmd->callback([args] {
    if (args->shape.empty() == args->eng.model.empty()) fail("bench: give exactly one of --model or --shape");
    const auto ctxs = parse_int_list(args->ctx, "--ctx");
    const auto batches = parse_int_list(args->batch, "--batch");
    for (int64_t b : batches)
      if (b <= 0 || b > 4096) fail("--batch: batch sizes must be in [1, 4096], got {}", b);
    for (int64_t c : ctxs)
      if (c <= 0) fail("--ctx: context lengths must be positive, got {}", c);
    std::vector<std::string> modes;
    for (auto& m : {std::string("softmax"), std::string("supra")})
      if (args->modes.find(m) != std::string::npos) modes.push_back(m);
    if (modes.empty()) fail("--modes: expected softmax, supra or softmax,supra; got '{}'", args->modes);

    const bool gpu = args->eng.device == "cuda";
    const int threads = args->eng.threads > 0 ? args->eng.threads : int(std::thread::hardware_concurrency());
    std::vector<Row> rows;
    MachineLimits lim;
    if (gpu) lim = MachineLimits{kGpuLimitGflops, kGpuLimitGbps, "H200 nominal: dense bf16 tensor cores, HBM3e"};
    std::string model_desc, device_desc = args->eng.device;
    for (const std::string& mode : modes) {
      Checkpoint ck = args->shape.empty()
                          ? load_checkpoint(args->eng.model, LoadOptions{args->eng.tokenizer})
                          : random_checkpoint(named_shape(args->shape), parse_dtype(args->dtype), args->seed);
      const AttentionMode want = parse_mode(mode);
      if (want == AttentionMode::Supra && ck.config.attention == AttentionMode::Softmax)
        add_supra_feature_maps(ck, args->seed);
      if (want == AttentionMode::Softmax && ck.config.attention == AttentionMode::Supra) {
        std::fprintf(stderr, "bench: %s is a SUPRA checkpoint; skipping softmax mode\n", ck.path.c_str());
        continue;
      }
      model_desc = ck.config.summary();
      EngineSession s = open_session(args->eng, std::move(ck));
      if (lim.gflops == 0 && s.backend->device() == Device::CPU) lim = measure_cpu_limits();
#ifdef SUPRA_WITH_CUDA
      if (cuda::is_cuda_backend(*s.backend)) {
        const auto info = cuda::device_info(*s.backend);
        device_desc = fmt::format("cuda ({}, {} SMs, {:.0f} GiB), weights {}", info.name, info.sm_count,
                                  double(info.total_bytes) / (1 << 30), args->eng.gpu_dtype);
      }
#endif
      {  // warm-up, untimed: lazy library loading, first-use allocations
        auto st = s.model->new_state();
        std::vector<int32_t> w(size_t(std::min<int64_t>(args->ubatch, 64)), 3);
        SeqInput in{st.get(), std::span<const int32_t>(w)};
        Tensor h;
        s.model->forward(std::span<const SeqInput>(&in, 1), &h);
        s.backend->synchronize();
      }
      const std::optional<DType> gpu_dtype = gpu ? std::optional<DType>(parse_dtype(args->eng.gpu_dtype)) : std::nullopt;
      for (int64_t c : ctxs) {
        for (const Row& r : bench_ctx(s, c, args->decode_tokens, batches, args->ubatch, args->seed, gpu_dtype)) {
          rows.push_back(r);
          if (r.skipped.empty())
            std::fprintf(stderr, "  %s ctx %ld batch %d: prefill %.1f tok/s, decode %.1f tok/s\n", r.mode.c_str(),
                         long(c), r.batch, r.prefill_tps, r.decode_tps);
          else
            std::fprintf(stderr, "  %s ctx %ld batch %d: prefill %.1f tok/s, decode skipped: %s\n", r.mode.c_str(),
                         long(c), r.batch, r.prefill_tps, r.skipped.c_str());
        }
      }
    }
    std::printf("model: %s\ndevice: %s, threads %d; limits (%s): %.1f GFLOP/s, %.1f GB/s\n", model_desc.c_str(),
                device_desc.c_str(), threads, lim.source.c_str(), lim.gflops, lim.gbps);
    std::printf("| mode    |   ctx | batch | prefill tok/s | prefill GFLOP/s (%% limit) | decode tok/s | decode GB/s (%% limit) | state MiB | peak RSS MiB |%s\n",
                gpu ? " peak device MiB |" : "");
    std::printf("|---------|------:|------:|--------------:|--------------------------:|-------------:|----------------------:|----------:|-------------:|%s\n",
                gpu ? "----------------:|" : "");
    for (const Row& r : rows) {
      std::printf("| %-7s | %5ld | %5d | %13.1f | %15.1f (%5.1f%%) | %12.1f | %12.1f (%5.1f%%) | %9.2f | %12.1f |",
                  r.mode.c_str(), long(r.ctx), r.batch, r.prefill_tps, r.prefill_gflops,
                  lim.gflops > 0 ? 100 * r.prefill_gflops / lim.gflops : 0.0, r.decode_tps, r.decode_gbps,
                  lim.gbps > 0 ? 100 * r.decode_gbps / lim.gbps : 0.0, r.state_mib, r.peak_rss_mib);
      if (gpu) std::printf(" %15.1f |", r.peak_device_mib);
      std::printf("%s\n", r.skipped.empty() ? "" : (" decode skipped: " + r.skipped).c_str());
    }
    // One line per figure with its fraction of the limit (what gpu-check.sh collects).
    const bool tera = lim.gflops >= 1e4;
    for (size_t i = 0; i < rows.size(); i++) {
      const Row& r = rows[i];
      if (i == 0 || rows[i - 1].mode != r.mode || rows[i - 1].ctx != r.ctx)  // one prefill per (mode, ctx)
        std::printf("summary: %s ctx %ld prefill %.1f tok/s = %.1f %s = %.1f%% of %.1f %s\n", r.mode.c_str(),
                    long(r.ctx), r.prefill_tps, tera ? r.prefill_gflops / 1e3 : r.prefill_gflops,
                    tera ? "TFLOP/s" : "GFLOP/s", lim.gflops > 0 ? 100 * r.prefill_gflops / lim.gflops : 0.0,
                    tera ? lim.gflops / 1e3 : lim.gflops, tera ? "TFLOP/s" : "GFLOP/s");
      if (r.skipped.empty())
        std::printf("summary: %s ctx %ld batch %d decode %.1f tok/s = %.1f GB/s = %.1f%% of %.0f GB/s\n",
                    r.mode.c_str(), long(r.ctx), r.batch, r.decode_tps, r.decode_gbps,
                    lim.gbps > 0 ? 100 * r.decode_gbps / lim.gbps : 0.0, lim.gbps);
      else
        std::printf("summary: %s ctx %ld batch %d decode skipped (%s)\n", r.mode.c_str(), long(r.ctx), r.batch,
                    r.skipped.c_str());
      if (gpu)
        std::printf("summary: %s ctx %ld batch %d memory: peak device %.1f MiB, state %.2f MiB per sequence\n",
                    r.mode.c_str(), long(r.ctx), r.batch, r.peak_device_mib, r.state_mib);
    }
    if (!args->json_out.empty()) {
      nlohmann::json j;
      j["model"] = model_desc;
      j["device"] = device_desc;
      j["threads"] = threads;
      j["limit_gflops"] = lim.gflops;
      j["limit_gbps"] = lim.gbps;
      j["limit_source"] = lim.source;
      for (const Row& r : rows)
        j["rows"].push_back({{"mode", r.mode}, {"ctx", r.ctx}, {"batch", r.batch}, {"prefill_tok_s", r.prefill_tps},
                             {"prefill_gflops", r.prefill_gflops}, {"decode_tok_s", r.decode_tps},
                             {"decode_gbps", r.decode_gbps}, {"state_mib", r.state_mib},
                             {"peak_rss_mib", r.peak_rss_mib}, {"peak_device_mib", r.peak_device_mib},
                             {"decode_skipped", r.skipped}});
      std::ofstream out(args->json_out);
      if (!out) fail("--json: cannot write {}", args->json_out);
      out << j.dump(2) << "\n";
    }
    if (!args->db.empty()) {  // --db: the rows into the results store, for `supra-eval report`
      std::string model = "shape:" + args->shape, sha, dtype = args->dtype;
      if (args->shape.empty()) {
        Checkpoint ck = load_checkpoint(args->eng.model, LoadOptions{args->eng.tokenizer});
        model = args->eng.model;
        sha = checkpoint_sha256(ck);
        dtype = dtype_name(ck.config.weight_dtype);
      }
      if (gpu) dtype = args->eng.gpu_dtype;
      std::vector<reports::BenchRow> out;
      for (const Row& r : rows) {
        reports::BenchRow b;
        b.model = model;
        b.model_sha256 = sha;
        b.mode = r.mode;
        b.device = args->eng.device;
        b.dtype = dtype;
        b.threads = threads;
        b.ctx = r.ctx;
        b.batch = r.batch;
        b.prefill_tok_s = r.prefill_tps;
        b.prefill_gflops = r.prefill_gflops;
        if (r.skipped.empty()) b.decode_tok_s = r.decode_tps, b.decode_gbps = r.decode_gbps;  // skipped: NULL
        b.state_mib = r.state_mib;
        b.peak_rss_mib = r.peak_rss_mib;
        if (gpu) b.peak_device_mib = r.peak_device_mib;
        b.limit_gflops = lim.gflops;
        b.limit_gbps = lim.gbps;
        b.git_rev = build_git_revision();
        out.push_back(b);
      }
      reports::insert_bench_rows(args->db, out);
      std::fprintf(stderr, "bench: %zu rows appended to %s (table bench_results)\n", out.size(), args->db.c_str());
    }
  });
}

}  // namespace supra
