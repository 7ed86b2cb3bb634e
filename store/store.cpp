#include "store/store.h"

#include <sqlite3.h>

#include <cmath>
#include <ctime>

#include "core/error.h"
#include "core/sha256.h"

namespace supra {

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

namespace {

// A prepared statement that finalises itself; errors name the store and the SQL.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& path, const char* sql) : db_(db), path_(path), sql_(sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      fail("{}: SQL error preparing '{}': {}", path, sql, sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
  Stmt& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT));
  }
  bool step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail("{}: SQL error in '{}': {}", path_, sql_, sqlite3_errmsg(db_));
  }
  void reset() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t i64(int c) { return sqlite3_column_int64(s_, c); }
  double f64(int c) { return sqlite3_column_double(s_, c); }
  std::string text(int c) {
    const auto* p = sqlite3_column_text(s_, c);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  bool is_null(int c) { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) fail("{}: SQL bind error in '{}': {}", path_, sql_, sqlite3_errmsg(db_));
    return *this;
  }
  sqlite3* db_;
  const std::string& path_;
  const char* sql_;
  sqlite3_stmt* s_ = nullptr;
};

// Schema of version 1. Later versions append a migration step to kMigrations (never edit a released one).
const char* kSchemaV1 = R"sql(
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
const char* kSchemaV2 = R"sql(
ALTER TABLE samples ADD COLUMN truncation TEXT;
)sql";

// Version 3: uptraining runs (supra-eval uptrain). One row per run in train_runs (a resumed run keeps its row);
// one train_log row per optimizer step, with the validation loss and perplexity where an evaluation ran.
const char* kSchemaV3 = R"sql(
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

const std::vector<const char*> kMigrations = {kSchemaV1, kSchemaV2, kSchemaV3};  // kMigrations[i] takes version i to i+1

}  // namespace

nlohmann::json RunKey::to_json() const {
  // nlohmann::json objects are ordered by key: the dump is canonical.
  nlohmann::json j = {{"model_sha256", model_sha256}, {"mode", mode}, {"form", form}, {"task", task},
                      {"task_version", task_version}, {"shots", shots}, {"seed", seed}, {"ctx", ctx},
                      {"truncation", truncation}, {"dtype", dtype}, {"device", device}, {"add_bos", add_bos},
                      {"limit", limit}};
  // Only present for user-supplied data, so the keys of runs on bundled data stay what they were.
  if (!data_sha256.empty()) j["data_sha256"] = data_sha256;
  return j;
}

std::string RunKey::hash() const { return sha256_hex(to_json().dump()); }

Store::Store(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail("{}: cannot open the results store: {}", path, msg);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");  // WAL + NORMAL: a committed batch survives a killed process
    exec("PRAGMA foreign_keys=ON");
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() {
  if (db_) sqlite3_close(db_);
}

void Store::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    fail("{}: SQL error: {} (in: {})", path_, msg, sql.substr(0, 120));
  }
}

// One IMMEDIATE transaction around `body`: committed when it returns, rolled back when it throws, so a batch of rows
// is either all in the store or none of it (a killed or failing run loses no finished batch and leaves no half).
void Store::transaction(const std::function<void()>& body) {
  exec("BEGIN IMMEDIATE");
  try {
    body();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void Store::migrate() {
  int version = 0;
  {
    Stmt has(db_, path_, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'");
    has.step();
    if (has.i64(0) > 0) {
      Stmt v(db_, path_, "SELECT value FROM meta WHERE key='schema_version'");
      if (!v.step()) fail("{}: not a supra-eval store (table meta has no schema_version)", path_);
      version = std::stoi(v.text(0));
    } else {
      Stmt any(db_, path_, "SELECT count(*) FROM sqlite_master WHERE type='table'");
      any.step();
      if (any.i64(0) > 0) fail("{}: not a supra-eval store (it has tables but no meta table)", path_);
    }
  }
  if (version > kSchemaVersion)
    fail("{}: written by a newer supra-eval (store schema {}, this build knows up to {}); use a newer build",
         path_, version, kSchemaVersion);
  for (int v = version; v < kSchemaVersion; v++) {
    transaction([&] {
      exec(kMigrations[size_t(v)]);
      exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '" + std::to_string(v + 1) + "')");
    });
  }
}

int64_t Store::open_run(const RunKey& key, int64_t n_docs, int64_t train_ctx, const nlohmann::json& config,
                        const std::string& git_rev) {
  const std::string h = key.hash();
  {
    Stmt q(db_, path_, "SELECT id, n_docs FROM runs WHERE run_key = ?");
    q.bind(1, h);
    if (q.step()) {
      if (q.i64(1) != n_docs)
        fail("{}: run {} of task {} had {} documents, now {}: the task's data changed without a version bump",
             path_, q.i64(0), key.task, q.i64(1), n_docs);
      return q.i64(0);
    }
  }
  const std::string now = now_utc();
  Stmt ins(db_, path_,
           "INSERT INTO runs(run_key, key_json, model, model_sha256, mode, form, task, task_version, shots, seed, ctx, "
           "train_ctx, beyond_train, truncation, dtype, device, add_bos, limit_docs, n_docs, git_rev, config_json, "
           "status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'running',?,?)");
  ins.bind(1, h).bind(2, key.to_json().dump()).bind(3, key.model).bind(4, key.model_sha256).bind(5, key.mode);
  ins.bind(6, key.form).bind(7, key.task).bind(8, int64_t(key.task_version)).bind(9, int64_t(key.shots));
  ins.bind(10, int64_t(key.seed)).bind(11, key.ctx).bind(12, train_ctx).bind(13, int64_t(key.ctx > train_ctx));
  ins.bind(14, key.truncation).bind(15, key.dtype).bind(16, key.device).bind(17, int64_t(key.add_bos));
  ins.bind(18, key.limit).bind(19, n_docs).bind(20, git_rev).bind(21, config.dump()).bind(22, now).bind(23, now);
  ins.step();
  return sqlite3_last_insert_rowid(db_);
}

std::set<int64_t> Store::finished_docs(int64_t run_id) {
  std::set<int64_t> out;
  Stmt q(db_, path_, "SELECT DISTINCT doc FROM doc_metrics WHERE run_id = ?");
  q.bind(1, run_id);
  while (q.step()) out.insert(q.i64(0));
  return out;
}

void Store::write_docs(int64_t run_id, const std::vector<DocResult>& docs) {
  if (docs.empty()) return;
  transaction([&] {
    Stmt s(db_, path_,
           "INSERT INTO samples(run_id, doc, request, type, n_input, n_kept, n_dropped, logprob, is_greedy, generated, "
           "truncation) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    Stmt m(db_, path_, "INSERT INTO doc_metrics(run_id, doc, metric, value, weight) VALUES (?,?,?,?,?)");
    for (const DocResult& d : docs) {
      for (const SampleRow& r : d.samples) {
        s.reset();
        s.bind(1, run_id).bind(2, d.doc).bind(3, r.request).bind(4, r.type).bind(5, r.n_input).bind(6, r.n_kept);
        s.bind(7, r.n_dropped).bind(8, r.logprob).bind(9, int64_t(r.is_greedy)).bind(10, r.generated);
        if (!r.truncation.empty()) s.bind(11, r.truncation);  // else stays NULL
        s.step();
      }
      for (const auto& [name, vw] : d.metrics) {
        m.reset();
        m.bind(1, run_id).bind(2, d.doc).bind(3, name).bind(4, vw.first).bind(5, vw.second);
        m.step();
      }
    }
    Stmt u(db_, path_, "UPDATE runs SET updated_at = ? WHERE id = ?");
    u.bind(1, now_utc()).bind(2, run_id);
    u.step();
  });
}

std::map<std::string, std::vector<std::pair<double, double>>> Store::doc_metrics(int64_t run_id) {
  std::map<std::string, std::vector<std::pair<double, double>>> out;
  Stmt q(db_, path_, "SELECT metric, value, weight FROM doc_metrics WHERE run_id = ? ORDER BY doc");
  q.bind(1, run_id);
  while (q.step()) out[q.text(0)].push_back({q.f64(1), q.f64(2)});
  return out;
}

void Store::finish_run(int64_t run_id, const std::vector<MetricRow>& metrics) {
  transaction([&] {
    Stmt del(db_, path_, "DELETE FROM metrics WHERE run_id = ?");
    del.bind(1, run_id);
    del.step();
    Stmt ins(db_, path_,
             "INSERT INTO metrics(run_id, metric, value, stderr, n, aggregation, higher_is_better) "
             "VALUES (?,?,?,?,?,?,?)");
    for (const MetricRow& m : metrics) {
      ins.reset();
      ins.bind(1, run_id).bind(2, m.name).bind(3, m.value);
      if (!std::isnan(m.stderr_)) ins.bind(4, m.stderr_);  // an undefined stderr stays NULL
      ins.bind(5, m.n).bind(6, m.aggregation).bind(7, int64_t(m.higher_is_better));
      ins.step();
    }
    const std::string now = now_utc();
    Stmt u(db_, path_, "UPDATE runs SET status = 'finished', finished_at = ?, updated_at = ? WHERE id = ?");
    u.bind(1, now).bind(2, now).bind(3, run_id);
    u.step();
  });
}

std::vector<MetricRow> Store::metrics(int64_t run_id) {
  std::vector<MetricRow> out;
  Stmt q(db_, path_,
         "SELECT metric, value, stderr, n, aggregation, higher_is_better FROM metrics WHERE run_id = ? ORDER BY metric");
  q.bind(1, run_id);
  while (q.step()) {
    MetricRow m;
    m.name = q.text(0);
    m.value = q.f64(1);
    m.stderr_ = q.is_null(2) ? std::nan("") : q.f64(2);
    m.n = q.i64(3);
    m.aggregation = q.text(4);
    m.higher_is_better = q.i64(5) != 0;
    out.push_back(m);
  }
  return out;
}

int64_t Store::sample_count(int64_t run_id) {
  Stmt q(db_, path_, "SELECT count(*) FROM samples WHERE run_id = ?");
  q.bind(1, run_id);
  q.step();
  return q.i64(0);
}

int64_t Store::open_train_run(const std::string& model_out, const std::string& base_model,
                              const std::string& base_sha256, const nlohmann::json& config, const std::string& git_rev,
                              int64_t resume_step) {
  const std::string now = now_utc();
  int64_t id = -1;
  transaction([&] {
    if (resume_step >= 0) {
      Stmt q(db_, path_, "SELECT id FROM train_runs WHERE model_out = ? ORDER BY id DESC LIMIT 1");
      q.bind(1, model_out);
      if (q.step()) id = q.i64(0);
    }
    if (id >= 0) {
      // Steps after the checkpoint were lost with the process; the resumed run writes them again.
      Stmt del(db_, path_, "DELETE FROM train_log WHERE run_id = ? AND step > ?");
      del.bind(1, id).bind(2, resume_step);
      del.step();
      Stmt u(db_, path_, "UPDATE train_runs SET status = 'running', updated_at = ?, finished_at = NULL WHERE id = ?");
      u.bind(1, now).bind(2, id);
      u.step();
    } else {
      Stmt ins(db_, path_,
               "INSERT INTO train_runs(model_out, base_model, base_sha256, config_json, git_rev, status, started_at, "
               "updated_at) VALUES (?,?,?,?,?,'running',?,?)");
      ins.bind(1, model_out).bind(2, base_model).bind(3, base_sha256).bind(4, config.dump()).bind(5, git_rev);
      ins.bind(6, now).bind(7, now);
      ins.step();
      id = sqlite3_last_insert_rowid(db_);
    }
  });
  return id;
}

void Store::log_train_steps(int64_t run_id, const std::vector<TrainLogRow>& rows) {
  if (rows.empty()) return;
  transaction([&] {
    Stmt s(db_, path_,
           "INSERT OR REPLACE INTO train_log(run_id, step, tokens, lr, loss, grad_norm, val_loss, val_ppl, seconds) "
           "VALUES (?,?,?,?,?,?,?,?,?)");
    for (const TrainLogRow& r : rows) {
      s.reset();
      s.bind(1, run_id).bind(2, r.step).bind(3, r.tokens).bind(4, r.lr).bind(5, r.loss).bind(6, r.grad_norm);
      if (!std::isnan(r.val_loss)) s.bind(7, r.val_loss).bind(8, std::exp(r.val_loss));  // else both stay NULL
      s.bind(9, r.seconds);
      s.step();
    }
    Stmt u(db_, path_, "UPDATE train_runs SET updated_at = ? WHERE id = ?");
    u.bind(1, now_utc()).bind(2, run_id);
    u.step();
  });
}

void Store::finish_train_run(int64_t run_id) {
  const std::string now = now_utc();
  Stmt u(db_, path_, "UPDATE train_runs SET status = 'finished', finished_at = ?, updated_at = ? WHERE id = ?");
  u.bind(1, now).bind(2, now).bind(3, run_id);
  u.step();
}

}  // namespace supra
