// A damaged or read-only results store is refused when it is opened, naming the file: `report` never reads partial
// tables as results, and `run` never evaluates for hours before finding it cannot write.
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "store/store.h"
#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra;
using supra::test::exec_sql;
using supra::test::fresh_temp;
using supra::test::run_cli;
namespace fs = std::filesystem;
using Catch::Contains;

namespace {

// A store with enough rows to span many pages, written and closed (its WAL folded back into the file).
fs::path filled_store(const std::string& name) {
  const fs::path p = fresh_temp("store_damage", name);
  { Store s(p.string()); }
  exec_sql(p, "CREATE TABLE filler(id INTEGER PRIMARY KEY, text TEXT); CREATE INDEX filler_text ON filler(text);"
              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
              "INSERT INTO filler SELECT i, printf('row %d %s', i, hex(randomblob(40))) FROM n");
  { Db db = Db::open(p.string()); db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); }
  return p;
}

// Overwrites pages in the middle of the file (page size 4096) with garbage, as a torn disk write would.
void damage_middle_pages(const fs::path& p) {
  const auto size = fs::file_size(p);
  REQUIRE(size > 20 * 4096);
  std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
  const std::string junk(4 * 4096, '\xAB');
  f.seekp(std::streamoff(size / 2 / 4096 * 4096));
  f.write(junk.data(), std::streamsize(junk.size()));
}

}  // namespace

TEST_CASE("a store whose middle pages are damaged is refused by readers and writers", "[store][damage]") {
  const fs::path p = filled_store("damaged.sqlite");
  CHECK_NOTHROW(Db::open_read_only(p.string()));  // intact first
  damage_middle_pages(p);
  CHECK_THROWS_WITH(Db::open_read_only(p.string()),
                    Contains(p.string()) && Contains("damaged") && Contains("quick_check") && Contains(".recover"));
  CHECK_THROWS_WITH(Store(p.string()), Contains("damaged"));
  CHECK_THROWS_WITH(open_store_read_only(p.string()), Contains("damaged"));
  // report: a non-zero exit naming the store (before: exit 0 on partial tables).
  std::string out;
  const fs::path dir = fresh_temp("store_damage", "report_out");
  const int rc = run_cli({"report", "--db", p.string(), "--out", dir.string()}, out,
                         fresh_temp("store_damage", "report.log").string());
  CHECK(rc != 0);
  CHECK_THAT(out, Contains("damaged"));
}

TEST_CASE("a writer refuses a store it may not write, at open", "[store][damage]") {
  if (::geteuid() == 0) {
    std::cout << "SKIPPED: running as root, which may write a read-only file\n";
    return;
  }
  const fs::path p = fresh_temp("store_damage", "readonly.sqlite");
  { Store s(p.string()); }
  fs::permissions(p, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  CHECK_THROWS_WITH(Store(p.string()), Contains(p.string()) && Contains("read-only"));
  CHECK_NOTHROW(open_store_read_only(p.string()));  // report still reads it
  fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
}
