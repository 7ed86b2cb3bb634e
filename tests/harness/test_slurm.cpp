// The scale-out path through a real Slurm: scripts/slurm-local.sh starts a single-node cluster (slurm-wlm + munge,
// as root, no systemd), `submit --slurm` sends a small sweep as a job array plus an afterany merge job, one array
// task is scancelled mid-unit, `submit --resubmit-failed` reruns only it, and the merged store equals a one-process
// sweep bit for bit. Tagged [once] (ctest label `once`): scripts/test.sh runs it in its first pass only.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <catch2/catch.hpp>

#include "harness/work_plan.h"
#include "scaleout_util.h"
#include "store_query.h"
#include "cli_util.h"

namespace fs = std::filesystem;
using namespace supra::test;

namespace {

// Runs a shell command line; its exit status, and its stdout and stderr in `out`.
int shell(const std::string& cmd, std::string& out) {
  out.clear();
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int rc = pclose(p);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

// The cluster of this test: its own state folder and ports, stopped (exactly its daemons) however the test ends.
struct LocalSlurm {
  std::string env;
  bool up = false;
  std::string why;
  explicit LocalSlurm(const fs::path& dir) {
    // Two stand-in GPUs (gres.conf over /dev/null links): Slurm hands each array task one as CUDA_VISIBLE_DEVICES.
    env = fmt::format("SUPRA_SLURM_DIR='{}' SUPRA_SLURM_PORT={} SUPRA_SLURM_GPUS=2 ", dir.string(),
                      20000 + (getpid() % 4000) * 2);
    const int rc = shell(env + "bash " SUPRA_SOURCE_DIR "/scripts/slurm-local.sh start", why);
    up = rc == 0;
    if (rc != 0 && rc != 3) FAIL("slurm-local.sh start failed (exit " << rc << "): " << why);
    if (up) setenv("SLURM_CONF", (dir / "slurm.conf").c_str(), 1);
  }
  ~LocalSlurm() {
    std::string out;
    if (up) shell(env + "bash " SUPRA_SOURCE_DIR "/scripts/slurm-local.sh stop", out);
  }
};

// Waits until none of the jobs is in the queue (at most ~5 minutes).
bool wait_jobs_gone(const std::vector<std::string>& jobs) {
  std::string out;
  for (int i = 0; i < 1500; i++) {
    bool any = false;
    for (const std::string& j : jobs) {
      shell("squeue -h -j " + j, out);
      any = any || out.find_first_not_of(" \n") != std::string::npos && out.find("Invalid job id") == std::string::npos;
    }
    if (!any) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

std::pair<std::string, std::string> submitted_jobs(const std::string& out) {
  std::smatch m;
  const std::regex re("as array job ([0-9]+) .*merge job ([0-9]+)");
  REQUIRE(std::regex_search(out, m, re));
  return {m[1], m[2]};
}

}  // namespace

TEST_CASE("slurm: a sweep as a job array, one task scancelled mid-unit and resubmitted, merges to a one-process sweep",
          "[once][slurm]") {
  const fs::path root = fresh_temp("slurm", "case");
  fs::remove_all(root);
  fs::create_directories(root);
  LocalSlurm slurm(root / "cluster");
  if (!slurm.up) {
    std::printf("SKIPPED: no Slurm cluster could be started here: %s\n", slurm.why.c_str());
    return;
  }
  const fs::path dir = root / "plan", merged = root / "merged.sqlite", ref = root / "ref.sqlite";
  const std::vector<std::string> flags = {"--models", kSoftmaxModel + "," + kSupraModel, "--tasks", "arc_easy,copa",
                                          "--ctx", "128,256", "--limit", "60", "--batch", "2", "--threads", "1"};
  std::vector<std::string> plan_args = {"plan", "--out", dir.string(), "--units", "12", "--db", merged.string()};
  plan_args.insert(plan_args.end(), flags.begin(), flags.end());
  std::string out;
  REQUIRE(run_cli(plan_args, out, (root / "plan.log").string()) == 0);
  const supra::Plan plan = supra::read_plan(dir.string());
  REQUIRE(plan.units.size() >= 8);

  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(run_cli({"submit", "--plan", dir.string(), "--slurm", "--max-parallel", "2", "--threads", "1",
                   "--gpus-per-task", "1"},
                  out, (root / "submit.log").string()) == 0);
  INFO(out);
  const auto [array, merge] = submitted_jobs(out);

  // scancel the first array task caught mid-unit (some documents stored, not all); a unit that finishes before the
  // scancel lands is left alone and the next one is tried.
  int64_t killed = -1;
  for (int i = 0; i < 30000 && killed < 0; i++) {
    for (int64_t k = 0; k < int64_t(plan.units.size()) && killed < 0; k++) {
      const fs::path shard = supra::shard_file(dir.string(), k);
      const int64_t docs = shard_docs(shard);
      int64_t unit_docs = 0;
      for (const supra::PlanPiece& p : plan.units[size_t(k)].pieces) unit_docs += p.doc_hi - p.doc_lo;
      if (shard_unit_status(shard) != "running" || docs < 1 || docs >= unit_docs) continue;
      shell(fmt::format("scancel {}_{}", array, k), out);
      for (int w = 0; w < 500 && shard_unit_status(shard) == "running"; w++) {
        std::string st;
        run_cli({"status", "--plan", dir.string()}, st, (root / "status.log").string());
        if (st.find(fmt::format("| {} | failed |", k)) != std::string::npos) {
          killed = k;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (killed < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(killed >= 0);
  REQUIRE(wait_jobs_gone({array, merge}));

  // The merge job ran after the array (afterany) and refused: one unit is not finished.
  bool merge_refused = false;
  for (const auto& e : fs::directory_iterator(dir / "logs"))
    if (e.path().filename().string().rfind("merge.job-", 0) == 0) {
      std::ifstream in(e.path());
      const std::string log((std::istreambuf_iterator<char>(in)), {});
      INFO(log);
      merge_refused = log.find(fmt::format("unit {}: running in", killed)) != std::string::npos;
    }
  CHECK(merge_refused);
  CHECK_FALSE(fs::exists(merged));
  REQUIRE(run_cli({"status", "--plan", dir.string()}, out, (root / "status.log").string()) == 0);
  CHECK_THAT(out, Catch::Contains(fmt::format("{} done, 0 running, 1 failed, 0 pending", plan.units.size() - 1)));

  REQUIRE(run_cli({"submit", "--plan", dir.string(), "--slurm", "--resubmit-failed", "--threads", "1",
                   "--gpus-per-task", "1"},
                  out, (root / "resubmit.log").string()) == 0);
  CHECK_THAT(out, Catch::Contains(fmt::format(": 1 units as array job")) &&
                      Catch::Contains(fmt::format("(units {})", killed)));
  const auto [array2, merge2] = submitted_jobs(out);
  REQUIRE(wait_jobs_gone({array2, merge2}));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("slurm: %zu units, 1 retried after scancel, submit to merged in %.1f s (not asserted)\n",
              plan.units.size(), seconds);

  REQUIRE(run_cli({"status", "--plan", dir.string()}, out, (root / "status.log").string()) == 0);
  CHECK_THAT(out, Catch::Contains(fmt::format("{} done, 0 running", plan.units.size())));
  CHECK(query_int(supra::shard_file(dir.string(), killed), "SELECT attempts FROM work_units") == 2);
  // Each unit records its Slurm job (array_task) and the GPU Slurm gave it.
  for (int64_t k = 0; k < int64_t(plan.units.size()); k++) {
    const fs::path shard = supra::shard_file(dir.string(), k);
    INFO("unit " << k);
    CHECK(query_int(shard, "SELECT count(*) FROM work_units WHERE gpu IN ('0', '1')") == 1);
    CHECK(query_int(shard, fmt::format("SELECT count(*) FROM work_units WHERE job_id = '{}_{}'",
                                       k == killed ? array2 : array, k)) == 1);
  }
  REQUIRE(fs::exists(merged));
  std::vector<std::string> ref_args = {"sweep", "--db", ref.string()};
  ref_args.insert(ref_args.end(), flags.begin(), flags.end());
  REQUIRE(run_cli(ref_args, out, (root / "ref.log").string()) == 0);
  CHECK(results_dump(merged) == results_dump(ref));
}
