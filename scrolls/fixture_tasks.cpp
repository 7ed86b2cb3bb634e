// PLACEHOLDER (being written on branch scrolls-tasks): tasks on the bundled long-document fixtures.
#include "engine/error.h"
#include "scrolls/long_tasks.h"

namespace supra::scrolls {

const std::vector<std::string>& fixture_task_names() {
  static const std::vector<std::string> names = {};
  return names;
}

std::unique_ptr<tasks::Task> make_fixture_task(const std::string& name) { fail("task {} is not implemented yet", name); }

}  // namespace supra::scrolls
