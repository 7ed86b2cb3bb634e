#include "store/db.h"

#include <sqlite3.h>

#include <utility>

namespace supra {

namespace {

// SQL as quoted in a message: its first line's worth.
std::string excerpt(const std::string& sql) {
  std::string s = sql.substr(0, 160);
  for (char& c : s)
    if (c == '\n') c = ' ';
  return sql.size() > 160 ? s + " ..." : s;
}

// "INSERT INTO samples(...)" -> "samples", for messages about a refused row.
std::string table_of(const std::string& sql) {
  const auto at = sql.find(" INTO ");
  if (at == std::string::npos) return "?";
  const auto a = at + 6, b = sql.find_first_of("( ", a);
  return sql.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

// `s` between two `q`, each `q` inside doubled.
std::string quoted(const std::string& s, char q) {
  std::string out(1, q);
  for (char c : s) {
    if (c == q) out += q;
    out += c;
  }
  return out + q;
}

}  // namespace

std::string sql_literal(const std::string& s) { return quoted(s, '\''); }
std::string sql_ident(const std::string& s) { return quoted(s, '"'); }

Db Db::open_flags(const std::string& path, int flags, bool read_only) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(path.c_str(), &h, flags, nullptr) != SQLITE_OK) {
    const std::string msg = h ? sqlite3_errmsg(h) : "out of memory";
    sqlite3_close(h);
    fail("{}: cannot open the results store{}: {}", path, read_only ? " for reading" : "", msg);
  }
  sqlite3_busy_timeout(h, kBusyTimeoutMs);
  return Db(h, path, read_only);
}

// PRAGMA quick_check (the cheap form of integrity_check: every page and record, not the index contents), so a damaged
// file is refused when it is opened instead of yielding partial tables that read as results.
void Db::check_intact() {
  sqlite3_stmt* st = nullptr;
  std::string verdict;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA quick_check(1)", -1, &st, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char* t = sqlite3_column_text(st, 0);
    verdict = t ? reinterpret_cast<const char*>(t) : "";
  } else {
    verdict = sqlite3_errmsg(db_);
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) fail_locked();
  if (verdict != "ok")
    fail("{}: the results store is damaged (PRAGMA quick_check: {}); restore it from a copy, or save what is "
         "readable with `sqlite3 {} .recover > dump.sql`",
         path_, verdict, path_);
}

Db Db::open(const std::string& path) {
  Db db = open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, false);
  // SQLite falls back to read-only for a file it may not write; a writer must learn that now, not at its first
  // commit after hours of evaluation.
  if (sqlite3_db_readonly(db.db_, "main") == 1)
    fail("{}: the results store is read-only here (file permissions): this command writes its results there; make "
         "it writable or give another file",
         path);
  db.check_intact();
  db.exec("PRAGMA journal_mode=WAL");
  db.exec("PRAGMA synchronous=NORMAL");  // WAL + NORMAL: a committed batch survives a killed process
  db.exec("PRAGMA foreign_keys=ON");
  return db;
}

Db Db::open_read_only(const std::string& path) {
  Db db = open_flags(path, SQLITE_OPEN_READONLY, true);
  db.check_intact();
  return db;
}

Db Db::memory() { return open_flags(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, false); }

Db::Db(Db&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)), read_only_(o.read_only_) {}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    if (db_) sqlite3_close(db_);
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
    read_only_ = o.read_only_;
  }
  return *this;
}

Db::~Db() {
  if (db_) sqlite3_close(db_);
}

void Db::fail_locked() const {
  fail("{}: another process kept the store locked for more than {} s (writers hold it only for a moment per batch, "
       "so this is a stuck process, or a store on a network filesystem, where SQLite cannot lock reliably); try "
       "again, or use another --db",
       path_, kBusyTimeoutMs / 1000);
}

void Db::exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return;
  const std::string msg = err ? err : sqlite3_errmsg(db_);
  sqlite3_free(err);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) fail_locked();
  fail("{}: SQL error: {} (in: {})", path_, msg, excerpt(sql));
}

void Db::transaction(const std::function<void()>& body, Begin begin) {
  exec(begin == Begin::Immediate ? "BEGIN IMMEDIATE" : "BEGIN");
  try {
    body();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }

bool Db::has_object(const std::string& name) {
  Stmt q(*this,
         "SELECT (SELECT count(*) FROM sqlite_master WHERE name = ?1) + "
         "(SELECT count(*) FROM sqlite_temp_master WHERE name = ?1)");
  q.bind(1, name);
  q.step();
  return q.i64(0) > 0;
}

bool Db::has_column(const std::string& table, const std::string& column) {
  Stmt q(*this, "SELECT count(*) FROM pragma_table_info(?1, 'main') WHERE name = ?2");
  q.bind(1, table).bind(2, column);
  q.step();
  return q.i64(0) > 0;
}

std::optional<int64_t> Db::query_int(const std::string& sql) {
  Stmt q(*this, sql);
  return q.step() ? q.opt_i64(0) : std::nullopt;
}

std::optional<double> Db::query_double(const std::string& sql) {
  Stmt q(*this, sql);
  return q.step() ? q.opt_f64(0) : std::nullopt;
}

Stmt::Stmt(Db& db, const std::string& sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db.db_, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
    fail("{}: SQL error preparing '{}': {}", db.path_, excerpt(sql), sqlite3_errmsg(db.db_));
}

Stmt::~Stmt() { sqlite3_finalize(s_); }

Stmt& Stmt::check_bind(int rc, int i) {
  if (rc != SQLITE_OK)
    fail("{}: SQL error binding parameter {} of '{}': {}", db_.path_, i, excerpt(sql_), sqlite3_errmsg(db_.db_));
  return *this;
}

Stmt& Stmt::bind(int i, int64_t v) { return check_bind(sqlite3_bind_int64(s_, i, v), i); }
Stmt& Stmt::bind(int i, double v) { return check_bind(sqlite3_bind_double(s_, i, v), i); }
Stmt& Stmt::bind(int i, const std::string& v) {
  return check_bind(sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT), i);
}
Stmt& Stmt::bind(int i, const std::optional<double>& v) { return v ? bind(i, *v) : bind_null(i); }
Stmt& Stmt::bind_null(int i) { return check_bind(sqlite3_bind_null(s_, i), i); }

bool Stmt::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const std::string& path = db_.path_;
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) db_.fail_locked();
  if (rc == SQLITE_CONSTRAINT) {
    const int ext = sqlite3_extended_errcode(db_.db_);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
      throw DuplicateRow(fmt::format("{}: the store already holds this row of table {} (a duplicate key); nothing "
                                     "of this transaction was kept",
                                     path, table_of(sql_)));
    fail("{}: the store refused a row of table {}: {}; nothing of this transaction was kept", path, table_of(sql_),
         ext == SQLITE_CONSTRAINT_FOREIGNKEY ? "it refers to a row that is not in the store (a run id?)"
         : ext == SQLITE_CONSTRAINT_NOTNULL  ? "a required value is missing"
                                             : "it breaks one of the table's constraints");
  }
  fail("{}: SQL error in '{}': {}", path, excerpt(sql_), sqlite3_errmsg(db_.db_));
}

void Stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

int Stmt::columns() const { return sqlite3_column_count(s_); }
std::string Stmt::name(int c) const { return sqlite3_column_name(s_, c); }
bool Stmt::is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
int64_t Stmt::i64(int c) const { return sqlite3_column_int64(s_, c); }
double Stmt::f64(int c) const { return sqlite3_column_double(s_, c); }
std::string Stmt::text(int c) const {
  const auto* p = sqlite3_column_text(s_, c);
  return p ? reinterpret_cast<const char*>(p) : "";
}
std::optional<double> Stmt::opt_f64(int c) const {
  if (is_null(c)) return std::nullopt;
  return f64(c);
}
std::optional<int64_t> Stmt::opt_i64(int c) const {
  if (is_null(c)) return std::nullopt;
  return i64(c);
}

}  // namespace supra
