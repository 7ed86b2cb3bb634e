#include "harness/unit_status.h"

#include <filesystem>

namespace supra {

const char* unit_state_name(UnitState s) {
  switch (s) {
    case UnitState::Pending: return "pending";
    case UnitState::Running: return "running";
    case UnitState::Failed: return "failed";
    case UnitState::Done: return "done";
  }
  return "?";
}

std::vector<UnitStatus> plan_status(const Plan& plan, const std::string& plan_dir,
                                    const std::set<std::string>* live_jobs) {
  std::vector<UnitStatus> out;
  for (int64_t k = 0; k < int64_t(plan.units.size()); k++) {
    UnitStatus s;
    s.unit = k;
    s.shard = shard_file(plan_dir, k);
    if (std::filesystem::exists(s.shard)) {
      try {
        Db db = open_store_read_only(s.shard);
        for (UnitRecord& r : read_work_units(db))
          if (r.plan_id == plan.id && r.unit == k) s.record = std::move(r);
      } catch (const std::exception& e) {
        s.state = UnitState::Failed;
        s.why = e.what();
        out.push_back(std::move(s));
        continue;
      }
    }
    if (s.record) {
      if (s.record->status == "finished") {
        s.state = UnitState::Done;
      } else if (s.record->status == "failed") {
        s.state = UnitState::Failed;
        s.why = s.record->error;
      } else if (live_jobs && !s.record->job_id.empty() && s.record->holder.host != this_process().host &&
                 !live_jobs->count(s.record->job_id)) {
        s.state = UnitState::Failed;
        s.why = "its Slurm job " + s.record->job_id + " is no longer queued (cancelled, timed out or lost)";
      } else if (holder_alive(s.record->holder)) {
        s.state = UnitState::Running;
      } else {
        s.state = UnitState::Failed;
        s.why = "its worker stopped without finishing (killed or lost)";
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace supra
