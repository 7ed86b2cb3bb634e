// "What the data shows": the report's opening sentences, each computed from the views (no number is written by
// hand), with the store values it quotes so a test can hold every quoted number to the store.
#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "reports/report.h"
#include "reports/svg.h"
#include "reports/table.h"
#include "store/db.h"

namespace supra::reports {

namespace {

std::string f2(double v) { return fmt::format("{:.2f}", v); }

std::string label(const std::string& model, const std::string& mode) { return model + " · " + mode; }

// Per text: where each model's perplexity by position stops improving, at its longest swept length.
void ppl_findings(Db& db, std::vector<Finding>& out) {
  std::vector<std::string> tasks;
  {
    Stmt q(db, "SELECT DISTINCT task FROM v_ppl_position ORDER BY task");
    while (q.step()) tasks.push_back(q.text(0));
  }
  for (const std::string& task : tasks) {
    struct Pt {
      int64_t lo, hi;
      double ppl;
    };
    std::vector<std::pair<std::string, std::vector<Pt>>> series;  // label @ ctx -> buckets in order
    Stmt q(db, "SELECT v.model, v.mode, v.ctx, v.bucket, v.ppl FROM v_ppl_position v WHERE v.task = ?1 AND v.ctx = "
               "(SELECT max(w.ctx) FROM v_ppl_position w WHERE w.task = ?1 AND w.model = v.model AND w.mode = v.mode) "
               "ORDER BY v.model, v.mode, v.bucket");
    q.bind(1, task);
    std::string prev;
    while (q.step()) {
      const std::string l = fmt::format("{} (at {})", label(q.text(0), q.text(1)), q.i64(2));
      if (l != prev) series.push_back({l, {}}), prev = l;
      auto& pts = series.back().second;
      pts.push_back({pts.empty() ? 0 : pts.back().hi, q.i64(3), q.f64(4)});
    }
    Finding f;
    std::vector<std::string> parts;
    for (auto& [l, pts] : series) {
      const auto best = std::min_element(pts.begin(), pts.end(), [](const Pt& a, const Pt& b) { return a.ppl < b.ppl; });
      const Pt& last = pts.back();
      f.quoted.push_back({l + " lowest perplexity", best->ppl});
      if (best == pts.end() - 1) {
        parts.push_back(fmt::format("{} still improves at its last positions ({}, positions {}-{})", l,
                                    f2(last.ppl), last.lo, last.hi - 1));
      } else {
        f.quoted.push_back({l + " last perplexity", last.ppl});
        parts.push_back(fmt::format("{} stops improving at positions {}-{} ({}) and ends at {} (positions {}-{})", l,
                                    best->lo, best->hi - 1, f2(best->ppl), f2(last.ppl), last.lo, last.hi - 1));
      }
    }
    if (parts.empty()) continue;
    std::string s = "Perplexity by position on " + task_short_name(task) + ": ";
    for (size_t i = 0; i < parts.size(); i++) s += (i ? "; " : "") + parts[i];
    f.text = s + ".";
    out.push_back(std::move(f));
  }
}

// The effective context length of each model and mode on each long-context task (v_effective_ctx).
void effective_ctx_findings(Db& db, std::vector<Finding>& out) {
  Stmt q(db, "SELECT model, mode, task, effective_ctx, first_fail_ctx, min_ctx, max_ctx, threshold, max_rise_pct "
             "FROM v_effective_ctx ORDER BY model, mode, task");
  std::map<std::string, std::vector<std::string>> per_model;  // ordered by label
  Finding f;
  double threshold = 0, rise = 0;
  while (q.step()) {
    const std::string l = label(q.text(0), q.text(1)), t = task_short_name(q.text(2));
    threshold = q.f64(7), rise = q.f64(8);
    if (q.is_null(3)) {
      per_model[l].push_back(fmt::format("below {} on {}", q.i64(5), t));
    } else if (q.is_null(4)) {
      per_model[l].push_back(fmt::format("at least {} on {} (no swept length fails)", q.i64(3), t));
      f.quoted.push_back({l + " " + t, double(q.i64(3))});
    } else {
      per_model[l].push_back(fmt::format("{} on {}", q.i64(3), t));
      f.quoted.push_back({l + " " + t, double(q.i64(3))});
    }
  }
  if (per_model.empty()) return;
  std::string s = fmt::format("Effective context length (the longest swept length up to which every length passes: "
                              "a score of at least {}, a perplexity at most {}% above its best at a shorter length): ",
                              tick_label(threshold), tick_label(rise));
  bool first = true;
  for (auto& [l, parts] : per_model) {
    s += (first ? "" : "; ") + l + " ";
    for (size_t i = 0; i < parts.size(); i++) s += (i ? ", " : "") + parts[i];
    first = false;
  }
  f.text = s + ".";
  out.push_back(std::move(f));
}

// SUPRA's decode speed and state against its softmax counterpart's, at the longest length both were benchmarked at.
void speed_findings(Db& db, std::vector<Finding>& out) {
  Stmt q(db, R"sql(
SELECT s.model_name, x.model_name, s.device, s.dtype, s.threads, s.batch, s.ctx,
       s.decode_tok_s, x.decode_tok_s, s.state_mib, x.state_mib
FROM v_bench s JOIN v_bench x
  ON s.mode = 'supra' AND x.mode = 'softmax' AND s.device = x.device AND s.dtype = x.dtype
 AND s.threads = x.threads AND s.batch = x.batch AND s.ctx = x.ctx
 AND (x.model_name = s.model_name
      OR lower(x.model_name) IN (SELECT key FROM report_ref_models WHERE name =
                                 (SELECT base FROM report_ref_models WHERE key = lower(s.model_name))))
WHERE s.decode_tok_s IS NOT NULL AND x.decode_tok_s IS NOT NULL
ORDER BY s.model_name, x.model_name, s.device, s.dtype, s.threads, s.batch, s.ctx DESC)sql");
  std::string prev;
  int n = 0;
  while (q.step() && n < 2) {
    const std::string key = fmt::format("{}|{}|{}|{}|{}|{}", q.text(0), q.text(1), q.text(2), q.text(3), q.i64(4),
                                        q.i64(5));
    if (key == prev) continue;  // only the longest length of each pair and configuration
    prev = key;
    n++;
    const double ds = q.f64(7), dx = q.f64(8);
    Finding f;
    f.quoted = {{"supra decode tok/s", ds}, {"softmax decode tok/s", dx}};
    std::string state;
    if (!q.is_null(9) && !q.is_null(10)) {
      f.quoted.push_back({"supra state MiB", q.f64(9)});
      f.quoted.push_back({"softmax state MiB", q.f64(10)});
      state = fmt::format(", with {} MiB of state per sequence against {} MiB of KV cache", f2(q.f64(9)),
                          f2(q.f64(10)));
    }
    f.text = fmt::format("At {} tokens ({} {}, {} threads, batch {}), {} (SUPRA) decodes {} tokens/s against {} "
                         "(softmax) {} ({}x){}.",
                         q.i64(6), q.text(2), q.text(3), q.i64(4), q.i64(5), q.text(0), f2(ds), q.text(1), f2(dx),
                         f2(dx > 0 ? ds / dx : 0), state);
    out.push_back(std::move(f));
  }
}

// Softmax-vs-SUPRA differences of the headline metrics beyond two standard errors of the difference.
void difference_findings(Db& db, std::vector<Finding>& out) {
  struct Diff {
    std::string task, metric;
    int64_t ctx;
    double softmax, supra, delta, se, z;
    bool higher_is_better;
  };
  std::vector<Diff> all;
  Stmt q(db, "SELECT task, metric, ctx, softmax_value, supra_value, delta, softmax_stderr, supra_stderr, "
             "higher_is_better FROM v_pairs WHERE is_primary = 1 AND delta IS NOT NULL AND softmax_stderr IS NOT NULL "
             "AND supra_stderr IS NOT NULL");
  while (q.step()) {
    const double se = std::sqrt(q.f64(6) * q.f64(6) + q.f64(7) * q.f64(7));
    if (!(se > 0)) continue;
    all.push_back({q.text(0), q.text(1), q.i64(2), q.f64(3), q.f64(4), q.f64(5), se, std::abs(q.f64(5)) / se,
                   q.i64(8) != 0});
  }
  if (all.empty()) return;
  std::sort(all.begin(), all.end(), [](const Diff& a, const Diff& b) { return a.z > b.z; });
  const size_t n_sig = size_t(std::count_if(all.begin(), all.end(), [](const Diff& d) { return d.z > 2; }));
  Finding f;
  auto describe = [&](const Diff& d) {
    f.quoted.push_back({d.task + " softmax", d.softmax});
    f.quoted.push_back({d.task + " supra", d.supra});
    const bool favours_supra = (d.delta > 0) == d.higher_is_better;
    return fmt::format("{} {} at {}: SUPRA {} vs softmax {} ({}{} ± {}, {:.1f} standard errors, in {}'s favour)",
                       task_short_name(d.task), d.metric, d.ctx, f2(d.supra), f2(d.softmax), d.delta > 0 ? "+" : "",
                       f2(d.delta), f2(d.se), d.z, favours_supra ? "SUPRA" : "softmax");
  };
  if (n_sig == 0) {
    f.text = fmt::format("None of the {} softmax-vs-SUPRA comparisons (headline metric, same task and context length) "
                         "differs by more than 2 standard errors; the largest is {}.",
                         all.size(), describe(all.front()));
  } else {
    std::string list;
    for (size_t i = 0; i < std::min<size_t>(3, n_sig); i++) list += (i ? "; " : "") + describe(all[i]);
    f.text = fmt::format("{} of the {} softmax-vs-SUPRA comparisons (headline metric, same task and context length) "
                         "differ by more than 2 standard errors; the largest: {}.",
                         n_sig, all.size(), list);
  }
  out.push_back(std::move(f));
}

}  // namespace

std::vector<Finding> build_findings(Db& db) {
  std::vector<Finding> out;
  ppl_findings(db, out);
  effective_ctx_findings(db, out);
  speed_findings(db, out);
  difference_findings(db, out);
  return out;
}

}  // namespace supra::reports
