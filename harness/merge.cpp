#include "harness/merge.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "harness/task_catalog.h"
#include "harness/work_plan.h"
#include "store/store.h"

namespace supra {

namespace fs = std::filesystem;

namespace {

struct FoundUnit {
  std::string shard;
  UnitRecord record;
};

// The units recorded in a shard; a file SQLite cannot read whole is refused naming it.
std::vector<UnitRecord> read_shard(const std::string& path) {
  if (!fs::is_regular_file(path)) fail("{}: no such shard file", path);
  try {
    Db db = open_store_read_only(path);
    const auto check = db.query_int("SELECT count(*) FROM pragma_quick_check WHERE quick_check <> 'ok'");
    if (check.value_or(1) != 0) fail("{}: SQLite's quick_check finds it damaged", path);
    return read_work_units(db);
  } catch (const std::exception& e) {
    fail("{}: not a readable shard, so nothing was merged ({}); run its unit again (`supra-eval work --plan DIR "
         "--unit K` or `submit --resubmit-failed` after deleting the file)",
         path, e.what());
  }
}

std::vector<std::string> plan_shards(const std::string& plan_dir) {
  std::vector<std::string> out;
  const fs::path dir = fs::path(plan_dir) / "shards";
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".sqlite") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The plan and every finished unit of the given shards (each file read once); an error for a unit in two files or a
// shard of another plan.
struct Collected {
  Plan plan;
  std::map<int64_t, FoundUnit> finished;
  std::map<int64_t, std::string> unfinished;  // unit -> where it stands
};

Collected collect_units(const std::vector<std::string>& shards, const std::string& plan_dir) {
  std::optional<Plan> plan;
  if (!plan_dir.empty()) plan = read_plan(plan_dir);
  Collected c;
  std::set<std::string> seen_files;
  for (const std::string& path : shards) {
    if (!seen_files.insert(fs::weakly_canonical(path).string()).second) continue;  // named twice: read once
    for (UnitRecord& r : read_shard(path)) {
      if (!plan) plan = Plan::from_json(nlohmann::json::parse(r.plan_json), path + " (its plan)");
      if (r.plan_id != plan->id)
        fail("{}: holds unit {} of plan {}, not of plan {}: merge the shards of one plan at a time", path, r.unit,
             r.plan_id, plan->id);
      if (r.status != "finished") {
        c.unfinished[r.unit] = fmt::format("{} in {}{}", r.status, path, r.error.empty() ? "" : ": " + r.error);
        continue;
      }
      const auto [it, fresh] = c.finished.try_emplace(r.unit, FoundUnit{path, r});
      if (!fresh)
        fail("merge: unit {} of plan {} is in two shards, {} and {}: keep one of them", r.unit, plan->id,
             it->second.shard, path);
    }
  }
  if (!plan) fail("merge: the shards record no work unit (are they shards of a plan?)");
  c.plan = std::move(*plan);
  return c;
}

// Every unit of the plan finished, with the document ranges the plan gives it; else an error listing what is not.
void check_complete(const Collected& c) {
  const Plan& plan = c.plan;
  std::string missing;
  int64_t n_missing = 0;
  for (int64_t k = 0; k < int64_t(plan.units.size()); k++) {
    if (c.finished.count(k)) continue;
    const auto u = c.unfinished.find(k);
    if (n_missing++ < 10)
      missing += fmt::format("\n  unit {}: {}", k, u != c.unfinished.end() ? u->second : "no shard holds it");
  }
  if (n_missing > 0)
    fail("merge: {} of {} units of plan {} are not finished, so nothing was merged:{}{}\nrun them (`supra-eval "
         "submit --plan DIR --slurm --resubmit-failed`, or `supra-eval work --plan DIR --unit K`), then merge again",
         n_missing, plan.units.size(), plan.id, missing, n_missing > 10 ? "\n  ..." : "");
  for (const auto& [k, f] : c.finished) {
    const PlanUnit& u = plan.units[size_t(k)];
    bool same = f.record.pieces.size() == u.pieces.size();
    for (size_t i = 0; same && i < u.pieces.size(); i++)
      same = f.record.pieces[i].doc_lo == u.pieces[i].doc_lo && f.record.pieces[i].doc_hi == u.pieces[i].doc_hi;
    if (!same) fail("{}: unit {} records other document ranges than plan {} has for it", f.shard, k, plan.id);
  }
}

// A merged cell's metrics: computed from its samples by aggregate_run (as `run` does), unless the cell was already
// finished here and gained no document (merged before, or run unsharded into this store).
RunOutcome finish_cell(Store& store, const std::string& task_name, const CopiedPiece& c) {
  const std::set<int64_t> docs = store.finished_docs(c.run_id);
  if (int64_t(docs.size()) != c.n_docs)
    fail("merge: {} {} ctx {} has {} of {} documents after copying every unit: the plan does not cover the run "
         "(a plan from another build?)",
         c.task, c.mode, c.ctx, docs.size(), c.n_docs);
  RunOutcome o;
  o.run_id = c.run_id;
  o.key.model = c.model;
  o.key.mode = c.mode;
  o.key.task = c.task;
  o.key.ctx = c.ctx;
  o.n_docs = c.n_docs;
  o.n_new_docs = c.new_docs;
  if (store.run_finished(c.run_id) && c.new_docs == 0) {
    o.metrics = store.metrics(c.run_id);
  } else {
    const auto task = make_any_task(task_name);
    o.metrics = aggregate_run(store, c.run_id, *task, c.n_docs);
    store.finish_run(c.run_id, o.metrics);
  }
  return o;
}

}  // namespace

MergeResult merge_shards(const std::string& into, const std::vector<std::string>& shards_in,
                         const std::string& plan_dir) {
  std::vector<std::string> shards = shards_in;
  if (!plan_dir.empty())
    for (const std::string& s : plan_shards(plan_dir)) shards.push_back(s);
  if (shards.empty()) fail("merge: no shard files given{}", plan_dir.empty() ? "" : " and none in " + plan_dir);
  const Collected c = collect_units(shards, plan_dir);
  check_complete(c);  // before the target is opened: a refused merge writes nothing

  MergeResult res;
  res.plan_id = c.plan.id;
  res.units = int64_t(c.plan.units.size());
  Store store(into);
  // Cells in plan order, each once: (task name as given, what was copied).
  std::vector<std::pair<std::string, CopiedPiece>> cells;
  std::map<int64_t, size_t> cell_of_run;
  for (const auto& [k, f] : c.finished)
    for (size_t i = 0; i < f.record.pieces.size(); i++) {
      const UnitPieceRecord& p = f.record.pieces[i];
      const CopiedPiece piece = store.copy_shard_piece(f.shard, p.run_id, p.doc_lo, p.doc_hi);
      res.new_docs += piece.new_docs;
      const auto [it, fresh] = cell_of_run.try_emplace(piece.run_id, cells.size());
      if (fresh)
        cells.push_back({c.plan.units[size_t(k)].pieces[i].task, piece});
      else
        cells[it->second].second.new_docs += piece.new_docs;
    }
  for (const auto& [task_name, piece] : cells) res.cells.push_back(finish_cell(store, task_name, piece));
  return res;
}

}  // namespace supra
