#pragma once
// A worker (`supra-eval work`): runs one unit of a plan into the unit's own shard file (never one file shared
// across machines), recording itself on the unit (host, pid, Slurm job id, CUDA_VISIBLE_DEVICES, start and end).
// A killed worker's unit is simply run again: its shard resumes like any run.
#include <cstdint>
#include <string>

#include "harness/work_plan.h"

namespace supra {

struct WorkerOptions {
  int threads = 0;      // CPU threads of the engine (0: every core)
  std::string job_id;   // Slurm job (SLURM_ARRAY_JOB_ID_SLURM_ARRAY_TASK_ID or SLURM_JOB_ID), "" outside Slurm
  std::string gpu;      // CUDA_VISIBLE_DEVICES
  bool quiet = false;   // no progress lines
};

enum class UnitResult { Ran, AlreadyFinished, Busy };

// Runs the unit: claims it in its shard (Busy, doing nothing, when another live worker holds it), runs each piece
// as a document range of its run, marks the unit finished (or failed, with the error, which is rethrown).
UnitResult run_unit(const Plan& plan, const std::string& plan_dir, int64_t unit, const WorkerOptions& opts);

// `work --next`: runs every unit not finished and not held by a live worker, in order, one pass; returns the units
// this process ran. A unit that fails is recorded as failed and the pass goes on; the error count is returned too.
struct NextResult {
  int64_t ran = 0, failed = 0;
};
NextResult run_next_units(const Plan& plan, const std::string& plan_dir, const WorkerOptions& opts);

}  // namespace supra
