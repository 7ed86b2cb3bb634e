#include "tasks/task_factory.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace supra::tasks {

namespace {

bool matches(const TaskFactory& row, std::string_view name) {
  const size_t colon = name.find(':');
  const std::string_view base = name.substr(0, colon);
  switch (row.path) {
    case TaskPath::None:
      return name == row.name;
    case TaskPath::Optional:
      return base == row.name;
    case TaskPath::Required:
      return base == row.name && colon != std::string_view::npos;
  }
  return false;
}

}  // namespace

const TaskFactory* find_task_factory(const TaskTable& table, std::string_view name) {
  for (const TaskFactory& row : table)
    if (matches(row, name)) return &row;
  return nullptr;
}

std::unique_ptr<Task> make_task(const TaskTable& table, const std::string& name) {
  const TaskFactory* row = find_task_factory(table, name);
  if (!row) {
    std::vector<std::string> names;
    for (const TaskFactory& r : table) names.push_back(listed_name(r));
    fail("unknown task \"{}\"; known tasks: {}", name, fmt::join(names, ", "));
  }
  const size_t colon = name.find(':');
  return row->make(colon == std::string::npos ? "" : name.substr(colon + 1));
}

std::string listed_name(const TaskFactory& row) {
  switch (row.path) {
    case TaskPath::None:
      return row.name;
    case TaskPath::Optional:
      return row.name + "[:<path>]";
    case TaskPath::Required:
      return row.name + ":<path>";
  }
  return row.name;
}

}  // namespace supra::tasks
