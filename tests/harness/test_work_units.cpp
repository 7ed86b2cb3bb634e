// Scale-out on one machine: plan, work, merge, status, sweep --workers and submit --dry-run through the real binary,
// with a merged store held to an unsharded sweep bit for bit, and faults (a worker SIGKILLed mid-unit, a corrupt or
// truncated shard, a missing unit).
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <catch2/catch.hpp>

#include "harness/unit_status.h"
#include "harness/work_plan.h"
#include "store/store.h"
#include "scaleout_util.h"
#include "store_query.h"
#include "cli_util.h"

namespace fs = std::filesystem;
using namespace supra::test;

namespace {

fs::path tmp(const std::string& name) {
  const fs::path p = fresh_temp("units", name);
  fs::remove_all(p);
  return p;
}

// The small sweep every test splits: both bundled models, two tasks, two context lengths.
std::vector<std::string> sweep_flags(const std::string& limit, const std::string& batch) {
  return {"--models", kSoftmaxModel + "," + kSupraModel, "--tasks", "arc_easy,copa", "--ctx", "128,256",
          "--limit",  limit,                              "--batch", batch,            "--threads", "1"};
}

std::vector<std::string> with(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

std::string run_ok(const std::vector<std::string>& args, const std::string& log) {
  std::string out;
  const int rc = run_cli(args, out, tmp(log).string());
  INFO(out);
  REQUIRE(rc == 0);
  return out;
}

void run_all_units(const fs::path& dir) {
  const supra::Plan plan = supra::read_plan(dir.string());
  for (size_t k = 0; k < plan.units.size(); k++)
    run_ok({"work", "--plan", dir.string(), "--unit", std::to_string(k), "--threads", "1", "--quiet"}, "work.log");
}

}  // namespace

TEST_CASE("plan: every document of every cell in exactly one unit, ranges on batch boundaries, small cells packed",
          "[units]") {
  const fs::path dir = tmp("plan_split");
  run_ok(with({"plan", "--out", dir.string(), "--units", "12"}, sweep_flags("40", "8")), "plan.log");
  const supra::Plan plan = supra::read_plan(dir.string());
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> ranges;  // cell -> doc ranges
  std::map<std::string, int64_t> n_docs;
  for (const supra::PlanUnit& u : plan.units) {
    CHECK(u.tokens > 0);
    std::set<int64_t> models;
    for (const supra::PlanPiece& p : u.pieces) {
      models.insert(p.model);
      CHECK(p.doc_lo % 8 == 0);
      CHECK(p.tokens > 0);
      const std::string cell = fmt::format("{} {} {}", p.model, p.task, p.ctx);
      ranges[cell].push_back({p.doc_lo, p.doc_hi});
      n_docs[cell] = p.n_docs;
    }
    CHECK(models.size() == 1);  // one model load per unit
  }
  REQUIRE(ranges.size() == 8);
  size_t split_cells = 0;
  for (auto& [cell, rs] : ranges) {
    INFO(cell);
    std::sort(rs.begin(), rs.end());
    int64_t next = 0;
    for (const auto& [lo, hi] : rs) {
      CHECK(lo == next);
      CHECK(hi > lo);
      next = hi;
    }
    CHECK(next == n_docs[cell]);
    CHECK(n_docs[cell] == 40);
    split_cells += rs.size() > 1;
  }
  CHECK(split_cells >= 4);  // ARC's cells cost more than a twelfth of the sweep and are split

  // One unit asked for: each model's cells packed into one unit (a unit never spans two models).
  const fs::path packed = tmp("plan_packed");
  run_ok(with({"plan", "--out", packed.string(), "--units", "1"}, sweep_flags("40", "8")), "plan2.log");
  const supra::Plan p2 = supra::read_plan(packed.string());
  REQUIRE(p2.units.size() == 2);
  CHECK(p2.units[0].pieces.size() == 4);
  CHECK(p2.units[1].pieces.size() == 4);

  // A plan edited by hand is refused.
  std::string text;
  {
    std::ifstream in(supra::plan_file(packed.string()));
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto at = text.find("\"doc_hi\": 40");
  REQUIRE(at != std::string::npos);
  text.replace(at, 12, "\"doc_hi\": 30");
  std::ofstream(supra::plan_file(packed.string())) << text;
  std::string out;
  CHECK(run_cli({"status", "--plan", packed.string()}, out, tmp("status.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains(supra::plan_file(packed.string())) && Catch::Contains("does not match"));
}

TEST_CASE("work units merged equal an unsharded sweep bit for bit, and merging again or a shard twice changes nothing",
          "[units]") {
  const fs::path dir = tmp("plan_merge"), merged = tmp("merged.sqlite"), ref = tmp("ref.sqlite");
  run_ok(with({"plan", "--out", dir.string(), "--units", "12"}, sweep_flags("40", "8")), "plan.log");
  run_all_units(dir);
  const std::string status = run_ok({"status", "--plan", dir.string()}, "status.log");
  CHECK_THAT(status, Catch::Contains("done, 0 running, 0 failed, 0 pending"));
  const std::string m1 = run_ok({"merge", "--into", merged.string(), "--plan", dir.string()}, "merge1.log");
  CHECK_THAT(m1, Catch::Contains("8 cells, 320 new documents"));
  run_ok(with({"sweep", "--db", ref.string()}, sweep_flags("40", "8")), "ref.log");
  const std::string want = results_dump(ref);
  REQUIRE(want.find("metric") != std::string::npos);
  CHECK(results_dump(merged) == want);

  const std::string shard = supra::shard_file(dir.string(), 3);
  const std::string m2 = run_ok({"merge", "--into", merged.string(), "--plan", dir.string(), shard, shard}, "m2.log");
  CHECK_THAT(m2, Catch::Contains("0 new documents"));
  CHECK(results_dump(merged) == want);
  // Merged into the store the unsharded sweep wrote: the same rows, nothing added or changed.
  run_ok({"merge", "--into", ref.string(), "--plan", dir.string()}, "m3.log");
  CHECK(results_dump(ref) == want);
}

TEST_CASE("merge refuses a missing unit, a truncated shard and a corrupt one, naming them, and merges nothing",
          "[units]") {
  const fs::path dir = tmp("plan_refuse"), merged = tmp("refused.sqlite");
  run_ok(with({"plan", "--out", dir.string(), "--units", "4"}, sweep_flags("16", "8")), "plan.log");
  run_all_units(dir);
  const fs::path shard = supra::shard_file(dir.string(), 1);
  const fs::path kept = tmp("kept.sqlite");
  fs::copy_file(shard, kept);

  fs::remove(shard);
  std::string out;
  CHECK(run_cli({"merge", "--into", merged.string(), "--plan", dir.string()}, out, tmp("m.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains("unit 1: no shard holds it"));
  CHECK_FALSE(fs::exists(merged));  // refused before the target was opened

  fs::copy_file(kept, shard);
  fs::resize_file(shard, fs::file_size(shard) / 2);
  CHECK(run_cli({"merge", "--into", merged.string(), "--plan", dir.string()}, out, tmp("m.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains(shard.string() + ": not a readable shard"));

  fs::remove(shard);
  fs::copy_file(kept, shard);
  {
    std::fstream f(shard, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f << "this is no longer an SQLite header, nor anything else";
  }
  CHECK(run_cli({"merge", "--into", merged.string(), "--plan", dir.string()}, out, tmp("m.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains(shard.string() + ": not a readable shard"));
  CHECK_FALSE(fs::exists(merged));
}

TEST_CASE("a worker SIGKILLed mid-unit is run again: no sample lost or doubled, the merge equals an uninterrupted run",
          "[units]") {
  const fs::path dir = tmp("plan_kill"), merged = tmp("killed.sqlite"), ref = tmp("kill_ref.sqlite");
  const std::vector<std::string> flags = {"--models", kSoftmaxModel, "--tasks", "arc_easy", "--ctx", "128",
                                          "--limit",  "300",         "--batch", "2",        "--threads", "1"};
  run_ok(with({"plan", "--out", dir.string(), "--units", "2"}, flags), "plan.log");
  const fs::path shard = supra::shard_file(dir.string(), 0);
  const int64_t unit_docs = supra::read_plan(dir.string()).units.at(0).pieces.at(0).doc_hi;
  const pid_t worker =
      spawn_cli({"work", "--plan", dir.string(), "--unit", "0", "--threads", "1"}, tmp("worker.log").string());
  int64_t seen = 0;
  for (int i = 0; i < 6000 && seen < 4; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    seen = shard_docs(shard);
  }
  kill(worker, SIGKILL);
  wait_exit(worker);
  const int64_t at_kill = shard_docs(shard);
  REQUIRE(at_kill >= 4);
  REQUIRE(at_kill < unit_docs);  // else the unit outran the kill and nothing below tests a resume
  CHECK(shard_unit_status(shard) == "running");  // as the dead worker left it
  const std::string st = run_ok({"status", "--plan", dir.string()}, "status.log");
  CHECK_THAT(st, Catch::Contains("| 0 | failed |") && Catch::Contains("killed or lost"));
  CHECK_THAT(st, Catch::Contains("| 1 | pending |"));

  const std::string again =
      run_ok({"work", "--plan", dir.string(), "--unit", "0", "--threads", "1", "--quiet"}, "again.log");
  CHECK_THAT(again, Catch::Contains(fmt::format("{} new", unit_docs - at_kill)));
  CHECK(query_int(shard, "SELECT attempts FROM work_units") == 2);
  run_ok({"work", "--plan", dir.string(), "--unit", "1", "--threads", "1", "--quiet"}, "unit1.log");
  run_ok({"merge", "--into", merged.string(), "--plan", dir.string()}, "merge.log");
  run_ok(with({"sweep", "--db", ref.string()}, flags), "ref.log");
  CHECK(query_int(merged, "SELECT count(*) FROM (SELECT DISTINCT doc FROM doc_metrics)") == 300);
  CHECK(results_dump(merged) == results_dump(ref));
}

TEST_CASE("sweep --workers 2 writes the store a one-process sweep writes", "[units]") {
  const fs::path db = tmp("workers.sqlite"), ref = tmp("workers_ref.sqlite");
  const std::string out =
      run_ok(with({"sweep", "--workers", "2", "--db", db.string()}, sweep_flags("24", "8")), "w.log");
  CHECK_THAT(out, Catch::Contains("| arc_easy | 256 | acc |"));
  CHECK_THAT(out, Catch::Contains("2 workers"));
  run_ok(with({"sweep", "--db", ref.string()}, sweep_flags("24", "8")), "ref.log");
  CHECK(results_dump(db) == results_dump(ref));
  // Run again: the plan folder is reused, every unit is already done, nothing changes.
  run_ok(with({"sweep", "--workers", "2", "--db", db.string()}, sweep_flags("24", "8")), "w2.log");
  CHECK(results_dump(db) == results_dump(ref));
}

TEST_CASE("submit --dry-run writes a job array and an afterany merge job with only the options given", "[units]") {
  const fs::path dir = tmp("plan_submit");
  run_ok(with({"plan", "--out", dir.string(), "--units", "4"}, sweep_flags("16", "8")), "plan.log");
  const supra::Plan plan = supra::read_plan(dir.string());
  const std::string n = std::to_string(plan.units.size() - 1);
  std::string out = run_ok({"submit", "--plan", dir.string(), "--slurm", "--dry-run"}, "s1.log");
  CHECK_THAT(out, Catch::Contains("--array=0-" + n + " "));
  for (const char* site : {"--partition", "--account", "--time", "--gpus-per-task", "--qos"}) {
    INFO(site);
    CHECK(out.find(site) == std::string::npos);  // nothing site-specific unless asked
  }
  out = run_ok({"submit", "--plan", dir.string(), "--slurm", "--dry-run", "--partition", "gpu", "--account", "lab",
                "--time", "02:00:00", "--gpus-per-task", "1", "--max-parallel", "3", "--extra", "--qos=high"},
               "s2.log");
  CHECK_THAT(out, Catch::Contains("--array=0-" + n + "%3"));
  CHECK_THAT(out, Catch::Contains("--ntasks=1 --partition='gpu' --account='lab' --time='02:00:00' "
                                  "--gpus-per-task='1' --qos=high"));
  CHECK_THAT(out, Catch::Contains("--dependency=afterany:"));
  std::ifstream in(dir / "slurm" / "work.sh");
  const std::string script((std::istreambuf_iterator<char>(in)), {});
  CHECK_THAT(script,
             Catch::Contains("work --plan '" + fs::absolute(dir).string() + "' --unit \"$SLURM_ARRAY_TASK_ID\""));
}

TEST_CASE("a unit held by a live worker is left to it, and one whose Slurm job left the queue reads failed",
          "[units]") {
  const fs::path dir = tmp("plan_held");
  run_ok(with({"plan", "--out", dir.string(), "--units", "2"}, sweep_flags("16", "8")), "plan.log");
  const supra::Plan plan = supra::read_plan(dir.string());
  const fs::path shard = supra::shard_file(dir.string(), 0);
  { supra::Store s(shard.string()); }  // an empty shard of the current schema
  // A live process on this host holds unit 0 (a child that sleeps; no recorded process start: judged by its pid).
  const pid_t holder = fork();
  if (holder == 0) {
    execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  exec_sql(shard, fmt::format("INSERT INTO work_units(plan_id, unit, plan_json, status, host, pid, proc_start, job_id, "
                              "gpu, attempts, started_at, heartbeat_at) VALUES ('{}', 0, '{{}}', 'running', '{}', {}, "
                              "'', '77_0', '3', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                              plan.id, host, holder));
  std::string out;
  CHECK(run_cli({"work", "--plan", dir.string(), "--unit", "0", "--threads", "1"}, out, tmp("w.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains(fmt::format("unit 0 of plan {} is being run by pid {} on host {}", plan.id, holder,
                                              host)) &&
                      Catch::Contains("(job 77_0)"));
  CHECK(shard_docs(shard) == 0);
  const auto running = supra::plan_status(plan, dir.string());
  CHECK(running.at(0).state == supra::UnitState::Running);
  CHECK(running.at(0).record->gpu == "3");
  CHECK(running.at(1).state == supra::UnitState::Pending);
  kill(holder, SIGKILL);
  wait_exit(holder);

  // Held from another host: live by its heartbeat, unless the Slurm queue no longer has its job.
  exec_sql(shard, "UPDATE work_units SET host = 'another-node', heartbeat_at = '" + supra::now_utc() + "'");
  const std::set<std::string> queued = {"77_0"}, gone = {"78_1"};
  CHECK(supra::plan_status(plan, dir.string(), &queued).at(0).state == supra::UnitState::Running);
  const auto lost = supra::plan_status(plan, dir.string(), &gone).at(0);
  CHECK(lost.state == supra::UnitState::Failed);
  CHECK_THAT(lost.why, Catch::Contains("Slurm job 77_0 is no longer queued"));
}

TEST_CASE("a plan carries the CPU compute dtype to its workers, and older plans compute in f32", "[plan]") {
  supra::PlanSettings p;
  p.models = {"m"};
  p.cpu_dtype = "bf16";
  CHECK(supra::PlanSettings::from_json(p.to_json()).cpu_dtype == "bf16");
  nlohmann::json old = p.to_json();
  old.erase("cpu_dtype");
  CHECK(supra::PlanSettings::from_json(old).cpu_dtype == "f32");
}
