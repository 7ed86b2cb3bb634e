// The long-context probes' rows of the task table.
#include "probes/registry.h"

namespace supra::probes {

const tasks::TaskTable& task_factories() {
  using tasks::TaskPath;
  static const tasks::TaskTable table = {
      {"passkey", TaskPath::None, [](const std::string&) { return make_passkey(); }, ""},
      {"kv_retrieval", TaskPath::None, [](const std::string&) { return make_kv_retrieval(); }, ""},
      {"ppl_by_position", TaskPath::Required, make_ppl_by_position,
       "perplexity by token position of a UTF-8 text file cut into documents of the context length; a task per "
       "file"},
  };
  return table;
}

}  // namespace supra::probes
