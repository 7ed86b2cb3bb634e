#pragma once
// The long-document tasks (EVALUATION.md sections 5-6) as rows of the task table (tasks/task_factory.h): the seven
// SCROLLS tasks on the official files and the bundled long-document fixtures in SCROLLS layout.
#include <memory>
#include <string>

#include "tasks/task.h"
#include "tasks/task_factory.h"

namespace supra::scrolls {

// gov_report ... contract_nli, each as "<task>" (reads <data root>/<task>/validation.jsonl, the layout of the
// official SCROLLS zips) or "<task>:<path to its JSONL file>"; then wikiqa and quality_example.
const tasks::TaskTable& task_factories();

// Factories, one per file.
std::unique_ptr<tasks::Task> make_scrolls_task(const std::string& name, const std::string& path);  // scrolls_tasks.cpp
std::unique_ptr<tasks::Task> make_wikiqa();                                                       // fixture_tasks.cpp
std::unique_ptr<tasks::Task> make_quality_example();                                              // fixture_tasks.cpp

}  // namespace supra::scrolls
