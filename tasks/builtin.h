#pragma once
// The built-in tasks' factories and the pieces of their prompt logic that tests check directly. Internal to tasks/:
// the harness goes through the task table (task_factory.h).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/hellaswag.h"
#include "tasks/task.h"

namespace supra::tasks {

std::unique_ptr<Task> make_hellaswag();
std::unique_ptr<Task> make_piqa();
std::unique_ptr<Task> make_arc(std::string_view which);  // "arc_easy" or "arc_challenge"
std::unique_ptr<Task> make_winogrande();
std::unique_ptr<Task> make_lambada_openai();
std::unique_ptr<Task> make_boolq();
std::unique_ptr<Task> make_copa();
std::unique_ptr<Task> make_openbookqa();
std::unique_ptr<Task> make_mmlu(std::string_view subject);  // "" = the group "mmlu" (every subject)
std::unique_ptr<Task> make_perplexity_text(const std::string& path);

// The 57 MMLU subjects, alphabetical (the order load_mmlu returns them in).
const std::vector<std::string>& mmlu_subjects();

// The documents a registry dataset holds, from datasets/registry.h (no file is read).
size_t registry_records(std::string_view dataset);

// lm-eval's hellaswag query for one record of our 6-line file (see hellaswag.cpp for how ctx_a / ctx_b are found).
std::string hellaswag_query(const datasets::HellaswagRecord& r);

}  // namespace supra::tasks
