#pragma once
// Reading single values from a results store in tests, and changing one by hand (making it look older, planting a
// lease), through store/'s Db: reads open it read-only (never waiting for a writer), writes as the store does.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "store/db.h"

namespace supra::test {

// The first column of the first row of `sql` (0 for NULL), or -1 when the store cannot be opened, the query fails
// or it yields no row.
inline int64_t query_int(const std::filesystem::path& db, const std::string& sql) {
  try {
    Db h = Db::open_read_only(db.string());
    Stmt st(h, sql);
    return st.step() ? st.i64(0) : -1;
  } catch (const Error&) {
    return -1;
  }
}

// The same for a real value (NaN when there is no row).
inline double query_double(const std::filesystem::path& db, const std::string& sql) {
  try {
    Db h = Db::open_read_only(db.string());
    Stmt st(h, sql);
    return st.step() ? st.f64(0) : std::nan("");
  } catch (const Error&) {
    return std::nan("");
  }
}

// Runs statements on the store (a test's own changes to it); a failure fails the test with the store's message.
inline void exec_sql(const std::filesystem::path& db, const std::string& sql) {
  std::string err;
  try {
    Db::open(db.string()).exec(sql);
  } catch (const Error& e) {
    err = e.what();
  }
  INFO(err);
  REQUIRE(err.empty());
}

}  // namespace supra::test
