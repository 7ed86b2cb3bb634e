#pragma once
// A small sqlite3 helper for the reports: statements that finalise themselves, typed columns that keep NULL
// apart from zero (a missing value must never print as 0).
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace supra::reports {

void sql_exec(sqlite3* db, const std::string& sql);

class Query {
 public:
  Query(sqlite3* db, const std::string& sql);
  ~Query();
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int i, int64_t v);
  Query& bind(int i, double v);
  Query& bind(int i, const std::string& v);
  Query& bind_null(int i);
  bool step();  // true: a row is ready
  void reset();

  int columns() const;
  std::string name(int c) const;
  bool is_null(int c) const;
  int64_t i64(int c) const;
  double f64(int c) const;
  std::string text(int c) const;
  std::optional<double> opt_f64(int c) const;
  std::optional<int64_t> opt_i64(int c) const;

 private:
  sqlite3* db_;
  std::string sql_;
  sqlite3_stmt* s_ = nullptr;
};

// True when the database has a table or view of this name.
bool has_object(sqlite3* db, const std::string& name);

}  // namespace supra::reports
