#pragma once
// One run: a model x task at one context length, every finished batch of documents committed to the store, so a
// run started again with the same arguments does only what is missing.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/scorer.h"
#include "harness/engine_session.h"
#include "store/store.h"
#include "tasks/task.h"

namespace supra {

struct RunSettings {
  int64_t ctx = 0;            // context length L
  int shots = -1;             // -1: the task's default (the paper's setting)
  uint64_t seed = 1234;       // few-shot sampling seed (lm-eval's fewshot_seed)
  int64_t limit = -1;         // first N documents; -1: all
  int batch_docs = 32;        // documents per committed batch
  bool add_bos = false;       // lm-eval's default for causal models
  std::string data_root;      // default: the bundled datasets/data
  std::string truncation;     // left | doc_end | middle; "" = the task's default. Recorded in the run key.
  std::string device = "cpu";
  std::string dtype;          // weight dtype as computed (recorded)
  bool quiet = false;         // no progress line
  bool take_over = false;     // take the run over even from a lease that looks live (the user knows it is dead)
  // A work unit's piece: only documents [doc_lo, doc_hi) of the run (doc_hi -1: to the end). A piece that is not
  // the whole run leases just its range and stores no metrics: `merge` aggregates them once every piece is in.
  int64_t doc_lo = 0, doc_hi = -1;
  size_t state_memory = 0;    // bytes of live sequence states (ScorerOptions); 0: default_state_memory. Not keyed:
                              // it changes the schedule, not the numbers (bitwise on the CPU; last bits on CUDA)
};

struct RunOutcome {
  int64_t run_id = 0;
  RunKey key;
  std::vector<MetricRow> metrics;
  int64_t n_docs = 0, n_new_docs = 0, n_new_requests = 0;
  double seconds = 0;
  ForwardStats forwards;  // the forward calls this invocation made (rows per call: how well requests were packed)
};

// Holds the run's lease (Store::acquire_lease) while it computes: throws RunBusy, before any work, when another
// live process is writing the same run key; takes over the lease of a dead one (with a note on stderr) and resumes.
RunOutcome run_task(Store& store, EngineSession& session, tasks::Task& task, const RunSettings& settings);

// A run's metrics from the per-document values in the store (in document order, so a resumed or merged run gets
// exactly the numbers of an uninterrupted one), then the task's derived metrics. The one place run and merge
// aggregate.
std::vector<MetricRow> aggregate_run(Store& store, int64_t run_id, const tasks::Task& task, int64_t n_docs);

}  // namespace supra
