#pragma once
// The results store (ARCHITECTURE.md "The store"): SQLite in WAL mode, one writer. A run is keyed by everything
// that changes its numbers; documents are written in one transaction per finished batch, each document with all
// its requests and metrics, so a killed run resumes with nothing lost, recomputed or duplicated. Also the training
// log and the bench rows. Writers open a Store (which migrates the file); readers open_store_read_only.
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "store/db.h"

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
  std::string tokenizer_sha256;  // the tokenizer file's bytes: another tokenizer is another run
  std::string kv_dtype;          // softmax KV cache storage: f32 | f16 | bf16 ("" for SUPRA: its state is fp32)
  int chunk = 0;                 // SUPRA chunked form's chunk length (0 for other forms and softmax)
  std::string cpu_dtype;  // "bf16" when the CPU's GEMMs computed in bf16 (--cpu-dtype); "" otherwise (f32, cuda)

  nlohmann::json to_json() const;
  std::string hash() const;  // sha256 of the canonical JSON
  std::string summary() const;  // for messages: "arc_easy softmax ctx 256 (model M, limit 300)"
};

// Token counts, one meaning for every request (store/README.md): n_input = tokens of the request (context +
// continuation for loglikelihood, the context of a generation, the text of a rolling request); n_kept = tokens of
// it the model read as input or scored as the last target; n_dropped = n_input - n_kept (cut from the left, or by
// the sample's truncation policy). n_continuation = continuation tokens of a loglikelihood request (-1: none).
struct SampleRow {
  int64_t request = 0;
  std::string type;  // loglikelihood | loglikelihood_rolling | generate_until
  int64_t n_input = 0, n_kept = 0, n_dropped = 0;
  double logprob = 0;
  bool is_greedy = false;
  std::string generated;
  std::string truncation;  // policy applied to a long-input prompt ("" when the request carried no parts)
  int64_t n_continuation = -1;  // stored as NULL when -1
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

// A process that writes into a store, as recorded in a lease (schema 4, table run_leases).
struct LeaseHolder {
  std::string host;
  int64_t pid = 0;
  std::string proc_start;  // boot id and start time of the process ("" where /proc is not there)
  std::string started_at, heartbeat_at;
  int64_t doc_lo = 0, doc_hi = 0;  // the documents it holds: [doc_lo, doc_hi)
  bool same_host = false;          // on this host, so its liveness was checked by pid (else by heartbeat age)
  std::string describe() const;    // "pid 123 on host h since T (last progress T2)"
};

// This process as a lease or unit holder, and whether a recorded holder still runs (store/leases.cpp): on this host
// by its pid and process start, on another by the age of `heartbeat_at` (Store::kForeignLeaseLapseSeconds).
LeaseHolder this_process();
bool holder_alive(const LeaseHolder& h);

// A work unit as recorded in a shard (schema 6, tables work_units and work_unit_pieces).
struct UnitPieceRecord {
  int64_t piece = 0, run_id = 0, doc_lo = 0, doc_hi = 0;
};
struct UnitRecord {
  std::string plan_id;
  int64_t unit = 0;
  std::string plan_json;
  std::string status;  // running | finished | failed
  LeaseHolder holder;  // the last worker that claimed it
  std::string job_id, gpu, finished_at, error;
  int64_t attempts = 0;
  std::vector<UnitPieceRecord> pieces;
};
// Every unit recorded in a store (a shard), read through any connection (read-only for status and merge).
std::vector<UnitRecord> read_work_units(Db& db);

// What copying one piece of a shard into a store did (Store::copy_shard_piece).
struct CopiedPiece {
  int64_t run_id = 0;      // the run in the target store
  int64_t n_docs = 0;      // documents of the whole run
  int64_t new_docs = 0;    // documents that were not in the target yet
  bool run_finished = false;  // the target's run was already finished (its metrics stored)
  std::string task, mode, model;
  int64_t ctx = 0;
};

// A run (or part of one) is being written by another live process: the message names it and what to do.
struct RunBusy : Error {
  RunBusy(const std::string& message, int64_t run_id_, std::string run_, LeaseHolder holder_)
      : Error(message), run_id(run_id_), run(std::move(run_)), holder(std::move(holder_)) {}
  int64_t run_id;
  std::string run;  // the run's summary
  LeaseHolder holder;
};

// One row of `supra-eval bench --db` (schema 5, table bench_results): one configuration's speed and memory.
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

class Store {
 public:
  static constexpr int kSchemaVersion = 7;
  // A lease held on another host counts as live until it has made no progress for this long: this host cannot ask
  // the other host's kernel whether the pid still runs. Leases on this host are judged by their pid at once.
  static constexpr int64_t kForeignLeaseLapseSeconds = 30 * 60;

  // Opens or creates the store. An older schema is migrated; a newer one is an error naming both versions.
  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The run with this key, created when absent (status "running"). Returns its id.
  int64_t open_run(const RunKey& key, int64_t n_docs, int64_t train_ctx, const nlohmann::json& config,
                   const std::string& git_rev);

  // Run leases (schema 4): one process writes a run's documents at a time. A lease covers documents
  // [doc_lo, doc_hi) of a run (today a whole run; scale-out work units will lease document ranges). Taken in one
  // IMMEDIATE transaction: a lease of a dead process (same host: its pid is gone or was reused; another host: no
  // progress for kForeignLeaseLapseSeconds) is taken over and returned in `taken_from`; a live one overlapping the
  // range throws RunBusy naming it, unless `take_over` (the user knows it is dead). Our own lease is taken again.
  struct Lease {
    std::optional<LeaseHolder> taken_from;
  };
  Lease acquire_lease(int64_t run_id, int64_t doc_lo, int64_t doc_hi, const std::string& what, bool take_over);
  // Drops this process's lease on the run (no error when there is none: used on error paths).
  void release_lease(int64_t run_id) noexcept;
  // The live lease of another process overlapping the run, if any (for a sweep waiting on a busy cell).
  std::optional<LeaseHolder> live_foreign_lease(int64_t run_id);

  // Documents of the run already written (table run_docs, schema 7): whatever metrics the task gave them.
  std::set<int64_t> finished_docs(int64_t run_id);
  // One transaction: every document with its samples and metrics. When this process leased the run, the lease is
  // checked (a process whose lease was taken over stops here, writing nothing) and its heartbeat refreshed; a
  // document already stored is refused with a message, and nothing of the batch is written.
  void write_docs(int64_t run_id, const std::vector<DocResult>& docs);
  // All per-document metric values of a run: name -> [(value, weight)] in document order.
  std::map<std::string, std::vector<std::pair<double, double>>> doc_metrics(int64_t run_id);
  // Replaces the run's aggregated metrics and marks it finished; drops this process's lease on it.
  void finish_run(int64_t run_id, const std::vector<MetricRow>& metrics);
  std::vector<MetricRow> metrics(int64_t run_id);
  int64_t sample_count(int64_t run_id);

  // Uptraining (schema 2). A new train_runs row, or with resume_step >= 0 the latest row of the same output
  // folder, whose log rows after resume_step are dropped (the resumed run writes them again). Status "running".
  int64_t open_train_run(const std::string& model_out, const std::string& base_model, const std::string& base_sha256,
                         const nlohmann::json& config, const std::string& git_rev, int64_t resume_step = -1);
  void log_train_steps(int64_t run_id, const std::vector<TrainLogRow>& rows);  // one transaction
  void finish_train_run(int64_t run_id);

  // Work units (schema 6), in a worker's shard. claim_unit records this process (with its Slurm job id and GPUs) as
  // the unit's worker, status running, in one IMMEDIATE transaction; throws RunBusy naming the holder when another
  // live process runs it. Returns false, claiming nothing, when the unit is already finished in this store.
  bool claim_unit(const std::string& plan_id, int64_t unit, const std::string& plan_json, const std::string& job_id,
                  const std::string& gpu);
  void record_unit_piece(const std::string& plan_id, int64_t unit, const UnitPieceRecord& piece);
  void finish_unit(const std::string& plan_id, int64_t unit);
  // Marks the unit failed with the error, if this process holds it (no error on an error path).
  void fail_unit(const std::string& plan_id, int64_t unit, const std::string& error) noexcept;

  // Merge (schema 6): copies documents [doc_lo, doc_hi) of run `shard_run_id` of the shard file into this store,
  // in one transaction: the run's row when its key is new here, then every sample and per-document metric of the
  // range. A document already here must hold exactly the same rows (else an error naming both files and the
  // document), so copying a piece twice changes nothing. Every document of the range must be in the shard.
  CopiedPiece copy_shard_piece(const std::string& shard_path, int64_t shard_run_id, int64_t doc_lo, int64_t doc_hi);
  // Whether the run is finished (its metrics stored).
  bool run_finished(int64_t run_id);

  // Appends `supra-eval bench --db` rows (schema 5) in one transaction.
  void add_bench_rows(const std::vector<BenchRow>& rows);

  const std::string& path() const { return db_.path(); }

 private:
  // In a transaction: throws when this process leased the run and no longer holds the lease.
  void check_own_lease(int64_t run_id, const char* doing);
  // In a transaction: deletes this process's lease row of the run.
  void delete_own_lease(int64_t run_id);

  Db db_;
  std::map<int64_t, std::string> leased_;  // runs this process leased -> their description, for messages
};

// Opens a store for reading only, for reports and other readers: nothing is written to the file (no migration, no
// lock held against writers). A store of a newer schema is refused, naming both versions. A store of an older
// schema is read as it is, with what the later migration steps add stood in for in the connection's TEMP schema
// (an empty table; a view adding a column as NULL), so queries written for the current schema read it unchanged.
Db open_store_read_only(const std::string& path);

// Schema bookkeeping (store/schema.cpp). The version of an open store (0: a file without tables); fails for a file
// that is not a supra-eval store.
int schema_version(Db& db);
// Brings a store opened for writing to Store::kSchemaVersion in one IMMEDIATE transaction; refuses a newer one.
void migrate(Db& db);

}  // namespace supra
