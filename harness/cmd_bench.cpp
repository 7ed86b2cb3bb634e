// supra-eval bench: prefill and decode speed and memory at given context lengths, for softmax and SUPRA, on a
// checkpoint or on random weights of a named shape (speed does not depend on the values). Figures are reported
// as tokens/s and as a fraction of the machine's limits measured here (a large SGEMM for FLOP/s, a streaming read
// for bandwidth) — tests never assert them.
#include <cblas.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/model.h"
#include "harness/commands.h"
#include "harness/engine_options.h"

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
};

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
    double sum = 0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (size_t i = 0; i < words; i++) sum += big[i];
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

size_t weight_bytes(const Checkpoint& ck) {
  size_t b = 0;
  auto add = [&](const Tensor& t) { b += t.empty() ? 0 : t.nbytes(); };
  add(ck.weights.tok_embeddings);
  for (auto& l : ck.weights.layers) {
    for (const Tensor* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down, &l.phi_q_w, &l.phi_k_w}) add(*t);
  }
  if (ck.weights.output.data != ck.weights.tok_embeddings.data) add(ck.weights.output);
  return b;
}

Row bench_one(EngineSession& s, int64_t ctx, int decode_tokens, int batch, uint64_t seed) {
  Model& m = *s.model;
  const ModelConfig& c = m.config();
  Backend& be = *s.backend;
  Row row;
  row.mode = mode_name(c.attention);
  row.ctx = ctx;
  row.batch = batch;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> pick(3, c.vocab_size - 1);
  std::vector<int32_t> prompt(static_cast<size_t>(ctx));
  for (auto& t : prompt) t = pick(rng);

  // Prefill: the whole context in micro-batches of 512 tokens, then the last row's logits.
  auto state = m.new_state();
  Tensor hidden, logits;
  const int64_t ub = 512;
  auto t0 = Clock::now();
  for (int64_t i = 0; i < ctx; i += ub) {
    const int64_t n = std::min(ub, ctx - i);
    SeqInput in{state.get(), std::span<const int32_t>(prompt.data() + i, size_t(n))};
    m.forward(std::span<const SeqInput>(&in, 1), &hidden);
  }
  Tensor last = hidden.slice_rows(hidden.rows() - 1, hidden.rows());
  m.logits(last, logits);
  be.synchronize();
  const double tp = seconds_since(t0);
  row.prefill_tps = double(ctx) / tp;
  double flops = 0;
  for (int64_t i = 0; i < ctx; i += 64) flops += 64 * token_flops(c, double(i));
  row.prefill_gflops = flops / tp / 1e9;

  // Decode: `batch` forks of the prefilled state, one token each per step, logits and argmax every step.
  std::vector<std::unique_ptr<SequenceState>> seqs;
  for (int b = 0; b < batch; b++) seqs.push_back(state->fork());
  std::vector<int32_t> next(size_t(batch), prompt.back());
  Tensor targets = be.alloc(DType::I32, {batch}), lp = be.alloc(DType::F32, {batch}),
         am = be.alloc(DType::I32, {batch});
  auto step = [&] {
    std::vector<SeqInput> in;
    for (int b = 0; b < batch; b++) in.push_back({seqs[size_t(b)].get(), std::span<const int32_t>(&next[size_t(b)], 1)});
    m.forward(in, &hidden);
    m.logits(hidden, logits);
    be.log_softmax_gather(logits, Tensor{}, lp, am);
    be.to_host(am, next.data());
  };
  step();  // warm-up (first-touch of buffers)
  t0 = Clock::now();
  for (int i = 0; i < decode_tokens; i++) step();
  be.synchronize();
  const double td = seconds_since(t0);
  row.decode_tps = double(decode_tokens) * batch / td;
  // Bytes one decode step must read: every weight once, plus each sequence's state.
  const double state_bytes = double(seqs[0]->bytes());
  row.decode_gbps = (double(weight_bytes(s.ckpt)) + batch * state_bytes) * decode_tokens / td / 1e9;
  row.state_mib = state_bytes / (1 << 20);
  row.peak_rss_mib = peak_rss_mib();
  return row;
}

}  // namespace

void register_bench(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    std::string shape, ctx = "128,512,2048,8192", modes = "softmax,supra", json_out, dtype = "f32";
    int decode_tokens = 32, batch = 1;
    uint64_t seed = 1234;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("bench", "prefill and decode tokens/s and memory at given context lengths");
  args->eng.add_to(*cmd, false);
  cmd->add_option("--shape", args->shape,
                  "random weights of a named shape (llama2-7b, mistral-7b, tiny-85m, stories260K) or "
                  "'dim=768,hidden=2048,layers=12,heads=12,kv_heads=12,vocab=512'");
  cmd->add_option("--dtype", args->dtype, "weight dtype of --shape weights: f32, f16, bf16");
  cmd->add_option("--ctx", args->ctx, "context lengths, comma separated");
  cmd->add_option("--modes", args->modes, "softmax, supra or both (SUPRA on a softmax checkpoint adds fresh "
                                          "feature-map weights: fine for speed, meaningless for quality)");
  cmd->add_option("--decode-tokens", args->decode_tokens, "decode steps timed per context")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", args->batch, "sequences decoded together")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed of random weights, feature maps and prompt tokens");
  cmd->add_option("--json", args->json_out, "also write the rows as JSON to this file");
  cmd->callback([args] {
    if (args->shape.empty() == args->eng.model.empty()) fail("bench: give exactly one of --model or --shape");
    const auto ctxs = parse_int_list(args->ctx, "--ctx");
    std::vector<std::string> modes;
    for (auto& m : {std::string("softmax"), std::string("supra")})
      if (args->modes.find(m) != std::string::npos) modes.push_back(m);
    if (modes.empty()) fail("--modes: expected softmax, supra or softmax,supra; got '{}'", args->modes);

    const int threads = args->eng.threads > 0 ? args->eng.threads : int(std::thread::hardware_concurrency());
    std::vector<Row> rows;
    MachineLimits lim;
    std::string model_desc;
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
      for (int64_t c : ctxs) {
        if (c <= 0) fail("--ctx: context lengths must be positive, got {}", c);
        rows.push_back(bench_one(s, c, args->decode_tokens, args->batch, args->seed));
        const Row& r = rows.back();
        std::fprintf(stderr, "  %s ctx %ld: prefill %.1f tok/s, decode %.1f tok/s\n", r.mode.c_str(), long(c),
                     r.prefill_tps, r.decode_tps);
      }
    }
    std::printf("model: %s\ndevice: %s, threads %d; limits measured here: %.1f GFLOP/s (SGEMM), %.1f GB/s (read)\n",
                model_desc.c_str(), args->eng.device.c_str(), threads, lim.gflops, lim.gbps);
    std::printf("| mode    |   ctx | batch | prefill tok/s | prefill GFLOP/s (%% limit) | decode tok/s | decode GB/s (%% limit) | state MiB | peak RSS MiB |\n");
    std::printf("|---------|------:|------:|--------------:|--------------------------:|-------------:|----------------------:|----------:|-------------:|\n");
    for (const Row& r : rows)
      std::printf("| %-7s | %5ld | %5d | %13.1f | %15.1f (%5.1f%%) | %12.1f | %12.1f (%5.1f%%) | %9.2f | %12.1f |\n",
                  r.mode.c_str(), long(r.ctx), r.batch, r.prefill_tps, r.prefill_gflops,
                  lim.gflops > 0 ? 100 * r.prefill_gflops / lim.gflops : 0.0, r.decode_tps, r.decode_gbps,
                  lim.gbps > 0 ? 100 * r.decode_gbps / lim.gbps : 0.0, r.state_mib, r.peak_rss_mib);
    if (!args->json_out.empty()) {
      nlohmann::json j;
      j["model"] = model_desc;
      j["device"] = args->eng.device;
      j["threads"] = threads;
      j["limit_gflops"] = lim.gflops;
      j["limit_gbps"] = lim.gbps;
      for (const Row& r : rows)
        j["rows"].push_back({{"mode", r.mode}, {"ctx", r.ctx}, {"batch", r.batch}, {"prefill_tok_s", r.prefill_tps},
                             {"prefill_gflops", r.prefill_gflops}, {"decode_tok_s", r.decode_tps},
                             {"decode_gbps", r.decode_gbps}, {"state_mib", r.state_mib},
                             {"peak_rss_mib", r.peak_rss_mib}});
      std::ofstream out(args->json_out);
      if (!out) fail("--json: cannot write {}", args->json_out);
      out << j.dump(2) << "\n";
    }
  });
}

}  // namespace supra
