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
    t.push_back({"passkey", TaskPath::None, [](const std::string&) { return make_passkey(); }, ""});
    t.push_back({"kv_retrieval", TaskPath::None, [](const std::string&) { return make_kv_retrieval(); }, ""});
    t.push_back({"ppl_by_position", TaskPath::Required, make_ppl_by_position,
                 "perplexity by token position of a UTF-8 text file cut into documents of the context length; a task "
                 "per file"});
    return t;
  }();
  return table;
}

}  // namespace supra::scrolls
