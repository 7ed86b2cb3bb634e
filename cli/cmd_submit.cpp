// supra-eval submit --slurm: a plan's units as one Slurm job array plus a merge job.
#include <cstdio>

#include "cli/commands.h"
#include "harness/local_workers.h"
#include "harness/slurm_submit.h"

namespace supra {

void register_submit(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto slurm = std::make_shared<bool>(false);
  auto o = std::make_shared<SlurmOptions>();
  auto* cmd = app.add_subcommand("submit", "submit a plan's units to Slurm: one job array and a dependent merge job");
  cmd->add_option("--plan", *dir, "the plan's folder")->required();
  cmd->add_flag("--slurm", *slurm, "submit with sbatch (the only scheduler today)")->required();
  cmd->add_option("--partition", o->partition, "sbatch --partition");
  cmd->add_option("--account", o->account, "sbatch --account");
  cmd->add_option("--time", o->time, "sbatch --time per unit, e.g. 02:00:00");
  cmd->add_option("--gpus-per-task", o->gpus_per_task, "sbatch --gpus-per-task (one unit per GPU: 1)");
  cmd->add_option("--cpus-per-task", o->cpus_per_task, "sbatch --cpus-per-task")->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-parallel", o->max_parallel, "at most M units at once (the array's %M)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--extra", o->extra, "more sbatch arguments, e.g. '--qos=high --mem=64G'");
  cmd->add_option("--threads", o->threads, "each worker's CPU threads (0: every core it is given)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--resubmit-failed", o->resubmit_failed,
                "submit only the units neither done, running nor still queued (after a kill, a crash, a time limit)");
  cmd->add_flag("--dry-run", o->dry_run, "write the job scripts and print the sbatch commands; submit nothing");
  cmd->callback([dir, o] {
    const Plan plan = read_plan(*dir);
    o->supra_bin = this_binary();
    const Submission s = submit_slurm(plan, *dir, *o);
    if (s.units.empty()) {
      std::printf("plan %s: every unit is done, running or queued; nothing to submit\n", plan.id.c_str());
      return;
    }
    for (const std::string& c : s.commands) std::printf("%s\n", c.c_str());
    if (!o->dry_run)
      std::printf("submitted plan %s: %zu units as array job %s (units %s), merge job %s after it\n",
                  plan.id.c_str(), s.units.size(), s.array_job.c_str(), array_ranges(s.units).c_str(),
                  s.merge_job.c_str());
  });
}

}  // namespace supra
