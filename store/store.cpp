#include "store/store.h"

#include <sqlite3.h>

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

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

constexpr int kBusyTimeoutMs = 10000;

// A row the store's keys refuse (a duplicate): callers that can say which document or run it was catch this.
struct Duplicate : Error {
  using Error::Error;
};

// The message for a write that waited kBusyTimeoutMs for another process's lock.
[[noreturn]] void fail_locked(const std::string& path) {
  fail("{}: another process kept the store locked for more than {} s (writers hold it only for a moment per batch, "
       "so this is a stuck process, or a store on a network filesystem, where SQLite cannot lock reliably); try "
       "again, or use another --db",
       path, kBusyTimeoutMs / 1000);
}

// "INSERT INTO samples(...)" -> "samples", for messages about a refused row.
std::string table_of(const std::string& sql) {
  const auto at = sql.find(" INTO ");
  if (at == std::string::npos) return "?";
  const auto a = at + 6, b = sql.find_first_of("( ", a);
  return sql.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

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
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) fail_locked(path_);
    if (rc == SQLITE_CONSTRAINT) {
      const int ext = sqlite3_extended_errcode(db_);
      if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
        throw Duplicate(fmt::format("{}: the store already holds this row of table {} (a duplicate key); nothing "
                                    "of this transaction was kept",
                                    path_, table_of(sql_)));
      fail("{}: the store refused a row of table {}: {}; nothing of this transaction was kept", path_,
           table_of(sql_),
           ext == SQLITE_CONSTRAINT_FOREIGNKEY ? "it refers to a row that is not in the store (a run id?)"
           : ext == SQLITE_CONSTRAINT_NOTNULL  ? "a required value is missing"
                                               : "it breaks one of the table's constraints");
    }
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

// Version 4: run leases. A process writing a run holds a lease on its documents [doc_lo, doc_hi) (today the whole
// run; scale-out work units will lease ranges), so a second process on the same run key is told who is writing it
// instead of colliding on the samples' keys. heartbeat_at moves with every committed batch. IF NOT EXISTS: a store
// made to look older by hand (the migration test drops the later tables it knows) still migrates.
const char* kSchemaV4 = R"sql(
CREATE TABLE IF NOT EXISTS run_leases (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  doc_lo INTEGER NOT NULL, doc_hi INTEGER NOT NULL,
  host TEXT NOT NULL, pid INTEGER NOT NULL,
  proc_start TEXT NOT NULL,          -- boot id and start time of the process: a reused pid is not mistaken for it
  started_at TEXT NOT NULL, heartbeat_at TEXT NOT NULL,
  PRIMARY KEY (run_id, doc_lo)
);
)sql";

const std::vector<const char*> kMigrations = {kSchemaV1, kSchemaV2, kSchemaV3,
                                              kSchemaV4};  // kMigrations[i] takes version i to i+1

std::string read_first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// Start time of a process in clock ticks after boot (field 22 of /proc/<pid>/stat), "" when unreadable.
std::string start_ticks(int64_t pid) {
  const std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  for (int i = 3; i <= 22 && fields >> f; i++)
    if (i == 22) return f;
  return "";
}

std::string boot_id() { return read_first_line("/proc/sys/kernel/random/boot_id"); }

// "<boot id>/<start ticks>" of a process: the same pid after a reboot or after reuse gives another value.
std::string proc_start_of(int64_t pid) {
  const std::string boot = boot_id(), ticks = start_ticks(pid);
  return boot.empty() || ticks.empty() ? "" : boot + "/" + ticks;
}

std::string this_host() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

struct Self {
  std::string host = this_host();
  int64_t pid = int64_t(getpid());
  std::string proc_start = proc_start_of(int64_t(getpid()));
};

const Self& self() {
  static const Self s;
  return s;
}

// Seconds since the epoch of a store timestamp (now_utc's format); -1 when it does not parse.
int64_t parse_utc(const std::string& t) {
  std::tm tm{};
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec) != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return int64_t(timegm(&tm));
}

std::string format_utc(int64_t t) {
  const std::time_t tt = std::time_t(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}

bool is_self(const LeaseHolder& h) {
  return h.host == self().host && h.pid == self().pid && h.proc_start == self().proc_start;
}

// Whether the process holding a lease still runs. On this host: its pid exists and is the same process (not a
// reused pid, not one from before a reboot). On another host this one cannot ask: live until its heartbeat is
// older than the lapse.
bool is_alive(const LeaseHolder& h) {
  if (!h.same_host) {
    const int64_t beat = parse_utc(h.heartbeat_at);
    return beat < 0 || int64_t(std::time(nullptr)) - beat < Store::kForeignLeaseLapseSeconds;
  }
  const auto slash = h.proc_start.find('/');
  if (slash != std::string::npos && !self().proc_start.empty() &&
      h.proc_start.substr(0, slash) != self().proc_start.substr(0, self().proc_start.find('/')))
    return false;  // recorded before this host last booted
  if (kill(pid_t(h.pid), 0) != 0 && errno == ESRCH) return false;
  const std::string now = proc_start_of(h.pid);
  return h.proc_start.empty() || now.empty() || now == h.proc_start;
}

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

std::string RunKey::summary() const {
  std::string s = fmt::format("{} {} ctx {} (model {}", task, mode, ctx, model);
  if (shots > 0) s += fmt::format(", {} shots", shots);
  if (limit >= 0) s += fmt::format(", limit {}", limit);
  return s + ")";
}

Store::Store(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail("{}: cannot open the results store: {}", path, msg);
  }
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
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
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) fail_locked(path_);
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
  // Reads the version; a fresh file is version 0.
  auto read_version = [&] {
    Stmt has(db_, path_, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='meta'");
    has.step();
    if (has.i64(0) > 0) {
      Stmt v(db_, path_, "SELECT value FROM meta WHERE key='schema_version'");
      if (!v.step()) fail("{}: not a supra-eval store (table meta has no schema_version)", path_);
      return std::stoi(v.text(0));
    }
    Stmt any(db_, path_, "SELECT count(*) FROM sqlite_master WHERE type='table'");
    any.step();
    if (any.i64(0) > 0) fail("{}: not a supra-eval store (it has tables but no meta table)", path_);
    return 0;
  };
  auto refuse_newer = [&](int version) {
    if (version > kSchemaVersion)
      fail("{}: written by a newer supra-eval (store schema {}, this build knows up to {}); use a newer build",
           path_, version, kSchemaVersion);
  };
  int version = read_version();
  refuse_newer(version);
  if (version == kSchemaVersion) return;
  // Read again under the write lock: two processes opening an old (or new) store at once migrate it once.
  transaction([&] {
    version = read_version();
    refuse_newer(version);
    for (int v = version; v < kSchemaVersion; v++) {
      exec(kMigrations[size_t(v)]);
      exec("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', '" + std::to_string(v + 1) + "')");
    }
  });
}

int64_t Store::open_run(const RunKey& key, int64_t n_docs, int64_t train_ctx, const nlohmann::json& config,
                        const std::string& git_rev) {
  const std::string h = key.hash();
  int64_t id = -1;
  // One IMMEDIATE transaction: two processes opening the same new run key create it once.
  transaction([&] {
    {
      Stmt q(db_, path_, "SELECT id, n_docs FROM runs WHERE run_key = ?");
      q.bind(1, h);
      if (q.step()) {
        if (q.i64(1) != n_docs)
          fail("{}: run {} of task {} had {} documents, now {}: the task's data changed without a version bump",
               path_, q.i64(0), key.task, q.i64(1), n_docs);
        id = q.i64(0);
        return;
      }
    }
    const std::string now = now_utc();
    Stmt ins(db_, path_,
             "INSERT INTO runs(run_key, key_json, model, model_sha256, mode, form, task, task_version, shots, seed, "
             "ctx, train_ctx, beyond_train, truncation, dtype, device, add_bos, limit_docs, n_docs, git_rev, "
             "config_json, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
             "'running',?,?)");
    ins.bind(1, h).bind(2, key.to_json().dump()).bind(3, key.model).bind(4, key.model_sha256).bind(5, key.mode);
    ins.bind(6, key.form).bind(7, key.task).bind(8, int64_t(key.task_version)).bind(9, int64_t(key.shots));
    ins.bind(10, int64_t(key.seed)).bind(11, key.ctx).bind(12, train_ctx).bind(13, int64_t(key.ctx > train_ctx));
    ins.bind(14, key.truncation).bind(15, key.dtype).bind(16, key.device).bind(17, int64_t(key.add_bos));
    ins.bind(18, key.limit).bind(19, n_docs).bind(20, git_rev).bind(21, config.dump()).bind(22, now).bind(23, now);
    ins.step();
    id = sqlite3_last_insert_rowid(db_);
  });
  return id;
}

std::string LeaseHolder::describe() const {
  return fmt::format("pid {} on host {} since {} (last progress {})", pid, host, started_at, heartbeat_at);
}

namespace {

std::vector<LeaseHolder> leases_of(sqlite3* db, const std::string& path, int64_t run_id, int64_t lo, int64_t hi) {
  std::vector<LeaseHolder> out;
  Stmt q(db, path,
         "SELECT host, pid, proc_start, started_at, heartbeat_at, doc_lo, doc_hi FROM run_leases "
         "WHERE run_id = ? AND doc_lo < ? AND doc_hi > ?");
  q.bind(1, run_id).bind(2, hi).bind(3, lo);
  while (q.step()) {
    LeaseHolder h;
    h.host = q.text(0);
    h.pid = q.i64(1);
    h.proc_start = q.text(2);
    h.started_at = q.text(3);
    h.heartbeat_at = q.text(4);
    h.doc_lo = q.i64(5);
    h.doc_hi = q.i64(6);
    h.same_host = h.host == self().host;
    out.push_back(h);
  }
  return out;
}

}  // namespace

std::optional<LeaseHolder> Store::live_foreign_lease(int64_t run_id) {
  for (const LeaseHolder& h : leases_of(db_, path_, run_id, INT64_MIN, INT64_MAX))
    if (!is_self(h) && is_alive(h)) return h;
  return std::nullopt;
}

Store::Lease Store::acquire_lease(int64_t run_id, int64_t doc_lo, int64_t doc_hi, const std::string& what,
                                  bool take_over) {
  Lease out;
  transaction([&] {
    for (const LeaseHolder& h : leases_of(db_, path_, run_id, doc_lo, doc_hi)) {
      if (!is_self(h) && is_alive(h) && !take_over) {
        Stmt n(db_, path_,
               "SELECT (SELECT count(DISTINCT doc) FROM doc_metrics WHERE run_id = ?1), "
               "(SELECT n_docs FROM runs WHERE id = ?1)");
        n.bind(1, run_id);
        n.step();
        const std::string head =
            fmt::format("{}: run {} is being written by {}; {} of {} documents are stored.", path_, what,
                        h.describe(), n.i64(0), n.i64(1));
        if (h.same_host)
          throw RunBusy(head + fmt::format(
                                   " Wait for it to finish (its results go into this store, and this command then "
                                   "prints them without recomputing anything), evaluate other --tasks/--ctx "
                                   "meanwhile, or use another --db. If you stop that process (kill {}), this command "
                                   "resumes the run where it stopped.",
                                   h.pid),
                        run_id, what, h);
        const int64_t beat = parse_utc(h.heartbeat_at);
        throw RunBusy(head + fmt::format(
                                 " Wait for it to finish, evaluate other --tasks/--ctx meanwhile, or use another "
                                 "--db. This host cannot check a process on {}: if it died, its lease lapses at {} "
                                 "({} minutes without progress) and the run then resumes here; pass --take-over to "
                                 "resume it now (only if you are sure that process is gone).",
                                 h.host, beat < 0 ? std::string("?") : format_utc(beat + kForeignLeaseLapseSeconds),
                                 kForeignLeaseLapseSeconds / 60),
                      run_id, what, h);
      }
      if (!is_self(h)) out.taken_from = h;
      Stmt del(db_, path_, "DELETE FROM run_leases WHERE run_id = ? AND doc_lo = ?");
      del.bind(1, run_id).bind(2, h.doc_lo);
      del.step();
    }
    const std::string now = now_utc();
    Stmt ins(db_, path_,
             "INSERT INTO run_leases(run_id, doc_lo, doc_hi, host, pid, proc_start, started_at, heartbeat_at) "
             "VALUES (?,?,?,?,?,?,?,?)");
    ins.bind(1, run_id).bind(2, doc_lo).bind(3, doc_hi).bind(4, self().host).bind(5, self().pid);
    ins.bind(6, self().proc_start).bind(7, now).bind(8, now);
    ins.step();
  });
  leased_[run_id] = what;
  return out;
}

void Store::release_lease(int64_t run_id) noexcept {
  leased_.erase(run_id);
  try {
    transaction([&] {
      Stmt del(db_, path_, "DELETE FROM run_leases WHERE run_id = ? AND host = ? AND pid = ? AND proc_start = ?");
      del.bind(1, run_id).bind(2, self().host).bind(3, self().pid).bind(4, self().proc_start);
      del.step();
    });
  } catch (...) {
    // Best effort on an error path: a lease left behind names a dead pid, and the next run on this host takes
    // it over.
  }
}

void Store::check_own_lease(int64_t run_id, const char* doing) {
  const auto own = leased_.find(run_id);
  if (own == leased_.end()) {
    // Not leased by us (a caller of the store API that takes no lease): still never write under a live lease.
    for (const LeaseHolder& h : leases_of(db_, path_, run_id, INT64_MIN, INT64_MAX))
      if (!is_self(h) && is_alive(h))
        throw RunBusy(fmt::format("{}: run {} is being written by {}; {} not written", path_, run_id, h.describe(),
                                  doing),
                      run_id, std::to_string(run_id), h);
    return;
  }
  const auto holders = leases_of(db_, path_, run_id, INT64_MIN, INT64_MAX);
  for (const LeaseHolder& h : holders)
    if (is_self(h)) {
      Stmt u(db_, path_,
             "UPDATE run_leases SET heartbeat_at = ? WHERE run_id = ? AND host = ? AND pid = ? AND proc_start = ?");
      u.bind(1, now_utc()).bind(2, run_id).bind(3, self().host).bind(4, self().pid).bind(5, self().proc_start);
      u.step();
      return;
    }
  const std::string by = holders.empty() ? std::string("another process (which has finished with it since)")
                                         : holders.front().describe();
  fail("{}: run {} was taken over by {} while this process (pid {}) was still computing it (--take-over was used, "
       "or this process looked dead to the other one); {} not written, and this process stops. Nothing stored is "
       "lost: the other process continues the run; run this command again afterwards to print its results",
       path_, own->second, by, self().pid, doing);
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
  const std::string doing = fmt::format("this batch of {} documents is", docs.size());
  transaction([&] {
    check_own_lease(run_id, doing.c_str());
    Stmt s(db_, path_,
           "INSERT INTO samples(run_id, doc, request, type, n_input, n_kept, n_dropped, logprob, is_greedy, generated, "
           "truncation) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
    Stmt m(db_, path_, "INSERT INTO doc_metrics(run_id, doc, metric, value, weight) VALUES (?,?,?,?,?)");
    for (const DocResult& d : docs) try {
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
    } catch (const Duplicate&) {
      fail("{}: document {} of run {} is already in the store: another process wrote it meanwhile (one that held "
           "no lease on the run); nothing of this batch was written. Run the command again: it finishes only what "
           "is missing",
           path_, d.doc, run_id);
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
    check_own_lease(run_id, "its metrics are");
    Stmt drop(db_, path_, "DELETE FROM run_leases WHERE run_id = ? AND host = ? AND pid = ? AND proc_start = ?");
    drop.bind(1, run_id).bind(2, self().host).bind(3, self().pid).bind(4, self().proc_start);
    drop.step();
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
  leased_.erase(run_id);
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
