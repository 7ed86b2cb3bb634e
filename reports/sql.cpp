#include "reports/sql.h"

#include "core/error.h"

namespace supra::reports {

void sql_exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    fail("{}: SQL error: {} (in: {})", sqlite3_db_filename(db, "main") ? sqlite3_db_filename(db, "main") : "store",
         msg, sql.substr(0, 160));
  }
}

Query::Query(sqlite3* db, const std::string& sql) : db_(db), sql_(sql) {
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK)
    fail("SQL error preparing '{}': {}", sql.substr(0, 160), sqlite3_errmsg(db));
}

Query::~Query() { sqlite3_finalize(s_); }

Query& Query::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Query& Query::bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
Query& Query::bind(int i, const std::string& v) {
  sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Query& Query::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

bool Query::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail("SQL error in '{}': {}", sql_.substr(0, 160), sqlite3_errmsg(db_));
}

void Query::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

int Query::columns() const { return sqlite3_column_count(s_); }
std::string Query::name(int c) const { return sqlite3_column_name(s_, c); }
bool Query::is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
int64_t Query::i64(int c) const { return sqlite3_column_int64(s_, c); }
double Query::f64(int c) const { return sqlite3_column_double(s_, c); }
std::string Query::text(int c) const {
  const auto* p = sqlite3_column_text(s_, c);
  return p ? reinterpret_cast<const char*>(p) : "";
}
std::optional<double> Query::opt_f64(int c) const {
  if (is_null(c)) return std::nullopt;
  return f64(c);
}
std::optional<int64_t> Query::opt_i64(int c) const {
  if (is_null(c)) return std::nullopt;
  return i64(c);
}

bool has_object(sqlite3* db, const std::string& name) {
  Query q(db, "SELECT count(*) FROM sqlite_master WHERE name = ?");
  q.bind(1, name);
  q.step();
  return q.i64(0) > 0;
}

}  // namespace supra::reports
