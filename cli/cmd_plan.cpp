// supra-eval plan | status: a sweep's work units (sized by cost) into a plan folder, and where each unit stands.
#include <cmath>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/eval_args.h"
#include "harness/slurm_submit.h"
#include "harness/unit_status.h"
#include "harness/work_plan.h"

namespace supra {

namespace {

std::string hours(const std::optional<double>& seconds) {
  return seconds ? fmt::format("{:.3g}", *seconds / 3600.0) : std::string("-");
}

std::string describe_pieces(const Plan& plan, const PlanUnit& u) {
  std::string s;
  for (const PlanPiece& p : u.pieces)
    s += fmt::format("{}{} {} ctx {} docs {}-{}", s.empty() ? "" : "; ",
                     std::filesystem::path(plan.settings.models[size_t(p.model)]).filename().string(), p.task, p.ctx,
                     p.doc_lo, p.doc_hi);
  return s;
}

void print_plan(const Plan& plan, const std::string& dir) {
  std::printf("plan %s in %s: %zu units\n\n", plan.id.c_str(), dir.c_str(), plan.units.size());
  std::printf("| unit | tokens | generated | est. hours | pieces |\n|---:|---:|---:|---:|---|\n");
  double tokens = 0, gen = 0, secs = 0;
  bool timed = true;
  for (size_t k = 0; k < plan.units.size(); k++) {
    const PlanUnit& u = plan.units[k];
    std::printf("| %zu | %.0f | %.0f | %s | %s |\n", k, u.tokens, u.gen_tokens, hours(u.seconds).c_str(),
                describe_pieces(plan, u).c_str());
    tokens += u.tokens;
    gen += u.gen_tokens;
    if (u.seconds) secs += *u.seconds; else timed = false;
  }
  const char* unit = plan.settings.device == "cuda" ? "GPU" : "CPU";
  std::printf("\ntotal: %.0f tokens read, %.0f generated; estimated %s %s-hours\n", tokens, gen,
              timed ? fmt::format("{:.3g} ({:.0f} s)", secs / 3600.0, secs).c_str() : "-", unit);
  for (const std::string& n : plan.notes) std::printf("note: %s\n", n.c_str());
}

}  // namespace

void register_plan(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  auto models = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto units = std::make_shared<int64_t>(0);
  auto* cmd = app.add_subcommand("plan", "split a sweep into work units sized by cost (for submit, work, merge)");
  add_engine_options(*cmd, a->eng, false);
  a->add_to(*cmd);
  cmd->add_option("--models", *models, "comma-separated models (files or folders)")->required();
  cmd->add_option("--ctx", a->ctx, "context lengths (default: each model's own training context)");
  cmd->add_option("--out", *out, "the plan's folder (plan.json, shards/, logs/, slurm/)")->required();
  cmd->add_option("--units", *units,
                  "about this many units (default: one per cell; costly cells are split by document range, small "
                  "cells of one model packed)")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([a, models, out, units] {
    if (std::filesystem::exists(plan_file(*out)))
      fail("{}: a plan is already there; use another --out, or remove the folder to plan again", plan_file(*out));
    const Plan plan = make_plan(plan_settings(*a, a->eng, *models), *units, a->db);
    write_plan(plan, *out);
    print_plan(plan, *out);
  });
}

void register_status(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("status", "where each unit of a plan stands: done, running, failed, pending");
  cmd->add_option("--plan", *dir, "the plan's folder")->required();
  cmd->callback([dir] {
    const Plan plan = read_plan(*dir);
    std::map<UnitState, int> count;
    std::printf("| unit | state | host | pid | job | gpu | attempts | started | ended | note |\n"
                "|---:|---|---|---:|---|---|---:|---|---|---|\n");
    // Where squeue runs, a unit whose worker on another node lost its job reads as failed at once.
    const auto live = slurm_live_jobs();
    for (const UnitStatus& s : plan_status(plan, *dir, live ? &*live : nullptr)) {
      count[s.state]++;
      const UnitRecord* r = s.record ? &*s.record : nullptr;
      std::printf("| %ld | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", long(s.unit), unit_state_name(s.state),
                  r ? r->holder.host.c_str() : "", r ? std::to_string(r->holder.pid).c_str() : "",
                  r ? r->job_id.c_str() : "", r ? r->gpu.c_str() : "", r ? std::to_string(r->attempts).c_str() : "",
                  r ? r->holder.started_at.c_str() : "", r ? r->finished_at.c_str() : "", s.why.c_str());
    }
    std::printf("\nplan %s: %d done, %d running, %d failed, %d pending (of %zu)\n", plan.id.c_str(),
                count[UnitState::Done], count[UnitState::Running], count[UnitState::Failed],
                count[UnitState::Pending], plan.units.size());
  });
}

}  // namespace supra
