// How `report` reaches the store: read-only, its views TEMP, never waiting for a writer; an older store (before
// bench_results was a migration step, with the views an older report left in it) read as it is, the same numbers as
// after migrating it; a newer store refused; OUT/views.sql makes the views again in another connection.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/sha256.h"
#include "reports/report.h"
#include "reports/views.h"
#include "store/db.h"
#include "store/store.h"
#include "tests/reports/known_store.h"

using namespace supra;
using namespace supra::reports;
using namespace supra::test;
namespace fs = std::filesystem;

namespace {

// A copy of the known store made to look like what a schema 4 build with `bench --db` and `report` left: bench_results
// without rss_over_baseline_mib, and the views and a reference table that report used to create in the file.
fs::path old_store(const std::string& name) {
  const fs::path p = fresh_db(name);
  {
    Store s(p.string());
    fill_store(s);
    s.add_bench_rows(bench_rows());
  }
  Db db = Db::open(p.string());
  db.exec("ALTER TABLE bench_results DROP COLUMN rss_over_baseline_mib; "
          "UPDATE meta SET value = '4' WHERE key = 'schema_version'; "
          "CREATE TABLE report_ref_models (key TEXT PRIMARY KEY, name TEXT NOT NULL, table1 TEXT, table2 TEXT, "
          "base TEXT, note TEXT); "
          "CREATE VIEW v_runs AS SELECT *, 'stale' AS model_name FROM runs; "
          "CREATE VIEW v_nlu_table AS SELECT 1 AS stale");
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");  // everything in the main file, so its bytes say whether it changed
  return p;
}

// Every object of the file's own schema, with its SQL.
std::string schema_of(const fs::path& p) {
  Db db = Db::open_read_only(p.string());
  Stmt q(db, "SELECT type || ' ' || name || ': ' || coalesce(sql, '') FROM main.sqlite_master ORDER BY name");
  std::string out;
  while (q.step()) out += q.text(0) + "\n";
  return out;
}

ReportSummary report_of(const fs::path& db, const fs::path& out) {
  fs::remove_all(out);
  ReportOptions o;
  o.db_path = db.string();
  o.out_dir = out.string();
  return write_report(o);
}

}  // namespace

TEST_CASE("report writes nothing into the store: its views and reference tables are TEMP", "[reports][store]") {
  const fs::path p = fresh_db("readonly");
  {
    Store s(p.string());
    fill_store(s);
  }
  const std::string before = schema_of(p);
  const ReportSummary sum = report_of(p, temp_path("readonly_out"));
  CHECK(sum.finished_runs > 0);
  CHECK(schema_of(p) == before);
  CHECK(before.find("v_nlu_table") == std::string::npos);
  CHECK(before.find("report_ref_") == std::string::npos);
  // In a connection that made them, they are TEMP; and the connection cannot write the file.
  Db db = open_store_read_only(p.string());
  create_report_views(db);
  CHECK(db.query_int("SELECT count(*) FROM sqlite_temp_master WHERE name = 'v_nlu_table'") == 1);
  CHECK(db.query_int("SELECT count(*) FROM sqlite_temp_master WHERE name = 'report_ref_models'") == 1);
  CHECK_THROWS_WITH(db.exec("DELETE FROM runs"), Catch::Contains(p.string()));
}

TEST_CASE("report does not wait for a writer holding the store's write lock", "[reports][store]") {
  const fs::path p = fresh_db("writer");
  {
    Store s(p.string());
    fill_store(s);
  }
  Db writer = Db::open(p.string());
  writer.exec("BEGIN IMMEDIATE; UPDATE runs SET status = 'running'");  // a sweep in the middle of a batch
  const auto t0 = std::chrono::steady_clock::now();
  const ReportSummary sum = report_of(p, temp_path("writer_out"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(seconds < Db::kBusyTimeoutMs / 1000.0 / 2);  // did not wait for the lock
  CHECK(sum.finished_runs > 0);                      // and read the last committed state, not the open batch
  writer.exec("ROLLBACK");
}

TEST_CASE("report reads a schema 4 store as it is and prints what it prints after the store is migrated",
          "[reports][store]") {
  const fs::path p = old_store("v4");
  const std::string bytes = sha256_file(p.string());
  const ReportSummary old_sum = report_of(p, temp_path("v4_out"));
  // Nothing written: the file, its schema version and its old objects are as they were.
  CHECK(sha256_file(p.string()) == bytes);
  CHECK(Db::open_read_only(p.string()).query_int("SELECT value FROM meta WHERE key = 'schema_version'") == 4);
  CHECK(old_sum.bench_rows == 6);
  // The stale views in the file did not leak into the report.
  const std::string old_nlu = read(temp_path("v4_out") / "tables" / "nlu.csv");
  CHECK(old_nlu.find("stale") == std::string::npos);

  { Store migrate(p.string()); }  // a writer migrates it: the column is added, the old report objects dropped
  CHECK(schema_of(p).find("v_nlu_table") == std::string::npos);
  CHECK(schema_of(p).find("report_ref_models") == std::string::npos);
  CHECK(Db::open_read_only(p.string()).has_column("bench_results", "rss_over_baseline_mib"));
  const ReportSummary new_sum = report_of(p, temp_path("v4_migrated_out"));
  CHECK(new_sum.tables == old_sum.tables);
  CHECK(new_sum.bench_rows == old_sum.bench_rows);
  for (const std::string& f : old_sum.files) {
    if (f == "report.md" || f == "report.html" || f == "views.sql") continue;  // carry the time and the path
    INFO(f);
    CHECK(read(temp_path("v4_out") / f) == read(temp_path("v4_migrated_out") / f));
  }
}

TEST_CASE("report refuses a store of a newer schema, naming both versions", "[reports][store]") {
  const fs::path p = fresh_db("newer");
  { Store s(p.string()); }
  Db::open(p.string()).exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  CHECK_THROWS_WITH(report_of(p, temp_path("newer_out")),
                    Catch::Contains("newer supra-eval (store schema 99, this build knows up to " +
                                    std::to_string(Store::kSchemaVersion) + ")"));
}

TEST_CASE("views.sql makes the report's views in another read-only connection", "[reports][store]") {
  const fs::path& out = known_report();
  const std::string script = read(out / "views.sql");
  CHECK(script.find("CREATE TEMP VIEW v_nlu_table") != std::string::npos);
  CHECK(script.find("CREATE TABLE") == std::string::npos);  // TEMP only
  Db mine = open_store_read_only(known_store().string());
  create_report_views(mine);
  Db other = Db::open_read_only(known_store().string());
  other.exec(script);
  for (const ViewInfo& v : report_views()) {
    INFO(v.name);
    const std::string count = "SELECT count(*) FROM " + v.name;
    CHECK(other.query_int(count) == mine.query_int(count));
  }
  CHECK(other.query_double("SELECT hellaswag FROM v_nlu_table WHERE model = 'Llama-2-7b-hf'") ==
        mine.query_double("SELECT hellaswag FROM v_nlu_table WHERE model = 'Llama-2-7b-hf'"));
}
