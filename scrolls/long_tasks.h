#pragma once
// The long-context tasks (EVALUATION.md sections 5-7): the seven SCROLLS tasks on the official files, the bundled
// long-document fixtures in SCROLLS layout, and the synthetic probes sized to the run's context length.
#include <memory>
#include <string>
#include <vector>

#include "tasks/task.h"

namespace supra::scrolls {

// Names for listings, e.g. "qasper", "passkey", "ppl_by_position:<path>".
std::vector<std::string> long_task_names();

// The task called `name`, or nullptr when `name` is not a long-context task (the caller then tries the NLU tasks).
// Official SCROLLS tasks accept "<task>:<path to its JSONL file>"; without a path they read
// <data root>/<task>/validation.jsonl (the layout of the official SCROLLS zips).
std::unique_ptr<tasks::Task> make_long_task(const std::string& name);

// Factories, one per file.
std::unique_ptr<tasks::Task> make_scrolls_task(const std::string& name, const std::string& path);  // scrolls_tasks.cpp
std::unique_ptr<tasks::Task> make_fixture_task(const std::string& name);                          // fixture_tasks.cpp
std::unique_ptr<tasks::Task> make_passkey();                                                      // passkey.cpp
std::unique_ptr<tasks::Task> make_kv_retrieval();                                                 // kv_retrieval.cpp
std::unique_ptr<tasks::Task> make_ppl_by_position(const std::string& path);                       // ppl_by_position.cpp

// Names handled by the factories above.
const std::vector<std::string>& scrolls_task_names();   // gov_report ... contract_nli
const std::vector<std::string>& fixture_task_names();   // wikiqa, quality_example, ...

}  // namespace supra::scrolls
