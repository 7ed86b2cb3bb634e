#include "harness/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "core/build_info.h"
#include "core/error.h"
#include "core/process_memory.h"
#include "engine/checkpoint.h"
#include "engine/model.h"
#ifdef SUPRA_WITH_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace supra {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr double kMiB = 1 << 20;

// H200 nominal limits (ARCHITECTURE.md, Performance method): dense bf16 tensor-core FLOP/s and HBM3e bandwidth.
constexpr double kGpuLimitGflops = 990e3, kGpuLimitGbps = 4800;

// FLOPs of the token at position `pos`: its matmuls (2 per weight) and its attention over the `pos + 1` keys it
// sees (itself and every earlier one, or the sliding window), or SUPRA's state update and read.
double token_flops(const ModelConfig& c, int64_t pos) {
  const double D = c.dim, F = c.hidden_dim, Q = c.q_dim(), KV = c.kv_dim(), d = c.head_dim;
  double w = D * Q + 2 * D * KV + Q * D + 3 * D * F;
  double attn = 0;
  if (c.attention == AttentionMode::Supra) {
    w += Q * Q + (c.separate_kv_feature_map ? KV * KV : 0);
    attn = 4.0 * c.n_heads * d * d;  // state update and read, per token (chunked form does about the same work)
  } else {
    const double keys = double(pos + 1);
    const double seen = c.sliding_window ? std::min<double>(keys, *c.sliding_window) : keys;
    attn = 4.0 * c.n_heads * d * seen;  // scores and the weighted sum of values
  }
  return c.n_layers * (2 * w + attn);
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

// Bytes a softmax decode of `batch` forks needs on the device: each fork is reserved at round16(ctx) rows and
// grows by at least a quarter when the decode passes it (KVCache's growth rule), old and new copies alive together
// for a moment.
double softmax_decode_bytes(const ModelConfig& c, int64_t ctx, int steps, int batch, DType kv_dtype) {
  auto round16 = [](int64_t r) { return (r + 15) / 16 * 16; };
  const int64_t cap0 = round16(std::max<int64_t>(ctx, 1));
  const int64_t cap1 = ctx + steps > cap0 ? std::max(round16(ctx + steps), cap0 + cap0 / 4) : 0;
  const double row = 2.0 * c.n_layers * c.kv_dim() * double(dtype_size(kv_dtype));
  return double(batch) * double(cap0 + cap1) * row;
}


// The prefill of one context: the prompt, its state (each batch size decodes forks of it), the buffers the decode
// steps reuse, and its figures.
struct Prefill {
  std::vector<int32_t> prompt;
  std::unique_ptr<SequenceState> state;
  Tensor hidden, logits;
  double tps = 0, gflops = 0, limit_fraction = 0, device_peak_mib = 0;
  PeakReading rss;  // of the window that began before the prompt was made
};

// `ctx` random tokens prefilled in micro-batches of `ubatch` tokens, then the last row's logits.
Prefill prefill(EngineSession& s, int64_t ctx, int64_t ubatch, uint64_t seed, const PeakWindow& window,
                const MachineLimits& lim) {
  Model& m = *s.model;
  const ModelConfig& c = m.config();
  Backend& be = *s.backend;
  Prefill p;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> pick(3, c.vocab_size - 1);
  p.prompt.resize(static_cast<size_t>(ctx));
  for (auto& t : p.prompt) t = pick(rng);

  reset_device_peak(be);
  p.state = m.new_state();
  auto t0 = Clock::now();
  for (int64_t i = 0; i < ctx; i += ubatch) {
    const int64_t n = std::min(ubatch, ctx - i);
    SeqInput in{p.state.get(), std::span<const int32_t>(p.prompt.data() + i, size_t(n))};
    m.forward(std::span<const SeqInput>(&in, 1), &p.hidden);
  }
  Tensor last = p.hidden.slice_rows(p.hidden.rows() - 1, p.hidden.rows());
  m.logits(last, p.logits);
  be.synchronize();
  const double tp = seconds_since(t0);
  p.tps = double(ctx) / tp;
  const double flops = prefill_flops(c, ctx);
  p.gflops = flops / tp / 1e9;
  p.limit_fraction = prefill_limit_fraction(lim, flops, tp);
  p.device_peak_mib = device_peak_mib(be);
  p.rss = window.peak();
  return p;
}

// How the decode of one context is timed and what each step reads besides the weights.
struct DecodePlan {
  int decode_tokens = 0;
  int warmup = 1;                   // untimed steps first: first-touch of buffers; on CUDA, graph capture
  double live_state = 0;            // bytes per sequence: the K and V rows it attends to (KV dtype), or the SUPRA state
};

DecodePlan decode_plan(const ModelConfig& c, int64_t ctx, int decode_tokens, bool gpu, DType kv_dtype) {
  DecodePlan plan;
  plan.decode_tokens = decode_tokens;
  plan.warmup = gpu ? 4 : 1;  // on CUDA the third and fourth steps capture the decode graphs
  const double mid = double(ctx) + plan.warmup + decode_tokens / 2.0;
  plan.live_state =
      c.attention == AttentionMode::Supra
          ? 2.0 * c.n_layers * c.n_heads * double(c.head_dim) * c.head_dim * sizeof(float)
          : 2.0 * c.n_layers * c.kv_dim() * double(dtype_size(kv_dtype)) *
                (c.sliding_window ? std::min<double>(mid, *c.sliding_window) : mid);
  return plan;
}

// The peak resident memory of a configuration and its rise over the baseline. An inexact peak (only an upper
// bound: an earlier configuration's) is reported as unavailable.
void set_rss(BenchMeasurement& row, PeakReading peak, int64_t baseline_bytes) {
  if (!peak.exact) return;
  row.peak_rss_mib = double(peak.bytes) / kMiB;
  row.rss_over_baseline_mib = double(peak.bytes - baseline_bytes) / kMiB;
}

// Why a softmax decode of `batch` forks cannot run on the GPU ("" when it can): its KV caches would not fit. The
// prefilled state is released before the last batch size is decoded: its memory counts as free then.
std::string decode_skip_reason(EngineSession& s, const Prefill& p, int64_t ctx, int batch, bool last_batch,
                               const DecodePlan& plan) {
  const ModelConfig& c = s.model->config();
  if (s.backend->device() != Device::CUDA || c.attention != AttentionMode::Softmax) return "";
  const double need =
      softmax_decode_bytes(c, ctx, plan.warmup + plan.decode_tokens, batch, s.model->options().kv_dtype);
  const double free_b = device_free_bytes(*s.backend) + (last_batch ? double(p.state->bytes()) : 0.0);
  if (!(need > 0.92 * free_b)) return "";
  return fmt::format("needs ~{:.0f} GiB of device memory for the {} KV caches, {:.0f} GiB free", need / (1 << 30),
                     dtype_name(s.model->options().kv_dtype), free_b / (1 << 30));
}

// The decode of row.batch forks of the prefilled state, one token each per step, logits and argmax every step. The
// last batch size gives the prefilled state's memory to the forks' growth.
void decode_batch(EngineSession& s, Prefill& p, BenchMeasurement& row, bool last_batch, const DecodePlan& plan,
                  int64_t baseline_bytes, const MachineLimits& lim) {
  Model& m = *s.model;
  Backend& be = *s.backend;
  const int batch = row.batch;
  reset_device_peak(be);
  const PeakWindow decode_window;  // the previous batch size's forks are freed; the prefilled state is not
  std::vector<std::unique_ptr<SequenceState>> seqs;
  for (int b = 0; b < batch; b++) seqs.push_back(p.state->copy());  // independent caches, read in place
  if (last_batch) p.state.reset();  // its memory goes to the forks' growth
  std::vector<int32_t> next(size_t(batch), p.prompt.back());
  Tensor targets = be.alloc(DType::I32, {batch}), lp = be.alloc(DType::F32, {batch}),
         am = be.alloc(DType::I32, {batch});
  std::vector<SeqInput> in;  // refilled each step: the timed loop allocates nothing of its own
  in.reserve(size_t(batch));
  auto step = [&] {
    in.clear();
    for (int b = 0; b < batch; b++)
      in.push_back({seqs[size_t(b)].get(), std::span<const int32_t>(&next[size_t(b)], 1)});
    m.forward(in, &p.hidden);
    m.logits(p.hidden, p.logits);
    be.log_softmax_gather(p.logits, Tensor{}, lp, am);
    be.to_host(am, next.data());
  };
  for (int i = 0; i < plan.warmup; i++) step();  // first-touch of buffers; CUDA graph capture
  const auto t0 = Clock::now();
  for (int i = 0; i < plan.decode_tokens; i++) step();
  be.synchronize();
  const double td = seconds_since(t0);
  row.decode_tps = double(plan.decode_tokens) * batch / td;
  const double bytes =
      decode_step_bytes(double(s.model->matrix_bytes()), batch, plan.live_state) * plan.decode_tokens;
  row.decode_gbps = bytes / td / 1e9;
  row.decode_limit_fraction = decode_limit_fraction(lim, bytes, td);
  row.state_mib = double(seqs[0]->bytes()) / (1 << 20);
  set_rss(row, combine(p.rss, decode_window.peak()), baseline_bytes);
  row.peak_device_mib = std::max(p.device_peak_mib, device_peak_mib(be));
}

// One prefill of `ctx` random tokens, then a decode at each batch size (forks of the prefilled state).
std::vector<BenchMeasurement> bench_ctx(EngineSession& s, int64_t ctx, const BenchOptions& o,
                                        const MachineLimits& lim) {
  const ModelConfig& c = s.model->config();
  // From here on the memory is this configuration's: the previous context's state and buffers and the limit probes'
  // buffers are freed, and the high-water mark restarts at what is resident now (weights, runtime).
  const PeakWindow prefill_window;
  Prefill p = prefill(s, ctx, o.ubatch, o.seed, prefill_window, lim);
  const DecodePlan plan = decode_plan(c, ctx, o.decode_tokens, s.backend->device() == Device::CUDA,
                                      s.model->options().kv_dtype);
  std::vector<BenchMeasurement> rows;
  for (size_t bi = 0; bi < o.batches.size(); bi++) {
    const bool last_batch = bi + 1 == o.batches.size();
    BenchMeasurement row;
    row.mode = mode_name(c.attention);
    row.ctx = ctx;
    row.batch = int(o.batches[bi]);
    row.prefill_tps = p.tps;
    row.prefill_gflops = p.gflops;
    row.prefill_limit_fraction = p.limit_fraction;
    row.skipped = decode_skip_reason(s, p, ctx, row.batch, last_batch, plan);
    if (row.skipped.empty()) {
      decode_batch(s, p, row, last_batch, plan, prefill_window.baseline_bytes(), lim);
    } else {
      row.state_mib = double(p.state->bytes()) / (1 << 20);
      row.peak_device_mib = p.device_peak_mib;
      set_rss(row, p.rss, prefill_window.baseline_bytes());
    }
    rows.push_back(row);
  }
  return rows;
}

// The weights of one mode: the checkpoint (SUPRA on a softmax checkpoint adds fresh feature-map weights: fine for
// speed, meaningless for quality) or random weights of the shape. nullopt: softmax mode of a SUPRA checkpoint.
std::optional<Checkpoint> bench_checkpoint(const BenchOptions& o, const std::string& mode) {
  Checkpoint ck = o.shape.empty() ? load_checkpoint(o.eng.model, LoadOptions{o.eng.tokenizer})
                                  : random_checkpoint(named_shape(o.shape), parse_dtype(o.dtype), o.seed);
  const AttentionMode want = parse_mode(mode);
  if (want == AttentionMode::Supra && ck.config.attention == AttentionMode::Softmax) add_supra_feature_maps(ck, o.seed);
  if (want == AttentionMode::Softmax && ck.config.attention == AttentionMode::Supra) {
    std::fprintf(stderr, "bench: %s is a SUPRA checkpoint; skipping softmax mode\n", ck.path.c_str());
    return std::nullopt;
  }
  return ck;
}

// Untimed: lazy library loading, first-use allocations. As many rows as the largest forward of the sweep, so the
// workspace the model keeps at that size is in every configuration's baseline, not in the first one's growth.
void warm_up(EngineSession& s, const BenchOptions& o) {
  auto st = s.model->new_state();
  const int64_t rows = std::max(std::min(o.ubatch, *std::max_element(o.ctxs.begin(), o.ctxs.end())),
                                *std::max_element(o.batches.begin(), o.batches.end()));
  std::vector<int32_t> w(size_t(rows), 3);
  SeqInput in{st.get(), std::span<const int32_t>(w)};
  Tensor h;
  s.model->forward(std::span<const SeqInput>(&in, 1), &h);
  s.backend->synchronize();
}

}  // namespace

double prefill_flops(const ModelConfig& c, int64_t ctx) {
  double flops = 2.0 * c.dim * double(c.vocab_size);  // the last row's logits
  for (int64_t pos = 0; pos < ctx; pos++) flops += token_flops(c, pos);
  return flops;
}

double decode_step_bytes(double weight_bytes, int batch, double state_bytes_per_sequence) {
  return weight_bytes + batch * state_bytes_per_sequence;
}

double prefill_limit_fraction(const MachineLimits& lim, double flops, double seconds) {
  return lim.gflops > 0 && seconds > 0 ? flops / seconds / (lim.gflops * 1e9) : 0.0;
}

double decode_limit_fraction(const MachineLimits& lim, double bytes, double seconds) {
  return lim.gbps > 0 && seconds > 0 ? bytes / seconds / (lim.gbps * 1e9) : 0.0;
}

BenchResult run_bench(const BenchOptions& o, const std::function<void(const BenchMeasurement&)>& on_row) {
  if (o.ctxs.empty() || o.batches.empty()) fail("bench: no context length or no batch size to measure");
  const bool gpu = o.eng.device == "cuda";
  BenchResult r;
  r.threads = o.eng.threads > 0 ? o.eng.threads : int(std::thread::hardware_concurrency());
  if (gpu)
    r.limits = MachineLimits{kGpuLimitGflops, kGpuLimitGbps, "bf16 tensor-core nominal", "HBM3e nominal",
                             "H200 nominal: dense bf16 tensor cores, HBM3e"};
  r.device_desc = o.eng.device;
  for (const std::string& mode : o.modes) {
    std::optional<Checkpoint> ck = bench_checkpoint(o, mode);
    if (!ck) continue;
    r.model_desc = ck->config.summary();
    EngineSession s = open_session(o.eng, std::move(*ck));
    // Measured once, before any configuration: its buffer is freed before the first one's memory window opens.
    // With --cpu-dtype bf16, prefill is a fraction of the bf16 dot-product peak.
    if (r.limits.gflops == 0 && s.backend->device() == Device::CPU)
      r.limits = cpu_limits(measure_cpu_peaks(r.threads), o.eng.cpu_dtype == "bf16");
#ifdef SUPRA_WITH_CUDA
    if (cuda::is_cuda_backend(*s.backend)) {
      const auto info = cuda::device_info(*s.backend);
      r.device_desc = fmt::format("cuda ({}, {} SMs, {:.0f} GiB), weights {}", info.name, info.sm_count,
                                  double(info.total_bytes) / (1 << 30), o.eng.gpu_dtype);
    }
#endif
    warm_up(s, o);
    for (int64_t c : o.ctxs)
      for (const BenchMeasurement& m : bench_ctx(s, c, o, r.limits)) {
        r.rows.push_back(m);
        if (on_row) on_row(m);
      }
  }
  return r;
}

std::vector<BenchRow> bench_store_rows(const BenchOptions& o, const BenchResult& res) {
  const bool gpu = o.eng.device == "cuda";
  std::string model = "shape:" + o.shape, sha, dtype = o.dtype;
  if (o.shape.empty()) {
    Checkpoint ck = load_checkpoint(o.eng.model, LoadOptions{o.eng.tokenizer});
    model = o.eng.model;
    sha = checkpoint_sha256(ck);
    dtype = dtype_name(ck.config.weight_dtype);
  }
  if (gpu) dtype = o.eng.gpu_dtype;
  std::vector<BenchRow> out;
  for (const BenchMeasurement& r : res.rows) {
    BenchRow b;
    b.model = model;
    b.model_sha256 = sha;
    b.mode = r.mode;
    b.device = o.eng.device;
    b.dtype = dtype;
    b.threads = res.threads;
    b.ctx = r.ctx;
    b.batch = r.batch;
    b.prefill_tok_s = r.prefill_tps;
    b.prefill_gflops = r.prefill_gflops;
    if (r.skipped.empty()) b.decode_tok_s = r.decode_tps, b.decode_gbps = r.decode_gbps;  // skipped: NULL
    b.state_mib = r.state_mib;
    b.peak_rss_mib = r.peak_rss_mib;
    b.rss_over_baseline_mib = r.rss_over_baseline_mib;
    if (gpu) b.peak_device_mib = r.peak_device_mib;
    b.limit_gflops = res.limits.gflops;
    b.limit_gbps = res.limits.gbps;
    b.git_rev = build_git_revision();
    out.push_back(b);
  }
  return out;
}

}  // namespace supra
