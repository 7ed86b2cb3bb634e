#pragma once
// `supra-eval merge`: the shards of a plan into one store. Every unit of the plan must be in exactly one shard and
// finished; its samples and per-document metrics are copied as the workers wrote them, and each cell's metrics and
// standard errors are computed again from the samples by the same code as an unsharded run (aggregate_run), never
// averaged from shards. Merging again, or a shard given twice, changes nothing.
#include <string>
#include <vector>

#include "harness/task_runner.h"

namespace supra {

struct MergeResult {
  std::string plan_id;
  int64_t units = 0, new_docs = 0;
  std::vector<RunOutcome> cells;  // every cell of the plan, with its metrics (key: model, mode, task, ctx)
};

// The shards: those named, and with `plan_dir` every shards/unit-*.sqlite of the plan. A shard that cannot
// be read as a store (corrupt, truncated, not SQLite) is refused with a message naming its file.
MergeResult merge_shards(const std::string& into, const std::vector<std::string>& shards,
                         const std::string& plan_dir);

}  // namespace supra
