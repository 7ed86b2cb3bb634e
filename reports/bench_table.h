#pragma once
// `supra-eval bench --db FILE` rows: a table of their own in the results store (bench_results), so the report's
// speed and memory plots come from the same file as its quality tables.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace supra::reports {

struct BenchRow {
  std::string model;         // checkpoint path, or "shape:<name>" for random weights
  std::string model_sha256;  // "" for random weights
  std::string mode;          // softmax | supra
  std::string device;        // cpu | cuda
  std::string dtype;
  int64_t threads = 0;
  int64_t ctx = 0;
  int64_t batch = 1;
  double prefill_tok_s = 0, prefill_gflops = 0;
  std::optional<double> decode_tok_s, decode_gbps;  // nullopt: the decode was skipped (stored as NULL)
  double state_mib = 0;
  // The configuration's own peak resident memory, and that peak minus the resident memory just before it started;
  // nullopt: not measured (stored as NULL).
  std::optional<double> peak_rss_mib, rss_over_baseline_mib;
  std::optional<double> peak_device_mib;     // CUDA: peak device memory; nullopt on the CPU
  double limit_gflops = 0, limit_gbps = 0;  // 0 = not measured (stored as NULL)
  std::string git_rev;
  std::string created_at;  // "" = now (UTC, ISO 8601)
};

// Creates bench_results when absent and adds the columns a store from an older version lacks (idempotent).
void ensure_bench_table(sqlite3* db);
// Opens (or creates) the store at db_path and appends the rows in one transaction.
void insert_bench_rows(const std::string& db_path, const std::vector<BenchRow>& rows);
// The same on an open handle.
void insert_bench_rows(sqlite3* db, const std::vector<BenchRow>& rows);

}  // namespace supra::reports
