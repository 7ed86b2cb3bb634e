#include "harness/task_catalog.h"

#include "probes/registry.h"
#include "scrolls/registry.h"

namespace supra {

const tasks::TaskTable& task_catalog() {
  static const tasks::TaskTable table = [] {
    tasks::TaskTable t;
    for (const tasks::TaskTable* part : {&tasks::task_factories(), &scrolls::task_factories(), &probes::task_factories()})
      t.insert(t.end(), part->begin(), part->end());
    return t;
  }();
  return table;
}

std::unique_ptr<tasks::Task> make_any_task(const std::string& name) { return tasks::make_task(task_catalog(), name); }

}  // namespace supra
