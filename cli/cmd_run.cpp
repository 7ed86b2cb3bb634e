// supra-eval run | sweep | tasks: evaluate models on tasks at context lengths, every result into the store.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstdio>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "cli/commands.h"
#include "cli/engine_options.h"
#include "cli/eval_args.h"
#include "harness/local_workers.h"
#include "harness/merge.h"
#include "harness/task_catalog.h"
#include "harness/work_plan.h"
#include "harness/state_memory.h"
#include "harness/task_runner.h"
#include "tasks/task.h"

namespace supra {

namespace {

void print_summary(const std::vector<RunOutcome>& outs) {
  std::printf("\n| model | mode | task | ctx | metric | value | stderr | n |\n|---|---|---|---:|---|---:|---:|---:|\n");
  for (const RunOutcome& o : outs)
    for (const MetricRow& m : o.metrics)
      std::printf("| %s | %s | %s | %ld | %s | %.4f | %s | %ld |\n", o.key.model.c_str(), o.key.mode.c_str(),
                  o.key.task.c_str(), long(o.key.ctx), m.name.c_str(), m.value,
                  std::isnan(m.stderr_) ? "-" : fmt::format("{:.4f}", m.stderr_).c_str(), long(m.n));
}

// Runs every task at every context length for one model, into the store. A cell whose run another live process
// is writing (RunBusy) stops a `run` with that process named; a `sweep` (skip_busy) does its other cells first, then
// comes back and waits for the busy ones, so two sweeps started side by side share the cells and each ends with the
// whole summary (a cell whose writer died is resumed).
void evaluate_model(const EvalArgs& a, const EngineOptions& eng, std::vector<int64_t> ctxs, bool skip_busy,
                    std::vector<RunOutcome>& outs) {
  const auto names = split_names(a.tasks, "--tasks");
  std::vector<std::unique_ptr<tasks::Task>> ts;
  for (const auto& n : names) ts.push_back(make_any_task(n));  // unknown names fail before any work
  // The run settings of every cell come from the plan settings, as a sweep's workers get theirs.
  const PlanSettings settings = plan_settings(a, eng, eng.model);
  EngineSession s = open_session(eng);
  if (ctxs.empty()) {
    // lm-eval's default max length is the model's own.
    const int64_t train_ctx = s.ckpt.config.train_ctx;
    if (train_ctx <= 0)
      fail("{}: --ctx not given, and the model's config records no training context (got {}); pass --ctx",
           s.ckpt.path, train_ctx);
    ctxs = {train_ctx};
    std::fprintf(stderr, "--ctx not given: using the model's training context %ld (%s)\n", long(train_ctx),
                 s.ckpt.path.c_str());
  }
  Store store(a.db);
  struct Cell {
    int64_t ctx;
    tasks::Task* task;
  };
  std::vector<Cell> cells;
  for (int64_t ctx : ctxs)
    for (auto& t : ts) cells.push_back({ctx, t.get()});
  auto run_cell = [&](const Cell& c) {
    PlanPiece whole;
    whole.ctx = c.ctx;
    whole.doc_hi = -1;
    RunSettings st = piece_settings(settings, whole, false);
    st.take_over = a.take_over;
    RunOutcome o = run_task(store, s, *c.task, st);
    std::fprintf(stderr, "%s %s ctx %ld: %ld docs (%ld new, %ld requests) in %.1fs, %ld forward calls of %.0f rows on average%s\n",
                 c.task->name().c_str(), o.key.mode.c_str(), long(c.ctx), long(o.n_docs), long(o.n_new_docs),
                 long(o.n_new_requests), o.seconds, long(o.forwards.calls), o.forwards.mean_rows(),
                 c.ctx > s.ckpt.config.train_ctx ? " [beyond training context]" : "");
    return o;
  };

  std::vector<std::optional<RunOutcome>> done(cells.size());
  std::vector<size_t> busy;
  for (size_t i = 0; i < cells.size(); i++) {
    try {
      done[i] = run_cell(cells[i]);
    } catch (const RunBusy& e) {
      if (!skip_busy) throw;
      busy.push_back(i);
      std::fprintf(stderr, "sweep: %s is being written by %s; doing the other cells first, then coming back to it\n",
                   e.run.c_str(), e.holder.describe().c_str());
    }
  }
  for (size_t i : busy) {
    bool told = false;
    while (!done[i]) {
      try {
        done[i] = run_cell(cells[i]);
      } catch (const RunBusy& e) {
        if (!told)
          std::fprintf(stderr,
                       "sweep: waiting for %s, which pid %ld on host %s is writing (since %s, last progress %s); its "
                       "results go into the store either way, and stopping this sweep loses nothing\n",
                       e.run.c_str(), long(e.holder.pid), e.holder.host.c_str(), e.holder.started_at.c_str(),
                       e.holder.heartbeat_at.c_str());
        told = true;
        // Cheap polling of the lease alone; the cell is tried again once no live process holds it (finished:
        // its results are read back; died: it is resumed here).
        while (store.live_foreign_lease(e.run_id)) std::this_thread::sleep_for(std::chrono::seconds(2));
      }
    }
  }
  for (auto& o : done) outs.push_back(std::move(*o));
}

// `sweep --workers N`: the sweep planned into about 2N units (or the plan already in the folder, resumed), run by N
// local workers, merged into --db; the summary is read back from the merged store.
void sweep_with_workers(const EvalArgs& a, const std::string& models, int workers, const std::string& dir,
                        const std::string& gpus) {
  const PlanSettings settings = plan_settings(a, a.eng, models);
  Plan plan;
  if (std::filesystem::exists(plan_file(dir))) {
    plan = read_plan(dir);  // resumed: its finished units are kept
    if (plan.settings.to_json() != settings.to_json())
      fail("{}: holds a plan of another sweep; remove the folder or pass another --plan-dir", plan_file(dir));
  } else {
    const int64_t cells = int64_t(settings.models.size() * std::max<size_t>(1, settings.ctxs.size()) *
                                  settings.tasks.size());
    plan = make_plan(settings, std::max<int64_t>(cells, 2 * int64_t(workers)), "");
    write_plan(plan, dir);
  }
  std::fprintf(stderr, "sweep: plan %s, %zu units, %d workers (%s)\n", plan.id.c_str(), plan.units.size(), workers,
               dir.c_str());
  LocalWorkersOptions o;
  o.workers = workers;
  o.threads = a.eng.threads;
  if (!gpus.empty()) o.gpus = split_names(gpus, "--gpus");
  o.supra_bin = this_binary();
  const int failed = run_local_workers(dir, o);
  if (failed > 0) std::fprintf(stderr, "sweep: %d worker(s) ended with an error\n", failed);
  const MergeResult m = merge_shards(a.db, {}, dir);
  std::fprintf(stderr, "sweep: merged %ld units of plan %s into %s (%ld new documents)\n", long(m.units),
               m.plan_id.c_str(), a.db.c_str(), long(m.new_docs));
  print_summary(m.cells);
}

}  // namespace

void register_run(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand("run", "evaluate one model on tasks at one or more context lengths");
  add_engine_options(*cmd, a->eng);
  a->add_to(*cmd);
  cmd->add_option("--ctx", a->ctx,
                  "context length(s), e.g. 2048 or 512,1024 (default: the model's training context)");
  cmd->callback([a] {
    std::vector<RunOutcome> outs;
    evaluate_model(*a, a->eng, parse_ctx(a->ctx), false, outs);
    print_summary(outs);
  });
}

void register_sweep(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto models = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("sweep", "models x tasks x context lengths; each cell a resumable run");
  add_engine_options(*cmd, a->eng, false);
  a->add_to(*cmd);
  cmd->add_option("--models", *models, "comma-separated models (files or folders); each runs in its own mode")
      ->required();
  cmd->add_option("--ctx", a->ctx,
                  "context lengths, e.g. 128,256,512,1024 (default: each model's own training context)");
  auto workers = std::make_shared<int>(0);
  auto plan_dir = std::make_shared<std::string>();
  auto gpus = std::make_shared<std::string>();
  cmd->add_option("--workers", *workers,
                  "run the sweep as work units with N local worker processes (each with --threads, or one of "
                  "--gpus), then merge them into --db")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--plan-dir", *plan_dir, "with --workers: the plan's folder (default: <db>.units)");
  cmd->add_option("--gpus", *gpus, "with --workers: one CUDA_VISIBLE_DEVICES value per worker, e.g. 0,1,2,3");
  cmd->callback([a, models, workers, plan_dir, gpus] {
    if (*workers > 0) {
      sweep_with_workers(*a, *models, *workers, plan_dir->empty() ? a->db + ".units" : *plan_dir, *gpus);
      return;
    }
    const auto ctxs = parse_ctx(a->ctx);
    std::vector<RunOutcome> outs;
    for (const auto& m : split_names(*models, "--models")) {
      EngineOptions eng = a->eng;
      eng.model = m;
      evaluate_model(*a, eng, ctxs, true, outs);
    }
    print_summary(outs);
  });
}

void register_tasks(CLI::App& app) {
  auto data_root = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("tasks", "list the built-in tasks with their data and sizes");
  cmd->add_option("--data", *data_root, "dataset root (default: the bundled datasets/data)");
  cmd->callback([data_root] {
    std::printf("| task | version | docs | shots | data | description |\n|---|---:|---:|---:|---|---|\n");
    for (const tasks::TaskFactory& row : task_catalog()) {
      if (row.path == tasks::TaskPath::Required) {  // a family named by a path, e.g. perplexity:<path>
        std::printf("| %s | | | | | %s |\n", tasks::listed_name(row).c_str(), row.description.c_str());
        continue;
      }
      const std::string& n = row.name;
      auto t = row.make("");
      std::string docs = "?";
      try {
        t->load(*data_root);
        docs = std::to_string(t->size());
      } catch (const std::exception& e) {
        docs = "unavailable";
      }
      std::printf("| %s | %d | %s | %d | %s/%s | %s |\n", n.c_str(), t->version(), docs.c_str(), t->default_shots(),
                  t->dataset().c_str(), t->split().c_str(), t->description().c_str());
    }
  });
}

}  // namespace supra
