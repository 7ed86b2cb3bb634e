// A run killed (SIGKILL) part-way and started again with the same arguments finishes only what is missing, and
// ends with the same samples and metrics as a run that was never interrupted. Bad input exits non-zero with a clear
// message and leaves the store intact.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra::test;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const std::string& name) { return fresh_temp("resume", name); }

std::vector<std::string> metrics_of(const fs::path& db) {
  std::vector<std::string> out;
  supra::Db h = supra::Db::open_read_only(db.string());
  supra::Stmt st(h, "SELECT metric, printf('%.12f', value), printf('%.12f', stderr), n FROM metrics ORDER BY metric");
  while (st.step())
    out.push_back(st.text(0) + "=" + st.text(1) + "+-" + st.text(2) + " n=" + std::to_string(st.i64(3)));
  return out;
}

const std::string kModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";

std::vector<std::string> run_args(const fs::path& db) {
  return {"run", "--model", kModel, "--tasks", "arc_easy", "--ctx", "256", "--limit", "300", "--batch", "3",
          "--threads", "1", "--db", db.string()};
}

}  // namespace

TEST_CASE("a run killed part-way resumes to the same result as an uninterrupted one", "[resume]") {
  const fs::path whole = tmp("whole.sqlite"), killed = tmp("killed.sqlite");
  std::string out;
  REQUIRE(run_cli(run_args(whole), out, tmp("whole.log").string()) == 0);
  const int64_t docs = query_int(whole, "SELECT count(DISTINCT doc) FROM doc_metrics");
  REQUIRE(docs == 300);

  // Start, wait until some batches are committed, then SIGKILL it in the middle of its work.
  const pid_t pid = spawn_cli(run_args(killed), tmp("killed.log").string());
  int64_t seen = 0;
  for (int i = 0; i < 3000 && seen < 30; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen = query_int(killed, "SELECT count(DISTINCT doc) FROM doc_metrics");
  }
  kill(pid, SIGKILL);
  wait_exit(pid);
  const int64_t partial = query_int(killed, "SELECT count(DISTINCT doc) FROM doc_metrics");
  INFO("documents committed before the kill: " << partial);
  REQUIRE(partial > 0);
  REQUIRE(partial < 300);
  // The kill leaves a sound file: every page and index intact (stores are also quick-checked whenever opened).
  CHECK(query_int(killed, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1);
  CHECK(query_int(killed, "SELECT count(*) FROM runs WHERE status = 'finished'") == 0);

  REQUIRE(run_cli(run_args(killed), out, tmp("resumed.log").string()) == 0);
  CHECK(out.find("(" + std::to_string(300 - partial) + " new") != std::string::npos);
  CHECK(query_int(killed, "SELECT count(*) FROM samples") == query_int(whole, "SELECT count(*) FROM samples"));
  CHECK(query_int(killed, "SELECT count(*) FROM (SELECT doc, request FROM samples GROUP BY doc, request)") ==
        query_int(whole, "SELECT count(*) FROM samples"));
  CHECK(query_int(killed, "SELECT count(*) FROM runs") == 1);
  CHECK(metrics_of(killed) == metrics_of(whole));
  CHECK_FALSE(metrics_of(whole).empty());
}

TEST_CASE("bad input gives a clear error, a non-zero exit, and leaves the store intact", "[resume][errors]") {
  const fs::path db = tmp("errors.sqlite");
  std::string out;
  auto args = run_args(db);
  args[8] = "5";  // --limit 5
  REQUIRE(run_cli(args, out, tmp("ok.log").string()) == 0);
  const int64_t samples = query_int(db, "SELECT count(*) FROM samples");
  REQUIRE(samples > 0);

  SECTION("unknown task") {
    auto a = args;
    a[4] = "arc_easy,no_such_task";
    CHECK(run_cli(a, out, tmp("e1.log").string()) != 0);
    CHECK_THAT(out, Catch::Contains("no_such_task"));
  }
  SECTION("bad --ctx") {
    auto a = args;
    a[6] = "12x";
    CHECK(run_cli(a, out, tmp("e2.log").string()) != 0);
    CHECK_THAT(out, Catch::Contains("--ctx"));
    a[6] = "-5";
    CHECK(run_cli(a, out, tmp("e3.log").string()) != 0);
    CHECK_THAT(out, Catch::Contains("--ctx"));
  }
  SECTION("store from an unknown (newer) schema") {
    exec_sql(db, "UPDATE meta SET value='42' WHERE key='schema_version'");
    CHECK(run_cli(args, out, tmp("e4.log").string()) != 0);
    CHECK_THAT(out, Catch::Contains("newer supra-eval"));
    CHECK(query_int(db, "SELECT value FROM meta WHERE key='schema_version'") == 42);
  }
  SECTION("corrupted dataset file") {
    const fs::path root = tmp("data");
    fs::remove_all(root);
    fs::copy(std::string(SUPRA_SOURCE_DIR) + "/datasets/data", root, fs::copy_options::recursive);
    for (auto& e : fs::recursive_directory_iterator(root / "arc_easy"))
      if (e.is_regular_file() && e.path().extension() == ".jsonl") {
        fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
        std::ofstream(e.path(), std::ios::app) << " ";
      }
    auto a = args;
    a.push_back("--data");
    a.push_back(root.string());
    CHECK(run_cli(a, out, tmp("e5.log").string()) != 0);
    CHECK_THAT(out, Catch::Contains("sha256"));
    fs::remove_all(root);
  }
  CHECK(query_int(db, "SELECT count(*) FROM samples") == samples);
}

TEST_CASE("left truncation is recorded per sample row in the store", "[resume][truncation]") {
  const fs::path db = tmp("trunc.sqlite");
  std::string out;
  const std::vector<std::string> args = {"run", "--model", kModel, "--tasks", "arc_easy", "--ctx", "40",
                                         "--limit", "6", "--threads", "1", "--db", db.string()};
  REQUIRE(run_cli(args, out, tmp("trunc.log").string()) == 0);
  const int64_t rows = query_int(db, "SELECT count(*) FROM samples");
  REQUIRE(rows == 24);  // 6 questions x 4 choices
  // Requests longer than 40 + 1 tokens keep their last 41 tokens; the rest is counted as dropped.
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE n_input > 41") > 0);
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE n_input > 41 AND (n_kept != 41 OR "
                      "n_dropped != n_input - 41)") == 0);
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE n_input <= 41 AND (n_kept != n_input OR "
                      "n_dropped != 0)") == 0);
}
