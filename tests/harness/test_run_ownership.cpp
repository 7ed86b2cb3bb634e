// One writer per run key (issue 11, item 4): two real CLI processes on one store and run key. The second `run`
// refuses up front naming the first (host, pid, since when) and what to do; a dead writer's lease is taken over and
// the run resumes; a lease on another host is judged by its heartbeat; two sweeps side by side share the cells.
// No output ever carries a raw SQLite message, and the store never holds a duplicated sample.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "store/store.h"
#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra::test;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const std::string& name) { return fresh_temp("ownership", name); }

const std::string kModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";

// Long enough (a few seconds) that a second process started after the first batches still finds the first running.
std::vector<std::string> long_run(const fs::path& db) {
  return {"run", "--model", kModel, "--tasks", "arc_easy", "--ctx", "256", "--limit", "600", "--batch", "3",
          "--threads", "1", "--db", db.string()};
}

std::vector<std::string> short_run(const fs::path& db) {
  return {"run", "--model", kModel, "--tasks", "arc_easy", "--ctx", "256", "--limit", "12", "--batch", "3",
          "--threads", "1", "--db", db.string()};
}

// (Paths from tmp() are taken once: calling it again removes the file.)
std::string read_log(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string s;
  std::getline(in, s);
  return s;
}

std::string utc(std::time_t t) {
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Waits until the store holds at least `n` finished documents (the writer has its lease and is computing).
int64_t wait_docs(const fs::path& db, int64_t n) {
  int64_t seen = -1;
  for (int i = 0; i < 6000 && seen < n; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen = query_int(db, "SELECT count(DISTINCT doc) FROM doc_metrics");
  }
  return seen;
}

// What a user must never see: SQLite's own words.
void check_no_raw_sql(const std::string& out) {
  INFO(out);
  CHECK(out.find("SQL") == std::string::npos);
  CHECK(out.find("constraint") == std::string::npos);
  CHECK(out.find("UNIQUE") == std::string::npos);
  CHECK(out.find("database is locked") == std::string::npos);
}

// The store is whole: no duplicated sample, no lease left, integrity intact.
void check_store(const fs::path& db, int64_t runs, int64_t docs_per_run) {
  CHECK(query_int(db, "SELECT count(*) FROM runs") == runs);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE status = 'finished'") == runs);
  CHECK(query_int(db, "SELECT count(*) FROM (SELECT DISTINCT run_id, doc FROM doc_metrics)") == runs * docs_per_run);
  CHECK(query_int(db, "SELECT count(*) FROM (SELECT run_id, doc, request, count(*) c FROM samples "
                      "GROUP BY run_id, doc, request HAVING c > 1)") == 0);
  CHECK(query_int(db, "SELECT count(*) FROM run_leases") == 0);
  CHECK(query_int(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1);
}

// A finished 12-document run made to look interrupted after 6 documents, ready for a lease to be planted on it.
void interrupted_run(const fs::path& db) {
  std::string out;
  REQUIRE(run_cli(short_run(db), out, tmp("prep.log").string()) == 0);
  exec_sql(db, "DELETE FROM samples WHERE doc >= 6; DELETE FROM doc_metrics WHERE doc >= 6; "
               "DELETE FROM run_docs WHERE doc >= 6; DELETE FROM metrics; "
               "UPDATE runs SET status = 'running', finished_at = NULL");
}

void plant_lease(const fs::path& db, const std::string& host, int64_t pid, const std::string& proc_start,
                 const std::string& heartbeat) {
  exec_sql(db, "INSERT INTO run_leases(run_id, doc_lo, doc_hi, host, pid, proc_start, started_at, heartbeat_at) "
               "VALUES (1, 0, 12, '" + host + "', " + std::to_string(pid) + ", '" + proc_start + "', '" +
                   utc(std::time(nullptr) - 7200) + "', '" + heartbeat + "')");
}

// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  wait_exit(pid);
  return pid;
}

}  // namespace

TEST_CASE("a second run on a run key being written refuses, naming the writer, and a killed writer's run resumes",
          "[ownership]") {
  const fs::path db = tmp("busy.sqlite");
  const pid_t first = spawn_cli(long_run(db), tmp("first.log").string());
  REQUIRE(wait_docs(db, 6) >= 6);

  std::string out;
  const int rc = run_cli(long_run(db), out, tmp("second.log").string());
  const bool first_still_running = waitpid(first, nullptr, WNOHANG) == 0;
  REQUIRE(first_still_running);  // else the machine outran the test's assumption: nothing below would be checked
  INFO(out);
  CHECK(rc != 0);
  CHECK_THAT(out, Catch::Contains("run arc_easy softmax ctx 256 (model " + kModel + ", limit 600) is being written by "
                                  "pid " + std::to_string(first) + " on host " + hostname() + " since "));
  CHECK_THAT(out, Catch::Contains("(last progress "));
  CHECK_THAT(out, Catch::Contains("of 600 documents are stored"));
  CHECK_THAT(out, Catch::Contains("Wait for it to finish"));
  CHECK_THAT(out, Catch::Contains("kill " + std::to_string(first)));
  check_no_raw_sql(out);

  // Killed (no chance to release its lease): the next run on this host sees the pid gone and resumes.
  kill(first, SIGKILL);
  wait_exit(first);
  const int64_t partial = query_int(db, "SELECT count(DISTINCT doc) FROM doc_metrics");
  REQUIRE(partial > 0);
  REQUIRE(partial < 600);
  CHECK(query_int(db, "SELECT pid FROM run_leases") == first);
  REQUIRE(run_cli(long_run(db), out, tmp("third.log").string()) == 0);
  CHECK_THAT(out, Catch::Contains("was left unfinished by pid " + std::to_string(first)));
  CHECK_THAT(out, Catch::Contains("which is no longer running; resuming it"));
  CHECK_THAT(out, Catch::Contains("(" + std::to_string(600 - partial) + " new"));
  check_no_raw_sql(out);
  check_store(db, 1, 600);
}

TEST_CASE("a lease left by a dead process on this host is taken over and the run resumes", "[ownership]") {
  const fs::path db = tmp("stale.sqlite");
  interrupted_run(db);
  std::string out;

  SECTION("a pid that no longer exists") {
    const pid_t dead = dead_pid();
    plant_lease(db, hostname(), dead, "", utc(std::time(nullptr)));
    REQUIRE(run_cli(short_run(db), out, tmp("dead.log").string()) == 0);
    CHECK_THAT(out, Catch::Contains("was left unfinished by pid " + std::to_string(dead) + " on host " + hostname()));
  }
  SECTION("a pid reused by another process (its start time differs)") {
    // This test process is alive, but not the process that took the lease.
    plant_lease(db, hostname(), int64_t(getpid()), boot_id() + "/1", utc(std::time(nullptr)));
    REQUIRE(run_cli(short_run(db), out, tmp("reused.log").string()) == 0);
    CHECK_THAT(out, Catch::Contains("was left unfinished by pid " + std::to_string(getpid())));
  }
  SECTION("a lease from before this host's last boot") {
    plant_lease(db, hostname(), int64_t(getpid()), "00000000-0000-0000-0000-000000000000/1",
                utc(std::time(nullptr)));
    REQUIRE(run_cli(short_run(db), out, tmp("reboot.log").string()) == 0);
    CHECK_THAT(out, Catch::Contains("was left unfinished by pid"));
  }
  INFO(out);
  CHECK_THAT(out, Catch::Contains("which is no longer running; resuming it"));
  CHECK_THAT(out, Catch::Contains("(6 new"));
  check_no_raw_sql(out);
  check_store(db, 1, 12);
}

TEST_CASE("a lease held on another host is live until it lapses, and --take-over resumes it at once", "[ownership]") {
  const fs::path db = tmp("foreign.sqlite");
  interrupted_run(db);
  std::string out;

  SECTION("recent progress: refused, with the lapse time and --take-over named; then taken over") {
    plant_lease(db, "other-host.example", 4242, "", utc(std::time(nullptr) - 60));
    CHECK(run_cli(short_run(db), out, tmp("refused.log").string()) != 0);
    INFO(out);
    CHECK_THAT(out, Catch::Contains("is being written by pid 4242 on host other-host.example since"));
    CHECK_THAT(out, Catch::Contains("6 of 12 documents are stored"));
    CHECK_THAT(out, Catch::Contains("This host cannot check a process on other-host.example"));
    CHECK_THAT(out, Catch::Contains("its lease lapses at"));
    CHECK_THAT(out, Catch::Contains("--take-over"));
    check_no_raw_sql(out);
    CHECK(query_int(db, "SELECT count(DISTINCT doc) FROM doc_metrics") == 6);  // refused before any work

    auto args = short_run(db);
    args.push_back("--take-over");
    REQUIRE(run_cli(args, out, tmp("takeover.log").string()) == 0);
    CHECK_THAT(out, Catch::Contains("taking run arc_easy softmax ctx 256"));
    CHECK_THAT(out, Catch::Contains("over from pid 4242 on host other-host.example"));
  }
  SECTION("no progress for longer than the lapse: taken over without asking") {
    plant_lease(db, "other-host.example", 4242, "", utc(std::time(nullptr) - 3 * 3600));
    REQUIRE(run_cli(short_run(db), out, tmp("lapsed.log").string()) == 0);
    CHECK_THAT(out, Catch::Contains("whose lease lapsed"));
  }
  INFO(out);
  CHECK_THAT(out, Catch::Contains("(6 new"));
  check_no_raw_sql(out);
  check_store(db, 1, 12);
}

TEST_CASE("a writer whose lease was taken over stops before its next batch, writing nothing twice", "[ownership]") {
  const fs::path db = tmp("lost.sqlite");
  const fs::path first_log = tmp("lost_first.log"), second_log = tmp("lost_second.log");
  const pid_t first = spawn_cli(long_run(db), first_log.string());
  REQUIRE(wait_docs(db, 6) >= 6);
  auto args = long_run(db);
  args.push_back("--take-over");
  const pid_t second = spawn_cli(args, second_log.string());
  const int first_rc = wait_exit(first);
  const int second_rc = wait_exit(second);
  const std::string first_out = read_log(first_log), second_out = read_log(second_log);
  INFO("first:\n" << first_out << "\nsecond:\n" << second_out);
  CHECK(second_rc == 0);
  CHECK_THAT(second_out, Catch::Contains("over from pid " + std::to_string(first)));
  CHECK(first_rc != 0);
  CHECK_THAT(first_out, Catch::Contains("was taken over by pid " + std::to_string(second)));
  CHECK_THAT(first_out, Catch::Contains("is not written, and this process stops"));
  check_no_raw_sql(first_out);
  check_no_raw_sql(second_out);
  check_store(db, 1, 600);
}

TEST_CASE("two sweeps side by side share the cells and each ends with every cell in its summary", "[ownership]") {
  const fs::path db = tmp("sweeps.sqlite");
  const std::vector<std::string> args = {"sweep", "--models", kModel, "--tasks", "arc_easy", "--ctx", "256,128",
                                         "--limit", "300", "--batch", "3", "--threads", "1", "--db", db.string()};
  const fs::path first_log = tmp("sweep1.log");
  const pid_t first = spawn_cli(args, first_log.string());
  REQUIRE(wait_docs(db, 3) >= 3);
  std::string second_out;
  const int second_rc = run_cli(args, second_out, tmp("sweep2.log").string());
  const int first_rc = wait_exit(first);
  const std::string first_out = read_log(first_log);
  INFO("first:\n" << first_out << "\nsecond:\n" << second_out);
  CHECK(first_rc == 0);
  CHECK(second_rc == 0);
  // The second found the first's cell busy (skipped it, or waited for it) instead of colliding with it.
  CHECK_THAT(second_out, Catch::Contains("which pid " + std::to_string(first)) ||
                             Catch::Contains("is being written by pid " + std::to_string(first)));
  for (const std::string& out : {first_out, second_out}) {
    CHECK_THAT(out, Catch::Contains("| arc_easy | 256 | acc |"));
    CHECK_THAT(out, Catch::Contains("| arc_easy | 128 | acc |"));
    check_no_raw_sql(out);
  }
  check_store(db, 2, 300);
}

TEST_CASE("a schema 3 store (before leases) is migrated to the current schema and keeps its runs", "[ownership][store]") {
  const fs::path db = tmp("v3.sqlite");
  supra::RunKey k;
  k.model_sha256 = "abc";
  k.mode = "softmax";
  k.task = "piqa";
  k.ctx = 512;
  {
    supra::Store s(db.string());
    s.open_run(k, 3, 512, {}, "rev");
  }
  exec_sql(db, "DROP TABLE run_leases; UPDATE meta SET value = '3' WHERE key = 'schema_version'");
  {
    supra::Store s(db.string());
    CHECK(s.open_run(k, 3, 512, {}, "rev") == 1);
  }
  CHECK(query_int(db, "SELECT value FROM meta WHERE key = 'schema_version'") == supra::Store::kSchemaVersion);
  CHECK(supra::Store::kSchemaVersion == 7);
  CHECK(query_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'run_leases'") == 1);
}

TEST_CASE("the store API refuses a document twice, and a write under another live lease, in plain words",
          "[ownership][store]") {
  const fs::path db = tmp("api.sqlite");
  supra::RunKey k;
  k.model_sha256 = "abc";
  k.mode = "softmax";
  k.task = "piqa";
  k.ctx = 512;
  supra::Store s(db.string());
  const int64_t id = s.open_run(k, 12, 512, {}, "rev");
  supra::DocResult d;
  d.doc = 1;
  d.samples.push_back({0, "loglikelihood", 10, 10, 0, -1.5, true, "", ""});
  d.metrics["acc"] = {1.0, 1.0};
  s.write_docs(id, {d});
  try {
    s.write_docs(id, {d});
    FAIL("a document written twice was accepted");
  } catch (const supra::Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::Contains("document 1 of run 1 is already in the store"));
    CHECK_THAT(msg, Catch::Contains("nothing of this batch was written"));
    check_no_raw_sql(msg);
  }
  plant_lease(db, "other-host.example", 4242, "", utc(std::time(nullptr)));
  d.doc = 2;
  CHECK_THROWS_AS(s.write_docs(id, {d}), supra::RunBusy);
  CHECK_THROWS_WITH(
      s.acquire_lease(id, 0, 12, "piqa softmax ctx 512", false),
      Catch::Contains("run piqa softmax ctx 512 is being written by pid 4242 on host other-host.example"));
  CHECK(s.doc_metrics(id).at("acc").size() == 1);
  // Taken over (as --take-over does), the lease is ours to write under.
  CHECK(s.acquire_lease(id, 0, 12, "piqa softmax ctx 512", true).taken_from->pid == 4242);
  s.write_docs(id, {d});
  CHECK(s.doc_metrics(id).at("acc").size() == 2);
  s.finish_run(id, {});
  CHECK(query_int(db, "SELECT count(*) FROM run_leases") == 0);
}
