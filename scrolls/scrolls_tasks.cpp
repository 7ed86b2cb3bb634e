// PLACEHOLDER (being written on branch scrolls-tasks): the seven official SCROLLS tasks.
#include "engine/error.h"
#include "scrolls/long_tasks.h"

namespace supra::scrolls {

const std::vector<std::string>& scrolls_task_names() {
  static const std::vector<std::string> names = {"gov_report", "summ_screen_fd", "qmsum",       "qasper",
                                                 "narrative_qa", "quality",      "contract_nli"};
  return names;
}

std::unique_ptr<tasks::Task> make_scrolls_task(const std::string& name, const std::string&) {
  fail("task {} is not implemented yet", name);
}

}  // namespace supra::scrolls
