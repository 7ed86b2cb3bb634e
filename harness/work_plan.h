#pragma once
// A sweep split into work units (ARCHITECTURE.md "Scaling past one machine"). A unit is one or more pieces, each a
// document range of one cell (model, mode, task, context length); units are sized by estimated cost: tokens the
// model reads, from the task's real requests and the model's tokenizer. A costly cell is split by document range,
// small cells of one model are packed into one unit. Ranges start on multiples of --batch, so every batch a worker
// computes is a batch an unsharded run computes: merged numbers equal an unsharded run's bit for bit.
//
// A plan lives in a folder: plan.json (this struct), shards/unit-NNNNN.sqlite (one store per unit, written by
// `supra-eval work`), logs/ and slurm/ (submit).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/task_runner.h"

namespace supra {

// Everything a unit's runs need, as the sweep's flags give it (every setting that changes numbers is here).
struct PlanSettings {
  std::vector<std::string> models;
  std::vector<std::string> tasks;  // task names as given (perplexity:<path>, qasper:<path> included)
  std::vector<int64_t> ctxs;       // empty: each model's training context
  int shots = -1;
  uint64_t seed = 1234;
  int64_t limit = -1;
  int batch = 32;
  bool add_bos = false;
  std::string data_root, truncation, tokenizer;
  std::string device = "cpu", form = "chunked", gpu_dtype = "bf16";
  std::string kv_dtype;  // "": the device's default (engine_session.h)
  std::string cpu_dtype = "f32";  // CPU GEMM compute (engine_session.h)
  int chunk = 64;
  uint64_t state_memory = 0;  // bytes of live sequence states per worker; 0: the default (not keyed)
  std::string db;  // the store merge writes into

  nlohmann::json to_json() const;
  static PlanSettings from_json(const nlohmann::json& j);
};

struct PlanPiece {
  int64_t model = 0;  // index into PlanSettings::models
  std::string task;   // as given
  int64_t ctx = 0;
  int64_t doc_lo = 0, doc_hi = 0;  // documents [doc_lo, doc_hi) of the run of n_docs
  int64_t n_docs = 0;
  double tokens = 0;      // estimated tokens read (prefill), from the real requests
  double gen_tokens = 0;  // generation budget (decode steps) of its generate_until requests
};

struct PlanUnit {
  std::vector<PlanPiece> pieces;
  double tokens = 0, gen_tokens = 0;
  std::optional<double> seconds;  // from bench figures of the model, when the store has them
};

struct Plan {
  std::string id;  // sha256 (first 16 hex) of the settings and units
  PlanSettings settings;
  std::vector<PlanUnit> units;
  std::vector<std::string> notes;  // how the estimate was made (shown by plan and status)

  nlohmann::json to_json() const;
  static Plan from_json(const nlohmann::json& j, const std::string& where);
};

// Tokenizes every request of every cell and sizes the units: about `target_units` units (0: one per cell), each
// cell split at batch boundaries into pieces of near-equal cost when it costs more than the target, small cells of
// one model packed together. `bench_db` (may not exist): a store whose bench_results give tokens per second.
Plan make_plan(const PlanSettings& settings, int64_t target_units, const std::string& bench_db);

// The settings `run_task` gets for one piece of a plan (or, from `run`, a whole run: doc_lo 0, doc_hi -1): the one
// place plan settings become run settings, so `run`, `sweep` and `work` score a cell alike.
RunSettings piece_settings(const PlanSettings& ps, const PlanPiece& p, bool quiet);

// plan.json in the folder; reading checks the id against the content.
std::string plan_file(const std::string& dir);
std::string shard_file(const std::string& dir, int64_t unit);
void write_plan(const Plan& plan, const std::string& dir);
Plan read_plan(const std::string& dir);

}  // namespace supra
