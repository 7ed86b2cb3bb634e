// The store's schema: every table in one sequence of migration steps (a new table or column is a new step at the
// end; a released step is never edited), and the read-only open that readers of an older store use.
#include <iterator>

#include "store/store.h"

namespace supra {

namespace {

// Schema of version 1. Later versions append a migration step to kMigrations (never edit a released one).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  run_key TEXT NOT NULL UNIQUE,      -- sha256 of key_json
  key_json TEXT NOT NULL,            -- every field that changes the numbers
  model TEXT NOT NULL, model_sha256 TEXT NOT NULL, mode TEXT NOT NULL, form TEXT NOT NULL,
  task TEXT NOT NULL, task_version INTEGER NOT NULL, shots INTEGER NOT NULL, seed INTEGER NOT NULL,
  ctx INTEGER NOT NULL, train_ctx INTEGER NOT NULL, beyond_train INTEGER NOT NULL,
  truncation TEXT NOT NULL, dtype TEXT NOT NULL, device TEXT NOT NULL, add_bos INTEGER NOT NULL,
  limit_docs INTEGER NOT NULL, n_docs INTEGER NOT NULL,
  git_rev TEXT NOT NULL, config_json TEXT NOT NULL,
  status TEXT NOT NULL,              -- running | finished
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT
);
CREATE TABLE samples (
  run_id INTEGER NOT NULL REFERENCES runs(id), doc INTEGER NOT NULL, request INTEGER NOT NULL,
  type TEXT NOT NULL, n_input INTEGER NOT NULL, n_kept INTEGER NOT NULL, n_dropped INTEGER NOT NULL,
  logprob REAL, is_greedy INTEGER, generated TEXT,
  PRIMARY KEY (run_id, doc, request)
);
CREATE TABLE doc_metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id), doc INTEGER NOT NULL, metric TEXT NOT NULL,
  value REAL NOT NULL, weight REAL NOT NULL,
  PRIMARY KEY (run_id, doc, metric)
);
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs(id), metric TEXT NOT NULL,
  value REAL NOT NULL, stderr REAL, n INTEGER NOT NULL, aggregation TEXT NOT NULL, higher_is_better INTEGER NOT NULL,
  PRIMARY KEY (run_id, metric)
);
)sql";

// Version 2: the truncation policy actually applied to each long-input sample (the run's policy, or "left" when
// doc_end/middle fell back because prefix + suffix alone exceeded the budget); NULL where no policy applied.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE samples ADD COLUMN truncation TEXT;
)sql";

// Version 3: uptraining runs (supra-eval uptrain). One row per run in train_runs (a resumed run keeps its row);
// one train_log row per optimizer step, with the validation loss and perplexity where an evaluation ran.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE train_runs (
  id INTEGER PRIMARY KEY,
  model_out TEXT NOT NULL,           -- the output folder (the trained checkpoint)
  base_model TEXT NOT NULL, base_sha256 TEXT NOT NULL,
  config_json TEXT NOT NULL,         -- every training setting, the data files and token counts
  git_rev TEXT NOT NULL,
  status TEXT NOT NULL,              -- running | finished
  started_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT
);
CREATE TABLE train_log (
  run_id INTEGER NOT NULL REFERENCES train_runs(id), step INTEGER NOT NULL,
  tokens INTEGER NOT NULL, lr REAL NOT NULL, loss REAL NOT NULL, grad_norm REAL NOT NULL,
  val_loss REAL, val_ppl REAL, seconds REAL NOT NULL,
  PRIMARY KEY (run_id, step)
);
)sql";

// Version 4: run leases. A process writing a run holds a lease on its documents [doc_lo, doc_hi) (today the whole
// run; scale-out work units will lease ranges), so a second process on the same run key is told who is writing it
// instead of colliding on the samples' keys. heartbeat_at moves with every committed batch. IF NOT EXISTS: a store
// made to look older by hand (the migration test drops the later tables it knows) still migrates.
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE IF NOT EXISTS run_leases (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  doc_lo INTEGER NOT NULL, doc_hi INTEGER NOT NULL,
  host TEXT NOT NULL, pid INTEGER NOT NULL,
  proc_start TEXT NOT NULL,          -- boot id and start time of the process: a reused pid is not mistaken for it
  started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL,
  PRIMARY KEY (run_id, doc_lo)
);
)sql";

// Version 5: supra-eval bench --db rows (table bench_results), which bench and report used to create outside the
// migrations (CREATE TABLE IF NOT EXISTS, later an ALTER TABLE for rss_over_baseline_mib): a store whose
// bench_results predates that column gets it (NULL in its rows), one without the table gets it empty. Also drops
// what `report` used to create in the store itself (its views and report_ref_* tables); report now makes them TEMP,
// in its own read-only connection, so they no longer go stale in the file.
constexpr const char* kSchemaV5 = R"sql(
CREATE TABLE IF NOT EXISTS bench_results (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,          -- UTC, ISO 8601
  model TEXT NOT NULL,               -- checkpoint path, or shape:<name> for random weights
  model_sha256 TEXT NOT NULL,        -- '' for random weights
  mode TEXT NOT NULL,                -- softmax | supra
  device TEXT NOT NULL, dtype TEXT NOT NULL, threads INTEGER NOT NULL,
  ctx INTEGER NOT NULL,              -- tokens prefilled before decoding
  batch INTEGER NOT NULL,            -- sequences decoded together
  prefill_tok_s REAL, prefill_gflops REAL,
  decode_tok_s REAL, decode_gbps REAL,
  state_mib REAL,                    -- one sequence's KV cache (softmax) or SUPRA state
  peak_rss_mib REAL,                 -- this configuration's own peak resident memory (NULL: not measurable)
  limit_gflops REAL, limit_gbps REAL, -- the machine's measured limits (NULL: not measured)
  git_rev TEXT NOT NULL,
  peak_device_mib REAL,              -- CUDA: peak device memory (NULL on the CPU)
  rss_over_baseline_mib REAL         -- peak_rss_mib minus the resident memory before the configuration started
);
DROP VIEW IF EXISTS v_runs; DROP VIEW IF EXISTS v_results; DROP VIEW IF EXISTS v_cells;
DROP VIEW IF EXISTS v_primary; DROP VIEW IF EXISTS v_models; DROP VIEW IF EXISTS v_nlu_table;
DROP VIEW IF EXISTS v_paper_table1; DROP VIEW IF EXISTS v_long_context; DROP VIEW IF EXISTS v_paper_table2;
DROP VIEW IF EXISTS v_pairs; DROP VIEW IF EXISTS v_bench; DROP VIEW IF EXISTS v_passkey;
DROP VIEW IF EXISTS v_ppl_position; DROP VIEW IF EXISTS v_effective_ctx; DROP VIEW IF EXISTS v_provenance;
DROP TABLE IF EXISTS report_ref_models; DROP TABLE IF EXISTS report_ref_metrics;
DROP TABLE IF EXISTS report_ref_primary_metric; DROP TABLE IF EXISTS report_ref_nlu_columns;
DROP TABLE IF EXISTS report_ref_long_tasks; DROP TABLE IF EXISTS report_ref_effective;
DROP TABLE IF EXISTS report_ref_effective_tasks; DROP TABLE IF EXISTS report_ref_paper_rows;
DROP TABLE IF EXISTS report_ref_paper_values;
)sql";

// Version 6: scale-out work units (supra-eval plan | work | merge). A worker runs one unit of a plan into its own
// shard file and records itself on the unit: who (host, pid, process start, Slurm job id, CUDA_VISIBLE_DEVICES),
// when, and how it ended; the plan's JSON rides along, so merge checks completeness from the shards alone. Each
// piece of a unit is a document range [doc_lo, doc_hi) of one run.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE IF NOT EXISTS work_units (
  plan_id TEXT NOT NULL, unit INTEGER NOT NULL,
  plan_json TEXT NOT NULL,           -- the whole plan (harness/work_plan.h)
  status TEXT NOT NULL,              -- running | finished | failed
  host TEXT NOT NULL, pid INTEGER NOT NULL, proc_start TEXT NOT NULL,
  job_id TEXT NOT NULL,              -- Slurm job (array job_task), '' outside Slurm
  gpu TEXT NOT NULL,                 -- CUDA_VISIBLE_DEVICES of the worker, '' when unset
  attempts INTEGER NOT NULL,         -- workers that claimed the unit (1 + retries)
  started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL, finished_at TEXT,
  error TEXT,                        -- why the last attempt failed
  PRIMARY KEY (plan_id, unit)
);
CREATE TABLE IF NOT EXISTS work_unit_pieces (
  plan_id TEXT NOT NULL, unit INTEGER NOT NULL, piece INTEGER NOT NULL,
  run_id INTEGER NOT NULL REFERENCES runs(id), doc_lo INTEGER NOT NULL, doc_hi INTEGER NOT NULL,
  PRIMARY KEY (plan_id, unit, piece)
);
)sql";

// Version 7 (issue 17). Two things resume and the token counts need:
// - run_docs: the documents of a run that are finished, written in the same transaction as their samples and
//   metrics. "Done" used to mean "has doc_metrics rows", so a task returning no metric for a document re-ran it on
//   resume and collided with its samples. Backfilled from every document with a sample or a metric row.
// - samples.n_input / n_kept / n_dropped get one meaning for every request (store/README.md): tokens of the
//   request (context + continuation for loglikelihood), tokens of it the model read or scored, and the difference.
//   Long-document loglikelihood rows (truncation set) used to count the prompt only; where their prompt was cut,
//   the continuation's length is known (the old cut kept exactly ctx - |continuation| prompt tokens) and is added.
//   samples.n_continuation records it from now on (NULL: not a loglikelihood request, or a row from before this
//   step other than those cut long-document rows; an uncut long-document row from before keeps the counts of its
//   prompt, n_dropped 0, since the continuation's length was not stored).
constexpr const char* kSchemaV7 = R"sql(
CREATE TABLE IF NOT EXISTS run_docs (
  run_id INTEGER NOT NULL REFERENCES runs(id), doc INTEGER NOT NULL,
  PRIMARY KEY (run_id, doc)
);
INSERT OR IGNORE INTO run_docs(run_id, doc) SELECT DISTINCT run_id, doc FROM samples;
INSERT OR IGNORE INTO run_docs(run_id, doc) SELECT DISTINCT run_id, doc FROM doc_metrics;
)sql";

// Step 7's column and count migration (a store made to look older by hand may already have the column).
void add_continuation_counts(Db& db) {
  if (db.has_column("samples", "n_continuation")) return;
  db.exec("ALTER TABLE samples ADD COLUMN n_continuation INTEGER");
  db.exec(R"sql(
UPDATE samples SET n_continuation = (SELECT r.ctx FROM runs r WHERE r.id = samples.run_id) - n_kept
  WHERE type = 'loglikelihood' AND truncation IS NOT NULL AND n_dropped > 0;
UPDATE samples SET n_input = n_input + n_continuation, n_kept = n_kept + n_continuation
  WHERE type = 'loglikelihood' AND truncation IS NOT NULL AND n_dropped > 0;
)sql");
}

void add_bench_memory_column(Db& db) {
  if (!db.has_column("bench_results", "rss_over_baseline_mib"))
    db.exec("ALTER TABLE bench_results ADD COLUMN rss_over_baseline_mib REAL");
}

// One step: its SQL, then (for what SQL cannot say conditionally) a function.
struct Migration {
  const char* sql;
  void (*then)(Db&) = nullptr;
};

// kMigrations[i] takes version i to i + 1.
constexpr Migration kMigrations[] = {{kSchemaV1}, {kSchemaV2}, {kSchemaV3}, {kSchemaV4},
                                     {kSchemaV5, add_bench_memory_column}, {kSchemaV6},
                                     {kSchemaV7, add_continuation_counts}};
static_assert(std::size(kMigrations) == Store::kSchemaVersion, "Store::kSchemaVersion is the number of steps");

[[noreturn]] void refuse_newer(const Db& db, int version) {
  fail("{}: written by a newer supra-eval (store schema {}, this build knows up to {}); use a newer build", db.path(),
       version, Store::kSchemaVersion);
}

// A TEMP table with the columns (names and declared types) of `table` in `model`, empty.
void temp_empty_table(Db& db, Db& model, const std::string& table) {
  std::string cols;
  Stmt c(model, "SELECT name, type FROM pragma_table_info(?1) ORDER BY cid");
  c.bind(1, table);
  while (c.step()) cols += (cols.empty() ? "" : ", ") + sql_ident(c.text(0)) + " " + c.text(1);
  db.exec("CREATE TEMP TABLE " + sql_ident(table) + " (" + cols + ")");
}

// A TEMP view over the file's `table` that adds the columns of `model`'s table it lacks, as NULL.
void temp_view_adding_columns(Db& db, Db& model, const std::string& table) {
  std::string added;
  Stmt c(model, "SELECT name FROM pragma_table_info(?1) ORDER BY cid");
  c.bind(1, table);
  while (c.step())
    if (!db.has_column(table, c.text(0))) added += ", NULL AS " + sql_ident(c.text(0));
  if (!added.empty())
    db.exec("CREATE TEMP VIEW " + sql_ident(table) + " AS SELECT *" + added + " FROM main." + sql_ident(table));
}

}  // namespace

int schema_version(Db& db) {
  if (db.query_int("SELECT count(*) FROM main.sqlite_master WHERE type='table' AND name='meta'").value_or(0) > 0) {
    Stmt v(db, "SELECT value FROM main.meta WHERE key='schema_version'");
    if (!v.step()) fail("{}: not a supra-eval store (table meta has no schema_version)", db.path());
    return std::stoi(v.text(0));
  }
  if (db.query_int("SELECT count(*) FROM main.sqlite_master WHERE type='table'").value_or(0) > 0)
    fail("{}: not a supra-eval store (it has tables but no meta table)", db.path());
  return 0;
}

void migrate(Db& db) {
  int version = schema_version(db);
  if (version > Store::kSchemaVersion) refuse_newer(db, version);
  if (version == Store::kSchemaVersion) return;
  // Read again under the write lock: two processes opening an old (or new) store at once migrate it once.
  db.transaction([&] {
    version = schema_version(db);
    if (version > Store::kSchemaVersion) refuse_newer(db, version);
    for (int v = version; v < Store::kSchemaVersion; v++) {
      const Migration& m = kMigrations[size_t(v)];
      db.exec(m.sql);
      if (m.then) m.then(db);
      db.exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '" + std::to_string(v + 1) + "')");
    }
  });
}

Db open_store_read_only(const std::string& path) {
  Db db = Db::open_read_only(path);
  const int version = schema_version(db);
  if (version > Store::kSchemaVersion) refuse_newer(db, version);
  if (version == Store::kSchemaVersion) return db;
  // An older store, read as it is: what later steps add is stood in for in this connection's TEMP schema (an empty
  // table, or a view adding NULL columns), exactly what migrating it would add, without writing the file.
  Db current = Db::memory();
  migrate(current);
  Stmt tables(current, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid");
  while (tables.step()) {
    const std::string t = tables.text(0);
    if (db.query_int("SELECT count(*) FROM main.sqlite_master WHERE type = 'table' AND name = " +
                     sql_literal(t)).value_or(0) == 0)
      temp_empty_table(db, current, t);
    else
      temp_view_adding_columns(db, current, t);
  }
  return db;
}

}  // namespace supra
