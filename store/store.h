#pragma once
// The results store (ARCHITECTURE.md "The store"): SQLite in WAL mode, one writer. A run is keyed by everything
// that changes its numbers; documents are written in one transaction per finished batch, each document with all
// its requests and metrics, so a killed run resumes with nothing lost, recomputed or duplicated.
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace supra {

// The store's timestamp format: UTC, ISO 8601, seconds ("2026-11-30T01:02:03Z").
std::string now_utc();

// Everything that changes a run's numbers. Its canonical JSON, hashed, is the run key.
struct RunKey {
  std::string model;         // what the user named (for display)
  std::string model_sha256;  // identity of the weights
  std::string mode;          // softmax | supra
  std::string form;          // SUPRA form used for scoring ("" for softmax)
  std::string task;
  int task_version = 0;
  int shots = 0;
  uint64_t seed = 0;
  int64_t ctx = 0;
  std::string truncation;  // left | doc_end | middle
  std::string dtype;       // weight dtype as computed
  std::string device;      // cpu | cuda
  bool add_bos = false;
  int64_t limit = -1;  // documents evaluated (-1: all)
  std::string data_sha256;  // user-supplied data (SCROLLS files); "" for bundled data

  nlohmann::json to_json() const;
  std::string hash() const;  // sha256 of the canonical JSON
};

struct SampleRow {
  int64_t request = 0;
  std::string type;  // loglikelihood | loglikelihood_rolling | generate_until
  int64_t n_input = 0, n_kept = 0, n_dropped = 0;
  double logprob = 0;
  bool is_greedy = false;
  std::string generated;
  std::string truncation;  // policy applied to a long-input prompt ("" when the request carried no parts)
};

struct DocResult {
  int64_t doc = 0;
  std::vector<SampleRow> samples;
  std::map<std::string, std::pair<double, double>> metrics;  // name -> (value, weight)
};

struct MetricRow {
  std::string name;
  double value = 0, stderr_ = 0;
  int64_t n = 0;
  std::string aggregation;
  bool higher_is_better = true;
};

// One optimizer step of an uptraining run (schema 2, table train_log).
struct TrainLogRow {
  int64_t step = 0, tokens = 0;
  double lr = 0, loss = 0, grad_norm = 0;
  double val_loss = std::nan("");  // NaN: no evaluation at this step (stored as NULL, as is val_ppl)
  double seconds = 0;
};

class Store {
 public:
  static constexpr int kSchemaVersion = 3;

  // Opens or creates the store. An older schema is migrated; a newer one is an error naming both versions.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The run with this key, created when absent (status "running"). Returns its id.
  int64_t open_run(const RunKey& key, int64_t n_docs, int64_t train_ctx, const nlohmann::json& config,
                   const std::string& git_rev);
  std::set<int64_t> finished_docs(int64_t run_id);
  // One transaction: every document with its samples and metrics.
  void write_docs(int64_t run_id, const std::vector<DocResult>& docs);
  // All per-document metric values of a run: name -> [(value, weight)] in document order.
  std::map<std::string, std::vector<std::pair<double, double>>> doc_metrics(int64_t run_id);
  // Replaces the run's aggregated metrics and marks it finished.
  void finish_run(int64_t run_id, const std::vector<MetricRow>& metrics);
  std::vector<MetricRow> metrics(int64_t run_id);
  int64_t sample_count(int64_t run_id);

  // Uptraining (schema 2). A new train_runs row, or with resume_step >= 0 the latest row of the same output
  // folder, whose log rows after resume_step are dropped (the resumed run writes them again). Status "running".
  int64_t open_train_run(const std::string& model_out, const std::string& base_model, const std::string& base_sha256,
                         const nlohmann::json& config, const std::string& git_rev, int64_t resume_step = -1);
  void log_train_steps(int64_t run_id, const std::vector<TrainLogRow>& rows);  // one transaction
  void finish_train_run(int64_t run_id);
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

 private:
  void exec(const std::string& sql);
  void transaction(const std::function<void()>& body);
  void migrate();

  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace supra
