#pragma once
// Every task the harness can run: the NLU tasks (tasks/) and the long-context tasks and probes (scrolls/).
#include <memory>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace supra {

std::vector<std::string> all_task_names();
// Error listing every known name when `name` is unknown.
std::unique_ptr<tasks::Task> make_any_task(const std::string& name);

}  // namespace supra
