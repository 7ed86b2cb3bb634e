#pragma once
// The registration table of tasks: one row per task name (or per family of names that take a path), with the
// function that makes it. tasks/ (registry.cpp), scrolls/ and probes/ each contribute their rows; the harness' task
// catalog concatenates them. Names for listings and errors come from the rows, and a lookup never uses an exception
// to say "not found": a factory's own error (a missing file) reaches the caller unchanged.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/task.h"

namespace supra::tasks {

// Whether a row's name is followed by ":<path>".
enum class TaskPath {
  None,      // "hellaswag": the name alone
  Optional,  // "qasper" (the data root's file) or "qasper:<path>"
  Required,  // "perplexity:<path>": a task per file
};

struct TaskFactory {
  std::string name;  // the task's name; for a row that takes a path, the part before the ':'
  TaskPath path = TaskPath::None;
  // Makes the task; `path` is what follows the ':' ("" when the name has none).
  std::function<std::unique_ptr<Task>(const std::string& path)> make;
  // One line on what the row makes, for rows that need a path (`supra-eval tasks` cannot make those to ask them);
  // "" for the others, whose tasks describe themselves (Task::description()).
  std::string description;
};
using TaskTable = std::vector<TaskFactory>;

// The NLU tasks' rows (registry.cpp): hellaswag ... mmlu, mmlu_<subject>, perplexity:<path>.
const TaskTable& task_factories();

// The row `name` calls for: the row's name alone (None, Optional) or followed by ":<path>" (Optional, Required);
// nullptr when no row matches.
const TaskFactory* find_task_factory(const TaskTable& table, std::string_view name);

// A fresh task from the row `name` calls for. An error listing the table's names when no row matches; the row's
// own errors pass through unchanged.
std::unique_ptr<Task> make_task(const TaskTable& table, const std::string& name);

// A row's name as listings and errors show it: "hellaswag", "qasper[:<path>]", "perplexity:<path>".
std::string listed_name(const TaskFactory& row);

}  // namespace supra::tasks
