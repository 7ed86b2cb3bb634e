#pragma once
// Reading single values from a results store in tests (read-only, waits for a writer's lock).
#include <sqlite3.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

namespace supra::test {

// The first column of the first row of `sql`, or -1 when the store cannot be opened or the query yields no row.
inline int64_t query_int(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(h);
    return -1;
  }
  sqlite3_busy_timeout(h, 2000);
  sqlite3_stmt* st = nullptr;
  int64_t v = -1;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

// The same for a real value (NaN when there is no row).
inline double query_double(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* h = nullptr;
  double v = std::nan("");
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(h, 2000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return v;
}

}  // namespace supra::test
