// supra-eval bench: prefill and decode speed and memory at given context lengths, for softmax and SUPRA, on a
// checkpoint or on random weights of a named shape. The measurement is harness/bench.h's (run_bench); this file
// parses the flags and prints: a Markdown table, one `summary:` line per figure with its fraction of the machine's
// limit (what gpu-check.sh collects), optionally JSON, and with --db the rows into the results store.
#include <cstdio>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "core/error.h"
#include "harness/bench.h"
#include "store/store.h"

namespace supra {

namespace {

struct BenchArgs {
  EngineOptions eng;
  std::string shape, ctx = "128,512,2048,8192", modes = "softmax,supra", json_out, dtype = "f32", batch = "1";
  int decode_tokens = 32;
  int64_t ubatch = 512;
  uint64_t seed = 1234;
  std::string db;  // --db: the rows also go into this results store (table bench_results)
};

std::string mib(const std::optional<double>& v) { return v ? fmt::format("{:.1f}", *v) : std::string("n/a"); }

// The flags, checked, as the measurement's options.
BenchOptions bench_options(const BenchArgs& a) {
  if (a.shape.empty() == a.eng.model.empty()) fail("bench: give exactly one of --model or --shape");
  BenchOptions o;
  o.eng = a.eng;
  o.shape = a.shape;
  o.dtype = a.dtype;
  o.ctxs = parse_int_list(a.ctx, "--ctx");
  o.batches = parse_int_list(a.batch, "--batch");
  for (int64_t b : o.batches)
    if (b <= 0 || b > 4096) fail("--batch: batch sizes must be in [1, 4096], got {}", b);
  for (int64_t c : o.ctxs)
    if (c <= 0) fail("--ctx: context lengths must be positive, got {}", c);
  o.modes.clear();
  for (auto& m : {std::string("softmax"), std::string("supra")})
    if (a.modes.find(m) != std::string::npos) o.modes.push_back(m);
  if (o.modes.empty()) fail("--modes: expected softmax, supra or softmax,supra; got '{}'", a.modes);
  o.decode_tokens = a.decode_tokens;
  o.ubatch = a.ubatch;
  o.seed = a.seed;
  return o;
}

void print_progress(const BenchMeasurement& r) {
  if (r.skipped.empty())
    std::fprintf(stderr, "  %s ctx %ld batch %d: prefill %.1f tok/s, decode %.1f tok/s\n", r.mode.c_str(),
                 long(r.ctx), r.batch, r.prefill_tps, r.decode_tps);
  else
    std::fprintf(stderr, "  %s ctx %ld batch %d: prefill %.1f tok/s, decode skipped: %s\n", r.mode.c_str(),
                 long(r.ctx), r.batch, r.prefill_tps, r.skipped.c_str());
}

void print_table(const BenchResult& res, bool gpu) {
  const MachineLimits& lim = res.limits;
  std::printf("model: %s\ndevice: %s, threads %d\nlimits: %s\n", res.model_desc.c_str(), res.device_desc.c_str(),
              res.threads, lim.source.c_str());
  std::printf("prefill %% of the %s (%.1f GFLOP/s), decode %% of the %s (%.1f GB/s)\n", lim.flop_name.c_str(),
              lim.gflops, lim.bw_name.c_str(), lim.gbps);
  // The two fraction columns name their limit; each cell is right-aligned to its column's title.
  const std::string prefill_col = fmt::format("prefill GFLOP/s (% {})", lim.flop_name);
  const std::string decode_col = fmt::format("decode GB/s (% {})", lim.bw_name);
  std::printf("| mode    |   ctx | batch | prefill tok/s | %s | decode tok/s | %s | state MiB | peak RSS MiB | +MiB over baseline |%s\n",
              prefill_col.c_str(), decode_col.c_str(), gpu ? " peak device MiB |" : "");
  std::printf("|---------|------:|------:|--------------:|%s:|-------------:|%s:|----------:|-------------:|-------------------:|%s\n",
              std::string(prefill_col.size() + 1, '-').c_str(), std::string(decode_col.size() + 1, '-').c_str(),
              gpu ? "----------------:|" : "");
  for (const BenchMeasurement& r : res.rows) {
    const std::string pre = fmt::format("{:.1f} ({:5.1f}%)", r.prefill_gflops, 100 * r.prefill_limit_fraction);
    const std::string dec = fmt::format("{:.1f} ({:5.1f}%)", r.decode_gbps, 100 * r.decode_limit_fraction);
    std::printf("| %-7s | %5ld | %5d | %13.1f | %*s | %12.1f | %*s | %9.2f | %12s | %18s |", r.mode.c_str(),
                long(r.ctx), r.batch, r.prefill_tps, int(prefill_col.size()), pre.c_str(), r.decode_tps,
                int(decode_col.size()), dec.c_str(), r.state_mib, mib(r.peak_rss_mib).c_str(),
                mib(r.rss_over_baseline_mib).c_str());
    if (gpu) std::printf(" %15.1f |", r.peak_device_mib);
    std::printf("%s\n", r.skipped.empty() ? "" : (" decode skipped: " + r.skipped).c_str());
  }
}

// One line per figure with its fraction of the limit (what gpu-check.sh collects).
void print_summary(const BenchResult& res, bool gpu) {
  const MachineLimits& lim = res.limits;
  const std::vector<BenchMeasurement>& rows = res.rows;
  const bool tera = lim.gflops >= 1e4;
  for (size_t i = 0; i < rows.size(); i++) {
    const BenchMeasurement& r = rows[i];
    if (i == 0 || rows[i - 1].mode != r.mode || rows[i - 1].ctx != r.ctx)  // one prefill per (mode, ctx)
      std::printf("summary: %s ctx %ld prefill %.1f tok/s = %.1f %s = %.1f%% of %.1f %s\n", r.mode.c_str(),
                  long(r.ctx), r.prefill_tps, tera ? r.prefill_gflops / 1e3 : r.prefill_gflops,
                  tera ? "TFLOP/s" : "GFLOP/s", 100 * r.prefill_limit_fraction,
                  tera ? lim.gflops / 1e3 : lim.gflops, tera ? "TFLOP/s" : "GFLOP/s");
    if (r.skipped.empty())
      std::printf("summary: %s ctx %ld batch %d decode %.1f tok/s = %.1f GB/s = %.1f%% of %.0f GB/s\n",
                  r.mode.c_str(), long(r.ctx), r.batch, r.decode_tps, r.decode_gbps, 100 * r.decode_limit_fraction,
                  lim.gbps);
    else
      std::printf("summary: %s ctx %ld batch %d decode skipped (%s)\n", r.mode.c_str(), long(r.ctx), r.batch,
                  r.skipped.c_str());
    if (gpu)  // gpu-check.sh reads the peak device MiB as the 10th field
      std::printf("summary: %s ctx %ld batch %d memory: peak device %.1f MiB, state %.2f MiB per sequence, "
                  "peak RSS %s MiB (+%s over baseline)\n",
                  r.mode.c_str(), long(r.ctx), r.batch, r.peak_device_mib, r.state_mib,
                  mib(r.peak_rss_mib).c_str(), mib(r.rss_over_baseline_mib).c_str());
    else
      std::printf("summary: %s ctx %ld batch %d memory: peak RSS %s MiB (+%s over baseline), state %.2f MiB per "
                  "sequence\n",
                  r.mode.c_str(), long(r.ctx), r.batch, mib(r.peak_rss_mib).c_str(),
                  mib(r.rss_over_baseline_mib).c_str(), r.state_mib);
  }
}

void write_json(const BenchResult& res, const std::string& path) {
  nlohmann::json j;
  j["model"] = res.model_desc;
  j["device"] = res.device_desc;
  j["threads"] = res.threads;
  j["limit_gflops"] = res.limits.gflops;
  j["limit_gbps"] = res.limits.gbps;
  j["limit_flop_name"] = res.limits.flop_name;
  j["limit_bw_name"] = res.limits.bw_name;
  j["limit_source"] = res.limits.source;
  auto opt = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
  for (const BenchMeasurement& r : res.rows)
    j["rows"].push_back({{"mode", r.mode}, {"ctx", r.ctx}, {"batch", r.batch}, {"prefill_tok_s", r.prefill_tps},
                         {"prefill_gflops", r.prefill_gflops},
                         {"prefill_limit_fraction", r.prefill_limit_fraction}, {"decode_tok_s", r.decode_tps},
                         {"decode_gbps", r.decode_gbps}, {"decode_limit_fraction", r.decode_limit_fraction}, {"state_mib", r.state_mib},
                         {"peak_rss_mib", opt(r.peak_rss_mib)}, {"rss_over_baseline_mib", opt(r.rss_over_baseline_mib)},
                         {"peak_device_mib", r.peak_device_mib}, {"decode_skipped", r.skipped}});
  std::ofstream out(path);
  if (!out) fail("--json: cannot write {}", path);
  out << j.dump(2) << "\n";
}

void bench_command(const BenchArgs& a) {
  const BenchOptions o = bench_options(a);
  const bool gpu = a.eng.device == "cuda";
  const BenchResult res = run_bench(o, print_progress);
  print_table(res, gpu);
  print_summary(res, gpu);
  bool rss_unknown = false;
  for (const BenchMeasurement& r : res.rows) rss_unknown |= !r.peak_rss_mib;
  if (rss_unknown)
    std::fprintf(stderr, "bench: peak RSS n/a: the kernel refused to reset the resident high-water mark "
                         "(/proc/self/clear_refs), and those configurations stayed below an earlier one's peak\n");
  if (!a.json_out.empty()) write_json(res, a.json_out);
  if (!a.db.empty()) {  // --db: the rows into the results store, for `supra-eval report`
    const std::vector<BenchRow> rows = bench_store_rows(o, res);
    Store(a.db).add_bench_rows(rows);
    std::fprintf(stderr, "bench: %zu rows appended to %s (table bench_results)\n", rows.size(), a.db.c_str());
  }
}

}  // namespace

void register_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  auto* cmd = app.add_subcommand("bench", "prefill and decode tokens/s and memory at given context lengths");
  add_engine_options(*cmd, args->eng, false);
  cmd->add_option("--shape", args->shape,
                  "random weights of a named shape (llama2-7b, mistral-7b, tiny-85m, stories260K) or "
                  "'dim=768,hidden=2048,layers=12,heads=12,kv_heads=12,vocab=512'");
  cmd->add_option("--dtype", args->dtype, "weight dtype of --shape weights: f32, f16, bf16");
  cmd->add_option("--ctx", args->ctx, "context lengths, comma separated");
  cmd->add_option("--modes", args->modes,
                  "softmax, supra or softmax,supra (SUPRA on a softmax checkpoint adds fresh feature-map weights: "
                  "fine for speed, meaningless for quality)");
  cmd->add_option("--decode-tokens", args->decode_tokens, "decode steps timed per context")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", args->batch,
                  "sequences decoded together; a list (1,16) decodes each batch size from one prefill");
  cmd->add_option("--ubatch", args->ubatch, "prefill tokens per forward call")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed of random weights, feature maps and prompt tokens");
  cmd->add_option("--json", args->json_out, "also write the rows as JSON to this file");
  cmd->add_option("--db", args->db, "also append the rows to this SQLite results store (table bench_results; "
                                    "supra-eval report plots speed and memory from it)");
  cmd->callback([args] { bench_command(*args); });
}

}  // namespace supra
