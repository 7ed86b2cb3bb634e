#pragma once
// The flags `run`, `sweep` and `plan` share (tasks, shots, limit, seed, batch, store, data, truncation), and the
// plan settings a sweep's flags make.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/engine_options.h"
#include "core/error.h"
#include "engine/model_config.h"
#include "harness/state_memory.h"
#include "harness/work_plan.h"

namespace supra {

struct EvalArgs {
  EngineOptions eng;
  std::string tasks, ctx, db = "results.sqlite", data_root, truncation;
  int shots = -1, batch = 32;
  int64_t limit = -1;
  uint64_t seed = 1234;
  bool add_bos = false, take_over = false;
  std::string state_memory = "0";

  void add_to(CLI::App& cmd) {
    cmd.add_option("--tasks", tasks, "comma-separated task names (see `supra-eval tasks`)")->required();
    cmd.add_option("--shots", shots, "few-shot examples (default: each task's paper setting: MMLU 5, others 0)")
        ->check(int_in(0, 1024));
    cmd.add_option("--limit", limit, "evaluate only the first N documents of each task (default: all)")
        ->check(int_in(1, INT64_MAX));
    cmd.add_option("--seed", seed, "few-shot sampling seed (lm-eval's fewshot_seed)");
    cmd.add_option("--batch", batch, "documents per batch (each batch is committed to the store)")
        ->check(int_in(1, INT32_MAX));
    cmd.add_option("--db", db, "SQLite results store");
    cmd.add_option("--data", data_root,
                   "dataset root (default: the bundled datasets/data); SCROLLS tasks read <root>/<task>/validation.jsonl");
    cmd.add_option("--truncation", truncation,
                   "left | doc_end | middle: how long documents are cut to fit --ctx (default: each task's own: "
                   "doc_end for SCROLLS-style tasks, left otherwise); recorded with every run");
    cmd.add_flag("--add-bos", add_bos, "prepend BOS to every request (lm-eval's add_bos_token; off by default)");
    cmd.add_option("--state-memory", state_memory,
                   "bytes of sequence states (KV caches, SUPRA states) live at once, e.g. 8G (default: half the "
                   "available RAM on cpu, 80% of free GPU memory on cuda); changes the schedule, not the scores");
    cmd.add_flag("--take-over", take_over,
                 "resume a run whose lease names a process on another host that you know is dead (one on this host "
                 "is checked by its pid and taken over without this flag)");
  }
};

inline std::vector<std::string> split_names(const std::string& s, const char* option) {
  std::vector<std::string> out;
  size_t a = 0;
  while (a <= s.size()) {
    size_t b = s.find(',', a);
    if (b == std::string::npos) b = s.size();
    std::string item = s.substr(a, b - a);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty()) out.push_back(item);
    a = b + 1;
  }
  if (out.empty()) fail("{}: expected a comma-separated list, got '{}'", option, s);
  return out;
}

// Empty when --ctx was not given: each model then runs at its own training context.
inline std::vector<int64_t> parse_ctx(const std::string& s) {
  if (s.empty()) return {};
  auto v = parse_int_list(s, "--ctx");
  for (auto c : v)
    if (c <= 0 || c > kMaxTrainCtx) fail("--ctx: context lengths must be integers in 1..{}, got {}", kMaxTrainCtx, c);
  return v;
}

// The plan settings of a sweep over `models` with these flags and engine options.
inline PlanSettings plan_settings(const EvalArgs& a, const EngineOptions& eng, const std::string& models) {
  PlanSettings p;
  p.models = split_names(models, "--models");
  p.tasks = split_names(a.tasks, "--tasks");
  p.ctxs = parse_ctx(a.ctx);
  p.shots = a.shots;
  p.seed = a.seed;
  p.limit = a.limit;
  p.batch = a.batch;
  p.add_bos = a.add_bos;
  p.data_root = a.data_root;
  p.truncation = a.truncation;
  p.tokenizer = eng.tokenizer;
  p.device = eng.device;
  p.form = eng.form;
  p.gpu_dtype = eng.gpu_dtype;
  p.chunk = eng.chunk;
  p.kv_dtype = eng.kv_dtype;
  p.cpu_dtype = eng.cpu_dtype;
  p.state_memory = parse_bytes(a.state_memory, "--state-memory");
  p.db = a.db;
  return p;
}

}  // namespace supra
