// supra-eval work | merge: one unit of a plan into its own shard file; the shards of a plan into one store.
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "cli/eval_args.h"
#include "harness/merge.h"
#include "harness/worker.h"

namespace supra {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The Slurm job this worker runs in: "array job_task" for an array task, else the job id ("" outside Slurm).
std::string slurm_job_id() {
  const std::string array = env("SLURM_ARRAY_JOB_ID"), task = env("SLURM_ARRAY_TASK_ID");
  if (!array.empty() && !task.empty()) return array + "_" + task;
  return env("SLURM_JOB_ID");
}

}  // namespace

void register_work(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto unit = std::make_shared<int64_t>(-1);
  auto next = std::make_shared<bool>(false);
  auto o = std::make_shared<WorkerOptions>();
  auto* cmd = app.add_subcommand("work", "run one unit of a plan into its own shard file (plan/shards/unit-K.sqlite)");
  cmd->add_option("--plan", *dir, "the plan's folder")->required();
  auto* u = cmd->add_option("--unit", *unit, "the unit to run (a Slurm array task passes $SLURM_ARRAY_TASK_ID)");
  cmd->add_flag("--next", *next, "run every unit not finished and not held by a live worker, in order")->excludes(u);
  cmd->add_option("--threads", o->threads, "CPU threads (0: every core)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--quiet", o->quiet, "no progress lines");
  cmd->callback([dir, unit, next, o] {
    if (!*next && *unit < 0) fail("work: give --unit K or --next");
    const Plan plan = read_plan(*dir);
    o->job_id = slurm_job_id();
    o->gpu = env("CUDA_VISIBLE_DEVICES");
    if (*next) {
      const NextResult r = run_next_units(plan, *dir, *o);
      std::fprintf(stderr, "work: ran %ld units of plan %s, %ld failed\n", long(r.ran), plan.id.c_str(),
                   long(r.failed));
      if (r.failed > 0) fail("work: {} unit(s) failed (see above; `supra-eval status --plan {}`)", r.failed, *dir);
      return;
    }
    switch (run_unit(plan, *dir, *unit, *o)) {
      case UnitResult::Ran:
        std::fprintf(stderr, "work: unit %ld of plan %s finished\n", long(*unit), plan.id.c_str());
        break;
      case UnitResult::AlreadyFinished:
        std::fprintf(stderr, "work: unit %ld of plan %s was already finished\n", long(*unit), plan.id.c_str());
        break;
      case UnitResult::Busy: fail("work: unit {} is being run by another live worker (see above)", *unit);
    }
  });
}

void register_merge(CLI::App& app) {
  auto into = std::make_shared<std::string>();
  auto dir = std::make_shared<std::string>();
  auto shards = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("merge", "merge the shards of a plan into one store, metrics computed from samples");
  cmd->add_option("--into", *into, "the store to merge into (created when absent)")->required();
  cmd->add_option("--plan", *dir,
                  "the plan's folder (its shards/unit-*.sqlite are merged, with any shard files named)");
  cmd->add_option("shards", *shards, "shard files");
  cmd->callback([into, dir, shards] {
    if (dir->empty() && shards->empty()) fail("merge: give --plan DIR or shard files");
    const MergeResult m = merge_shards(*into, *shards, *dir);
    std::printf("merged plan %s: %ld units, %zu cells, %ld new documents into %s\n", m.plan_id.c_str(), long(m.units),
                m.cells.size(), long(m.new_docs), into->c_str());
  });
}

}  // namespace supra
