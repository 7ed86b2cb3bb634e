#include "harness/worker.h"

#include <cstdio>
#include <map>
#include <memory>

#include "core/error.h"
#include "harness/engine_session.h"
#include "harness/task_catalog.h"
#include "harness/task_runner.h"
#include "store/store.h"

namespace supra {

namespace {

EngineOptions engine_options(const PlanSettings& ps, const std::string& model, int threads) {
  EngineOptions e;
  e.model = model;
  e.tokenizer = ps.tokenizer;
  e.device = ps.device;
  e.form = ps.form;
  e.chunk = ps.chunk;
  e.threads = threads;
  e.gpu_dtype = ps.gpu_dtype;
  e.kv_dtype = ps.kv_dtype;
  e.cpu_dtype = ps.cpu_dtype;
  return e;
}

}  // namespace

UnitResult run_unit(const Plan& plan, const std::string& plan_dir, int64_t unit, const WorkerOptions& o) {
  if (unit < 0 || unit >= int64_t(plan.units.size()))
    fail("--unit {}: plan {} has units 0..{}", unit, plan.id, int64_t(plan.units.size()) - 1);
  Store store(shard_file(plan_dir, unit));
  try {
    if (!store.claim_unit(plan.id, unit, plan.to_json().dump(), o.job_id, o.gpu)) return UnitResult::AlreadyFinished;
  } catch (const RunBusy& e) {
    std::fprintf(stderr, "work: %s; leaving it to that worker\n", e.what());
    return UnitResult::Busy;
  }
  try {
    std::map<int64_t, EngineSession> sessions;  // one model load per model of the unit
    const PlanUnit& u = plan.units[size_t(unit)];
    for (size_t i = 0; i < u.pieces.size(); i++) {
      const PlanPiece& p = u.pieces[i];
      auto s = sessions.find(p.model);
      if (s == sessions.end())
        s = sessions
                .emplace(p.model, open_session(engine_options(plan.settings, plan.settings.models[size_t(p.model)],
                                                              o.threads)))
                .first;
      auto task = make_any_task(p.task);
      const RunOutcome out = run_task(store, s->second, *task, piece_settings(plan.settings, p, o.quiet));
      if (out.n_docs != p.n_docs)
        fail("unit {} of plan {}: {} has {} documents now, {} when planned: the data changed; make a new plan", unit,
             plan.id, out.key.summary(), out.n_docs, p.n_docs);
      store.record_unit_piece(plan.id, unit, {int64_t(i), out.run_id, p.doc_lo, p.doc_hi});
      std::fprintf(stderr, "unit %ld piece %zu: %s docs [%ld, %ld): %ld new in %.1fs\n", long(unit), i,
                   out.key.summary().c_str(), long(p.doc_lo), long(p.doc_hi), long(out.n_new_docs), out.seconds);
    }
  } catch (const std::exception& e) {
    store.fail_unit(plan.id, unit, e.what());
    throw;
  }
  store.finish_unit(plan.id, unit);
  return UnitResult::Ran;
}

NextResult run_next_units(const Plan& plan, const std::string& plan_dir, const WorkerOptions& o) {
  NextResult r;
  for (int64_t k = 0; k < int64_t(plan.units.size()); k++) {
    try {
      if (run_unit(plan, plan_dir, k, o) == UnitResult::Ran) r.ran++;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "work: unit %ld failed: %s\n", long(k), e.what());
      r.failed++;
    }
  }
  return r;
}

}  // namespace supra
