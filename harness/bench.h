#pragma once
// Speed and memory measurement (`supra-eval bench`): prefill and decode at given context lengths, for softmax and
// SUPRA, on a checkpoint or on random weights of a named shape (speed does not depend on the values). Figures are
// tokens/s and a fraction of the machine's limits (harness/machine_limits.h): on the CPU the FMA instruction peak of
// the compute dtype and a streaming-read bandwidth, measured here by loops that depend on no library; on CUDA the
// H200's nominal 990 dense bf16 TFLOP/s and 4.8 TB/s of HBM. Prefill is a fraction of the FLOP limit (it is
// arithmetic-bound), decode of the bandwidth (it reads every weight and each sequence's state per step). One prefill
// per context is decoded at each batch size (forks of it). Memory is per configuration: the resident high-water mark
// is reset before each one (core/process_memory.h). The flags and the printing are cli/cmd_bench.cpp's.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/engine_session.h"
#include "harness/machine_limits.h"
#include "store/store.h"

namespace supra {

struct BenchOptions {
  EngineOptions eng;           // --model (or none with a shape), device, threads, form, chunk, GPU dtype
  std::string shape;           // random weights of a named shape; "" = eng.model
  std::string dtype = "f32";   // weight dtype of shape weights
  std::vector<int64_t> ctxs;   // context lengths, each prefilled once
  std::vector<int64_t> batches = {1};              // decode batch sizes, each from the one prefill
  std::vector<std::string> modes = {"softmax", "supra"};
  int decode_tokens = 32;      // decode steps timed per context and batch size
  int64_t ubatch = 512;        // prefill tokens per forward call
  uint64_t seed = 1234;        // random weights, feature maps and prompt tokens
};

// One configuration: a mode at a context length and a decode batch size.
struct BenchMeasurement {
  std::string mode;
  int64_t ctx = 0;
  int batch = 1;
  double prefill_tps = 0, prefill_gflops = 0;
  double decode_tps = 0, decode_gbps = 0;
  // Shares (1 = 100%) of BenchResult::limits: prefill FLOP/s of the FLOP limit, decode bytes/s of the bandwidth.
  double prefill_limit_fraction = 0, decode_limit_fraction = 0;
  double state_mib = 0;
  // This configuration's own peak resident memory (its prefill and this decode), and that peak minus the resident
  // memory just before the configuration started. nullopt: not measurable here (the kernel refused to reset the
  // high-water mark and the configuration stayed below an earlier peak).
  std::optional<double> peak_rss_mib, rss_over_baseline_mib;
  double peak_device_mib = 0;  // CUDA: peak device memory of the prefill and this decode
  std::string skipped;         // why the decode of this row did not run (e.g. too little device memory)
};

struct BenchResult {
  std::string model_desc;   // the last model's config summary
  std::string device_desc;  // "cpu", or the CUDA device, its memory and the weight dtype
  int threads = 0;
  MachineLimits limits;
  std::vector<BenchMeasurement> rows;  // per mode, per context, per batch size
};

// FLOPs of prefilling `ctx` tokens: each token's matmuls (2 per weight) and its attention over itself and the
// tokens before it (SUPRA: a state update and read per token), plus the last row's logits.
double prefill_flops(const ModelConfig& c, int64_t ctx);

// Bytes one decode step reads: every weight matrix once (`weight_bytes`, in the dtype it is kept in) plus each of
// the `batch` sequences' live state (its KV rows or SUPRA state).
double decode_step_bytes(double weight_bytes, int batch, double state_bytes_per_sequence);

// The shares of the limits: `flops` in `seconds` of lim.gflops; `bytes` in `seconds` of lim.gbps (0 where the
// limit is unknown).
double prefill_limit_fraction(const MachineLimits& lim, double flops, double seconds);
double decode_limit_fraction(const MachineLimits& lim, double bytes, double seconds);

// Runs every configuration. `on_row` sees each row as soon as it is measured (progress); a SUPRA checkpoint skips
// softmax mode with a note on stderr.
BenchResult run_bench(const BenchOptions& o, const std::function<void(const BenchMeasurement&)>& on_row = {});

// The rows as bench_results keeps them (Store::add_bench_rows): the model's path and sha256 (a checkpoint is loaded
// again for them) or "shape:<name>", the dtype as computed, NULL for what was not measured.
std::vector<BenchRow> bench_store_rows(const BenchOptions& o, const BenchResult& r);

}  // namespace supra
