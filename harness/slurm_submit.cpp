#include "harness/slurm_submit.h"

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/error.h"
#include "harness/unit_status.h"

namespace supra {

namespace fs = std::filesystem;

namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs a shell command line; its stdout, or an error naming the command and what it printed.
std::string run_capture(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) fail("cannot run: {}", cmd);
  std::string out;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  if (status != 0)
    fail("`{}` failed (exit status {}): {}", cmd, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
         out);
  return out;
}

// A job id from `sbatch --parsable` ("123" or "123;cluster").
std::string job_id_of(const std::string& out, const std::string& cmd) {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  last = last.substr(0, last.find(';'));
  if (last.empty() || last.find_first_not_of("0123456789") != std::string::npos)
    fail("`{}` printed no job id: {}", cmd, out);
  return last;
}

// The array tasks of earlier submissions still in the queue (pending or running), from squeue (which works without
// accounting). Ids of array jobs we submitted are in slurm/jobs.txt.
std::set<int64_t> queued_units(const std::string& plan_dir, const SlurmOptions& o) {
  std::set<int64_t> out;
  std::ifstream in(fs::path(plan_dir) / "slurm" / "jobs.txt");
  std::string job;
  while (in >> job) {
    std::string listed;
    try {
      listed = run_capture(o.squeue + " -h -r -j " + job + " -o %K");
    } catch (const Error&) {
      continue;  // squeue refuses a job id it no longer knows: nothing of it is queued
    }
    std::istringstream ls(listed);
    std::string idx;
    while (ls >> idx)
      if (idx.find_first_not_of("0123456789") == std::string::npos) out.insert(std::stoll(idx));
  }
  return out;
}

}  // namespace

std::optional<std::set<std::string>> slurm_live_jobs(const std::string& squeue) {
  std::string listed;
  try {
    listed = run_capture(squeue + " -h -r -o %i");
  } catch (const Error&) {
    return std::nullopt;
  }
  std::set<std::string> out;
  std::istringstream in(listed);
  std::string id;
  while (in >> id) out.insert(id);
  return out;
}

namespace {

std::string sbatch_options(const SlurmOptions& o) {
  // One worker process per job: a task count Slurm also needs to honour --gpus-per-task.
  std::string s = " --ntasks=1";
  if (!o.partition.empty()) s += " --partition=" + shell_quote(o.partition);
  if (!o.account.empty()) s += " --account=" + shell_quote(o.account);
  if (!o.time.empty()) s += " --time=" + shell_quote(o.time);
  if (!o.gpus_per_task.empty()) s += " --gpus-per-task=" + shell_quote(o.gpus_per_task);
  if (o.cpus_per_task > 0) s += fmt::format(" --cpus-per-task={}", o.cpus_per_task);
  if (!o.extra.empty()) s += " " + o.extra;  // verbatim: the user's own sbatch arguments
  return s;
}

void write_script(const std::string& path, const std::string& body) {
  std::ofstream out(path);
  out << "#!/bin/bash\n" << body;
  if (!out) fail("{}: cannot write the job script", path);
  out.close();
  fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec, fs::perm_options::add);
}

}  // namespace

std::string array_ranges(const std::vector<int64_t>& units) {
  std::string out;
  for (size_t i = 0; i < units.size();) {
    size_t j = i;
    while (j + 1 < units.size() && units[j + 1] == units[j] + 1) j++;
    out += (out.empty() ? "" : ",") +
           (j == i ? std::to_string(units[i]) : fmt::format("{}-{}", units[i], units[j]));
    i = j + 1;
  }
  return out;
}

Submission submit_slurm(const Plan& plan, const std::string& plan_dir_in, const SlurmOptions& o) {
  const std::string plan_dir = fs::absolute(plan_dir_in).string();
  const std::string into = plan.settings.db.empty() ? (fs::path(plan_dir) / "results.sqlite").string()
                                                    : fs::absolute(plan.settings.db).string();
  Submission sub;
  if (o.resubmit_failed) {
    const std::set<int64_t> queued = o.dry_run ? std::set<int64_t>{} : queued_units(plan_dir, o);
    const auto live = o.dry_run ? std::nullopt : slurm_live_jobs(o.squeue);
    for (const UnitStatus& s : plan_status(plan, plan_dir, live ? &*live : nullptr))
      if ((s.state == UnitState::Failed || s.state == UnitState::Pending) && !queued.count(s.unit))
        sub.units.push_back(s.unit);
  } else {
    for (int64_t k = 0; k < int64_t(plan.units.size()); k++) sub.units.push_back(k);
  }
  if (sub.units.empty()) return sub;

  const fs::path sdir = fs::path(plan_dir) / "slurm";
  fs::create_directories(sdir);
  fs::create_directories(fs::path(plan_dir) / "logs");
  const std::string work = (sdir / "work.sh").string(), merge = (sdir / "merge.sh").string();
  write_script(work, fmt::format("# One unit of plan {} per array task (supra-eval submit).\nexec {} work --plan {} "
                                 "--unit \"$SLURM_ARRAY_TASK_ID\" --threads {} --quiet\n",
                                 plan.id, shell_quote(o.supra_bin), shell_quote(plan_dir), o.threads));
  write_script(merge, fmt::format("# Merges every unit of plan {} once the array has ended (supra-eval submit).\n"
                                  "exec {} merge --plan {} --into {}\n",
                                  plan.id, shell_quote(o.supra_bin), shell_quote(plan_dir), shell_quote(into)));
  const std::string opts = sbatch_options(o);
  const std::string array = array_ranges(sub.units) + (o.max_parallel > 0 ? fmt::format("%{}", o.max_parallel) : "");
  const std::string log_dir = (fs::path(plan_dir) / "logs").string();
  const std::string array_cmd =
      fmt::format("{} --parsable --job-name={} --array={} --output={} --chdir={}{} {}", o.sbatch,
                  shell_quote("supra-" + plan.id), array, shell_quote(log_dir + "/unit-%a.job-%A.out"),
                  shell_quote(plan_dir), opts, shell_quote(work));
  sub.commands.push_back(array_cmd);
  if (o.dry_run) {
    sub.commands.push_back(fmt::format("{} --parsable --dependency=afterany:<array job> ... {}", o.sbatch,
                                       shell_quote(merge)));
    return sub;
  }
  sub.array_job = job_id_of(run_capture(array_cmd), array_cmd);
  {
    std::ofstream jobs(sdir / "jobs.txt", std::ios::app);
    jobs << sub.array_job << "\n";
  }
  // The merge job takes no GPU and keeps the site's defaults for the rest, but the user's partition/account/extra.
  SlurmOptions mo = o;
  mo.gpus_per_task.clear();
  mo.cpus_per_task = 0;
  const std::string merge_cmd =
      fmt::format("{} --parsable --job-name={} --dependency=afterany:{} --output={} --chdir={}{} {}", o.sbatch,
                  shell_quote("supra-merge-" + plan.id), sub.array_job, shell_quote(log_dir + "/merge.job-%j.out"),
                  shell_quote(plan_dir), sbatch_options(mo), shell_quote(merge));
  sub.commands.push_back(merge_cmd);
  sub.merge_job = job_id_of(run_capture(merge_cmd), merge_cmd);
  std::ofstream log(sdir / "submissions.log", std::ios::app);
  for (const std::string& c : sub.commands) log << c << "\n";
  return sub;
}

}  // namespace supra
