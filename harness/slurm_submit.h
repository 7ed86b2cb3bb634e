#pragma once
// `supra-eval submit --slurm`: the units of a plan as one Slurm job array (`--array=...%M`, each task runs
// `supra-eval work --unit $SLURM_ARRAY_TASK_ID`) plus a merge job that waits for the whole array
// (`--dependency=afterany`). Nothing site-specific is built in: partition, account, time, GPUs and any other sbatch
// argument come from the options. The job scripts and the sbatch command lines are kept in the plan's slurm/ folder.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/work_plan.h"

namespace supra {

struct SlurmOptions {
  std::string partition, account, time, gpus_per_task;  // "" = the site's default
  int cpus_per_task = 0;                                 // 0 = the site's default
  int max_parallel = 0;                                  // the array's %M; 0 = no limit
  std::string extra;                                     // more sbatch arguments, as a shell would split them
  int threads = 0;                                       // each worker's --threads (0: every core it is given)
  bool resubmit_failed = false;                          // only units neither done nor running nor queued
  bool dry_run = false;                                  // write the scripts, print the commands, submit nothing
  std::string supra_bin;                                 // this binary (absolute)
  std::string sbatch = "sbatch", squeue = "squeue";
};

struct Submission {
  std::vector<int64_t> units;      // submitted (empty: nothing left to run)
  std::string array_job, merge_job;  // job ids ("" in a dry run)
  std::vector<std::string> commands;  // the sbatch command lines
};

// Every job and array task in the Slurm queue ("123", "124_7"), from squeue (which works without accounting);
// nullopt when squeue cannot be run here.
std::optional<std::set<std::string>> slurm_live_jobs(const std::string& squeue = "squeue");

Submission submit_slurm(const Plan& plan, const std::string& plan_dir, const SlurmOptions& o);

// "0-3,7,9-10" for a sorted list of units.
std::string array_ranges(const std::vector<int64_t>& units);

}  // namespace supra
