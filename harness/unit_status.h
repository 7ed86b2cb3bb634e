#pragma once
// Where each unit of a plan stands, read from the plan and its shard files only (a site may run Slurm without
// accounting): done, running (a live worker holds it), failed (its worker recorded an error, or died: on this host
// its pid is gone, on another its last progress is older than the lease lapse), pending (no worker yet).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "harness/work_plan.h"
#include "store/store.h"

namespace supra {

enum class UnitState { Pending, Running, Failed, Done };
const char* unit_state_name(UnitState s);

struct UnitStatus {
  int64_t unit = 0;
  UnitState state = UnitState::Pending;
  std::string shard;           // its file
  std::optional<UnitRecord> record;  // what its worker recorded (none: pending)
  std::string why;             // failed: the recorded error, "killed or lost" or the unreadable shard's message
};

// `live_jobs` (from slurm_live_jobs; null: unknown): a unit held by a worker on another host whose Slurm job is no
// longer queued is failed at once, instead of after the lease lapse (this host cannot ask the other's kernel).
std::vector<UnitStatus> plan_status(const Plan& plan, const std::string& plan_dir,
                                    const std::set<std::string>* live_jobs = nullptr);

}  // namespace supra
