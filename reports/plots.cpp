// The report's plots, read from the views: metric vs context length per task, passkey heatmaps, perplexity by
// position, and speed/memory vs context length from bench_results. A plot whose data is absent is not made.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "reports/report.h"
#include "store/db.h"
#include "reports/svg.h"

namespace supra::reports {

namespace {

std::string series_label(const std::string& model, const std::string& mode) { return model + " · " + mode; }

std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
  return out;
}

// One colour per (model, mode) series, in sorted order; SUPRA series also dashed with square markers, so softmax
// and SUPRA stay apart in grey print.
struct Styler {
  std::map<std::string, size_t> color;
  static std::string key(const std::string& model, const std::string& mode) { return model + "\x1f" + mode; }
  void add(const std::string& model, const std::string& mode) { color.emplace(key(model, mode), 0); }
  void freeze() {
    size_t i = 0;
    for (auto& [m, c] : color) c = i++;
  }
  PlotSeries series(const std::string& model, const std::string& mode, std::string label) const {
    PlotSeries s;
    s.label = std::move(label);
    auto it = color.find(key(model, mode));
    s.color = it == color.end() ? 0 : it->second;
    s.dashed = s.square = mode == "supra";
    return s;
  }
  // The series of (model, mode) for rows ordered by model and mode: a new one (also listed in plot.series) when the
  // pair differs from the previous row's (`prev` holds that row's key).
  PlotSeries& series_of_row(LinePlot& p, Plot& plot, std::string& prev, const std::string& model,
                            const std::string& mode) const {
    if (key(model, mode) != prev) {
      p.series.push_back(series(model, mode, series_label(model, mode)));
      plot.series.push_back(p.series.back().label);
      prev = key(model, mode);
    }
    return p.series.back();
  }
};

std::string fmt_opt(std::optional<double> v, int p) { return v ? fmt::format("{:.{}f}", *v, p) : "–"; }

void metric_vs_ctx(Db& db, const ReportReference& ref, std::vector<Plot>& out) {
  std::map<std::string, std::string> metric;  // task -> metric: tasks a model has at >= 2 context lengths
  {
    Stmt q(db, kLongTaskSql);
    while (q.step())
      if (q.i64(1) >= 2) metric[q.text(0)] = q.text(2);
  }
  for (auto& [task, m] : metric) {
    Styler st;
    {
      Stmt q(db, "SELECT DISTINCT model, mode FROM v_long_context WHERE task = ?");
      q.bind(1, task);
      while (q.step()) st.add(q.text(0), q.text(1));
      st.freeze();
    }
    LinePlot p;
    std::string label = task;
    for (const RefColumn& c : ref.table2_tasks)
      if (c.task == task) label = c.label;
    p.title = fmt::format("{}: {} vs context length", label, m);
    p.x_label = "context length (tokens)";
    p.y_label = ref.is_percent(m) ? m + " (%)" : m;
    p.log2_x = true;
    if (ref.is_percent(m)) {
      // The chance level of a multiple-choice task, from the samples of the runs shown (v_chance).
      Stmt c(db, "SELECT avg(chance) FROM v_chance WHERE run_id IN (SELECT run_id FROM v_long_context WHERE task = ?)");
      c.bind(1, task);
      if (c.step() && !c.is_null(0)) p.hlines.push_back({c.f64(0), fmt::format("chance {:.1f}%", c.f64(0))});
    }
    Stmt q(db, "SELECT model, mode, ctx, value, stderr, n, beyond_train, train_ctx FROM v_long_context "
               "WHERE task = ? ORDER BY model, mode, ctx");
    q.bind(1, task);
    std::string prev;
    bool hollow = false;
    Plot plot;
    while (q.step()) {
      st.series_of_row(p, plot, prev, q.text(0), q.text(1));
      if (q.is_null(3)) continue;
      PlotPoint pt{double(q.i64(2)), q.f64(3), q.i64(6) != 0,
                   fmt::format("{} · ctx {}: {} ± {} (n={}){}", p.series.back().label, q.i64(2), fmt_opt(q.f64(3), 2),
                               fmt_opt(q.opt_f64(4), 2), q.is_null(5) ? 0 : q.i64(5),
                               q.i64(6) ? fmt::format(", beyond training ctx {}", q.i64(7)) : ""), std::nullopt};
      pt.err = q.opt_f64(4);
      hollow |= pt.hollow;
      p.series.back().points.push_back(pt);
    }
    p.note = "Bars: ± 1 standard error." + std::string(hollow ? " Hollow markers: beyond the training context." : "");
    plot.id = "ctx_" + slug(task);
    plot.section = "long_context";
    plot.title = p.title;
    plot.caption = fmt::format("{} ({}) vs context length, ± 1 standard error{}", task, m,
                               p.hlines.empty() ? "" : "; dotted: chance level from the runs' choices");
    plot.svg = render_line_plot(p);
    out.push_back(std::move(plot));
  }
}

void passkey_heatmaps(Db& db, const ReportReference& ref, std::vector<Plot>& out) {
  std::vector<std::pair<std::string, std::string>> models;
  {
    Stmt q(db, "SELECT DISTINCT model, mode FROM v_passkey ORDER BY model, mode");
    while (q.step()) models.push_back({q.text(0), q.text(1)});
  }
  for (auto& [model, mode] : models) {
    std::vector<int64_t> ctxs;
    std::vector<double> depths;
    std::string metric;
    {
      Stmt q(db, "SELECT DISTINCT ctx FROM v_passkey WHERE model = ? AND mode = ? ORDER BY ctx");
      q.bind(1, model).bind(2, mode);
      while (q.step()) ctxs.push_back(q.i64(0));
      Stmt d(db, "SELECT DISTINCT depth FROM v_passkey WHERE model = ? AND mode = ? ORDER BY depth");
      d.bind(1, model).bind(2, mode);
      while (d.step()) depths.push_back(d.f64(0));
      Stmt m(db, "SELECT min(metric) FROM v_passkey WHERE model = ? AND mode = ?");
      m.bind(1, model).bind(2, mode);
      if (m.step()) metric = m.text(0);
    }
    Heatmap h;
    h.title = fmt::format("Passkey retrieval: {}", series_label(model, mode));
    h.x_label = "context length";
    h.y_label = "depth";
    h.series_label = series_label(model, mode);
    for (int64_t c : ctxs) h.x_ticks.push_back(ctx_label(c));
    for (double d : depths) h.y_ticks.push_back(depth_label(d));
    h.cells.assign(depths.size(), std::vector<std::optional<double>>(ctxs.size()));
    double vmax = 0;
    Stmt q(db, "SELECT ctx, depth, value FROM v_passkey WHERE model = ? AND mode = ?");
    q.bind(1, model).bind(2, mode);
    while (q.step()) {
      const size_t c = size_t(std::find(ctxs.begin(), ctxs.end(), q.i64(0)) - ctxs.begin());
      const size_t r = size_t(std::find(depths.begin(), depths.end(), q.f64(1)) - depths.begin());
      if (!q.is_null(2) && r < depths.size() && c < ctxs.size()) {
        h.cells[r][c] = q.f64(2);
        vmax = std::max(vmax, q.f64(2));
      }
    }
    // Accuracy in percent runs 0..100; another metric, 0..its maximum.
    const bool pct = ref.is_percent(metric) || metric.starts_with("acc");
    h.vmin = 0;
    h.vmax = pct ? 100 : (vmax > 0 ? vmax : 1);
    h.precision = pct ? 0 : 2;
    h.note = fmt::format("{}{}; grey – = not evaluated.", metric, pct ? " (%)" : "");
    Plot plot;
    plot.id = "passkey_" + slug(model) + "_" + slug(mode);
    plot.section = "passkey";
    plot.title = h.title;
    plot.series = {h.series_label};
    plot.svg = render_heatmap(h);
    out.push_back(std::move(plot));
  }
}

// One series per (model, mode) of perplexity by position over one text: positions on a log2 axis, ± 1 standard error
// bars, hollow markers past the model's training context, a dotted line at it; log y when the values span > 10x.
struct PplSeriesRow {
  std::string model, mode;
  int64_t ctx, train_ctx, bucket;
  double ppl;
  std::optional<double> stderr_;
};

LinePlot ppl_plot(const std::vector<PplSeriesRow>& rows, const std::string& title, bool label_ctx, Plot& plot) {
  Styler st;
  for (const PplSeriesRow& r : rows) st.add(r.model, r.mode);
  st.freeze();
  LinePlot p;
  p.title = title;
  p.x_label = "token position";
  p.y_label = "perplexity";
  p.log2_x = !rows.empty();
  double lo = 0, hi = 0;
  std::set<int64_t> train;
  std::string prev;
  for (const PplSeriesRow& r : rows) {
    p.log2_x &= r.bucket > 0;
    if (Styler::key(r.model, r.mode) != prev) {
      std::string label = series_label(r.model, r.mode) + (label_ctx ? " @ " + ctx_label(r.ctx) : "");
      p.series.push_back(st.series(r.model, r.mode, label));
      plot.series.push_back(label);
      prev = Styler::key(r.model, r.mode);
    }
    PlotPoint pt{double(r.bucket), r.ppl, r.bucket > r.train_ctx,
                 fmt::format("{} · positions < {}: perplexity {:.2f}{}", p.series.back().label, r.bucket, r.ppl,
                             r.stderr_ ? fmt::format(" ± {:.2f}", *r.stderr_) : ""), std::nullopt};
    pt.err = r.stderr_;
    p.series.back().points.push_back(pt);
    lo = lo == 0 ? r.ppl : std::min(lo, r.ppl);
    hi = std::max(hi, r.ppl);
    train.insert(r.train_ctx);
  }
  p.log10_y = spans_more_than(lo, hi, 10);
  for (int64_t t : train)
    if (t > 0) p.vlines.push_back({double(t), "training ctx " + ctx_label(t)});
  p.note = "Bars: ± 1 standard error. Hollow markers: positions beyond the model's training context.";
  return p;
}

std::vector<PplSeriesRow> ppl_rows(Stmt& q) {
  std::vector<PplSeriesRow> rows;
  while (q.step())
    rows.push_back({q.text(0), q.text(1), q.i64(2), q.i64(3), q.i64(4), q.f64(5), q.opt_f64(6)});
  return rows;
}

// The key figure: per text, every model and mode overlaid at its longest swept length.
void ppl_by_position_overlaid(Db& db, std::vector<Plot>& out) {
  std::vector<std::string> tasks;
  {
    Stmt q(db, "SELECT DISTINCT task FROM v_ppl_position ORDER BY task");
    while (q.step()) tasks.push_back(q.text(0));
  }
  for (const std::string& task : tasks) {
    Stmt q(db, "SELECT v.model, v.mode, v.ctx, v.train_ctx, v.bucket, v.ppl, v.stderr FROM v_ppl_position v "
               "WHERE v.task = ?1 AND v.ctx = (SELECT max(w.ctx) FROM v_ppl_position w WHERE w.task = ?1 "
               "AND w.model = v.model AND w.mode = v.mode) ORDER BY v.model, v.mode, v.bucket");
    q.bind(1, task);
    const std::vector<PplSeriesRow> rows = ppl_rows(q);
    std::set<int64_t> ctxs;
    for (const PplSeriesRow& r : rows) ctxs.insert(r.ctx);
    Plot plot;
    const std::string at = ctxs.size() == 1 ? " at " + ctx_label(*ctxs.begin()) : " at each one's longest length";
    LinePlot p = ppl_plot(rows, "Perplexity by position: " + task_short_name(task) + at, ctxs.size() > 1, plot);
    p.width = 900;  // the key figure: wider than the per-length plots below it
    p.height = 460;
    plot.id = "ppl_position_" + slug(task);
    plot.section = "key";
    plot.title = p.title;
    plot.caption = fmt::format("Perplexity by token position of {}, every model and mode at its longest swept "
                               "context length{}, ± 1 standard error (over documents)",
                               task, p.log10_y ? " (log y axis: the values span more than 10x)" : "");
    plot.svg = render_line_plot(p);
    out.push_back(std::move(plot));
  }
}

// The same per context length, below the key figure.
void ppl_by_position(Db& db, std::vector<Plot>& out) {
  std::vector<std::pair<std::string, int64_t>> groups;
  {
    Stmt q(db, "SELECT DISTINCT task, ctx FROM v_ppl_position ORDER BY task, ctx");
    while (q.step()) groups.push_back({q.text(0), q.i64(1)});
  }
  for (auto& [task, ctx] : groups) {
    Stmt q(db, "SELECT model, mode, ctx, train_ctx, bucket, ppl, stderr FROM v_ppl_position WHERE task = ? AND "
               "ctx = ? ORDER BY model, mode, bucket");
    q.bind(1, task).bind(2, ctx);
    Plot plot;
    LinePlot p = ppl_plot(ppl_rows(q), task_short_name(task) + " @ " + ctx_label(ctx), false, plot);
    plot.id = fmt::format("ppl_position_{}_ctx{}", slug(task), ctx);
    plot.section = "ppl_by_position";
    plot.title = p.title;
    plot.caption = fmt::format("Perplexity by token position of {} at context length {}, ± 1 standard error",
                               task, ctx);
    plot.svg = render_line_plot(p);
    out.push_back(std::move(plot));
  }
}

void bench_plots(Db& db, std::vector<Plot>& out) {
  struct Pt {
    int64_t ctx;
    std::optional<double> v[5];
    std::optional<double> rss_over_baseline;  // in the peak RSS point's label; from bench_results (not in v_bench)
  };
  struct S {
    std::string mode, label;
    std::vector<Pt> pts;
  };
  std::vector<S> series;
  // Which configuration fields vary: only those go into the labels.
  bool vary_device = false, vary_threads = false, vary_batch = false;
  {
    Stmt q(db, "SELECT count(DISTINCT device || '/' || dtype), count(DISTINCT threads), count(DISTINCT batch) "
               "FROM v_bench");
    if (q.step()) vary_device = q.i64(0) > 1, vary_threads = q.i64(1) > 1, vary_batch = q.i64(2) > 1;
  }
  Stmt q(db, "SELECT model_name, mode, device, dtype, threads, batch, ctx, prefill_tok_s, decode_tok_s, state_mib, "
             "peak_rss_mib, peak_device_mib, "
             "(SELECT b.rss_over_baseline_mib FROM bench_results b WHERE b.id = v_bench.id) "
             "FROM v_bench ORDER BY model_name, mode, device, dtype, threads, batch, ctx");
  std::string prev;
  Styler st;
  while (q.step()) {
    std::string label = series_label(q.text(0), q.text(1));
    if (vary_device) label += " · " + q.text(2) + " " + q.text(3);
    if (vary_threads) label += fmt::format(" · {} threads", q.i64(4));
    if (vary_batch) label += fmt::format(" · batch {}", q.i64(5));
    if (label != prev) {
      series.push_back({q.text(1), label, {}});
      st.add(label, q.text(1));
      prev = label;
    }
    series.back().pts.push_back(
        {q.i64(6), {q.opt_f64(7), q.opt_f64(8), q.opt_f64(9), q.opt_f64(10), q.opt_f64(11)}, q.opt_f64(12)});
  }
  if (series.empty()) return;
  st.freeze();
  const char* ids[5] = {"bench_prefill_tok_s", "bench_decode_tok_s", "bench_state_mib", "bench_peak_rss_mib",
                        "bench_peak_device_mib"};
  const char* titles[5] = {"Prefill speed vs context length", "Decode speed vs context length",
                           "Sequence state memory vs context length",
                           "Peak resident memory of each configuration vs context length",
                           "Peak device memory vs context length"};
  const char* ylabels[5] = {"prefill tokens/s", "decode tokens/s", "KV cache / SUPRA state (MiB)",
                            "peak RSS of the configuration (MiB)",
                            "peak device memory (MiB)"};
  for (int k = 0; k < 5; k++) {
    bool any = false;
    for (const S& s : series)
      for (const Pt& pt : s.pts) any |= pt.v[k].has_value();
    if (!any) continue;  // e.g. device memory on a CPU-only store
    LinePlot p;
    p.title = titles[k];
    p.x_label = "context length (tokens)";
    p.y_label = ylabels[k];
    p.log2_x = true;
    p.y_from_zero = true;
    Plot plot;
    for (const S& s : series) {
      PlotSeries ps = st.series(s.label, s.mode, s.label);
      for (const Pt& pt : s.pts)
        if (pt.v[k]) {
          std::string tip = fmt::format("{} · ctx {}: {:.2f}", s.label, pt.ctx, *pt.v[k]);
          if (k == 3 && pt.rss_over_baseline)
            tip += fmt::format(" (+{:.2f} over the baseline before it)", *pt.rss_over_baseline);
          ps.points.push_back({double(pt.ctx), *pt.v[k], false, std::move(tip), std::nullopt});
        }
      p.series.push_back(std::move(ps));
      plot.series.push_back(s.label);
    }
    plot.id = ids[k];
    plot.section = "bench";
    plot.title = p.title;
    plot.svg = render_line_plot(p);
    out.push_back(std::move(plot));
  }
}

}  // namespace

std::vector<Plot> build_plots(Db& db, const ReportReference& ref) {
  std::vector<Plot> out;
  metric_vs_ctx(db, ref, out);
  passkey_heatmaps(db, ref, out);
  ppl_by_position_overlaid(db, out);
  ppl_by_position(db, out);
  bench_plots(db, out);
  return out;
}

}  // namespace supra::reports
