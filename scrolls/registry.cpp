// The long-document tasks' rows of the task table.
#include "scrolls/registry.h"

#include "scrolls/scrolls_tasks.h"

namespace supra::scrolls {

const tasks::TaskTable& task_factories() {
  using tasks::TaskPath;
  static const tasks::TaskTable table = [] {
    tasks::TaskTable t;
    for (const ScrollsSpec& spec : official_scrolls_specs())
      t.push_back({spec.name, TaskPath::Optional,
                   [name = spec.name](const std::string& path) { return make_scrolls_task(name, path); }, ""});
    t.push_back({"wikiqa", TaskPath::None, [](const std::string&) { return make_wikiqa(); }, ""});
    t.push_back({"quality_example", TaskPath::None, [](const std::string&) { return make_quality_example(); }, ""});
    return t;
  }();
  return table;
}

}  // namespace supra::scrolls
