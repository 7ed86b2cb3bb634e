#pragma once
// Every task the harness can run: the task table's rows from tasks/ (NLU tasks, perplexity:<path>), scrolls/
// (SCROLLS tasks, long-document fixtures) and probes/ (long-context probes), in that order.
#include <memory>
#include <string>

#include "tasks/task.h"
#include "tasks/task_factory.h"

namespace supra {

const tasks::TaskTable& task_catalog();
// A fresh task from the catalog; error listing every known name when `name` is unknown. A task factory's own error
// (e.g. a file that cannot be read) reaches the caller unchanged.
std::unique_ptr<tasks::Task> make_any_task(const std::string& name);

}  // namespace supra
