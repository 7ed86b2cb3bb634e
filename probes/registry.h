#pragma once
// The long-context probes (EVALUATION.md section 7) as rows of the task table (tasks/task_factory.h): synthetic
// needle tasks sized to the run's context length, and perplexity by token position of a text file.
#include <memory>
#include <string>

#include "tasks/task.h"
#include "tasks/task_factory.h"

namespace supra::probes {

// passkey, kv_retrieval, ppl_by_position:<path>.
const tasks::TaskTable& task_factories();

// Factories, one per file.
std::unique_ptr<tasks::Task> make_passkey();                                 // passkey.cpp
std::unique_ptr<tasks::Task> make_kv_retrieval();                            // kv_retrieval.cpp
std::unique_ptr<tasks::Task> make_ppl_by_position(const std::string& path);  // ppl_by_position.cpp

}  // namespace supra::probes
