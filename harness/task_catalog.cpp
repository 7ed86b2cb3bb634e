#include "harness/task_catalog.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"
#include "scrolls/long_tasks.h"

namespace supra {

std::vector<std::string> all_task_names() {
  std::vector<std::string> names = tasks::task_names();
  for (const std::string& n : scrolls::long_task_names()) names.push_back(n);
  return names;
}

std::unique_ptr<tasks::Task> make_any_task(const std::string& name) {
  if (auto t = scrolls::make_long_task(name)) return t;
  try {
    return tasks::make_task(name);
  } catch (const Error&) {
    fail("unknown task \"{}\"; known tasks: {}, perplexity:<path to a UTF-8 text file> and the SCROLLS tasks with "
         "a file, e.g. qasper:<path to qasper JSONL>",
         name, fmt::join(all_task_names(), ", "));
  }
}

}  // namespace supra
