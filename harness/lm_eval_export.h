#pragma once
// `supra-eval export --format lm-eval`: the store's runs as lm-evaluation-harness (0.4.x) result files, for the tools
// that read them. Runs that lm-eval would have made in one invocation (same model, mode, form, context length,
// truncation, dtype, device, BOS, seed and limit) share one <out>/<model_name_sanitized>/results_<date>.json, with
// one samples_<task>_<date>.jsonl per task beside it; mode, context length and truncation are part of model_args and
// model_name, so cells stay apart. The date is the group's last finish time, so exporting again rewrites the same
// files. Per-document request texts are rebuilt from the task (the store keeps numbers, not prompts).
#include <cstdint>
#include <string>
#include <vector>

namespace supra {

struct LmEvalExportOptions {
  std::string db;                  // the store (opened read-only)
  std::string out_dir;             // lm-eval's --output_path
  std::vector<int64_t> run_ids;    // empty: every finished run
  std::vector<std::string> tasks;  // empty: every task
  std::string data_root;           // where the tasks' data lies ("" = the bundled data), to rebuild request texts
};

struct LmEvalExportResult {
  std::vector<std::string> files;  // written, results files first in each folder
  int64_t runs = 0;
  std::vector<std::string> notes;  // what could not be filled in (e.g. request texts of a task that needs a tokenizer)
};

LmEvalExportResult export_lm_eval(const LmEvalExportOptions& opts);

// lm-eval's sanitisation of a model name into a folder name (runs of "<>:/|\?*[] become "__").
std::string lm_eval_sanitize_model_name(const std::string& name);

}  // namespace supra
