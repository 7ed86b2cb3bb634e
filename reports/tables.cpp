// The report's tables, read from the views (reports/views.cpp) and laid out like the paper's tables.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "reports/report.h"
#include "store/db.h"

namespace supra::reports {

namespace {

constexpr int kOurPrecision = 2;    // our metrics: 2 decimals in display units (percent for fractions)
constexpr int kPaperPrecision = 1;  // Table 1 prints 1 decimal
constexpr int kPaper2Precision = 2;  // Table 2 prints 2 decimals

std::string label_for_task(const ReportReference& ref, const std::string& task) {
  for (const RefColumn& c : ref.table2_tasks)
    if (c.task == task) return c.label;
  for (const RefColumn& c : ref.table1_columns)
    if (c.task == task) return c.label;
  return task;
}

std::string metric_label(const ReportReference& ref, const std::string& metric) {
  return ref.is_percent(metric) ? metric + ", %" : metric;
}

Column text_col(std::string label, std::string key) {
  Column c;
  c.label = std::move(label);
  c.key = std::move(key);
  return c;
}

Column num_col(std::string label, std::string key, bool stats = false, bool mark = false) {
  Column c;
  c.label = std::move(label);
  c.key = std::move(key);
  c.numeric = true;
  c.csv_stderr = stats;
  c.csv_n = stats;
  c.csv_mark = mark;
  return c;
}

// ---------------------------------------------------------------- Table 1

Table nlu_table(Db& db, const ReportReference& ref) {
  Table t;
  t.id = "nlu";
  t.title = "NLU tasks (layout of the paper's Table 1)";
  std::string metrics;
  for (const RefColumn& c : ref.table1_columns)
    metrics += fmt::format("{}{} {}", metrics.empty() ? "" : ", ", c.label, c.metric);
  t.caption = fmt::format("100 × metric ± stderr (n = documents); {}. One row per model, attention mode and context "
                          "length; the paper's row (italic) follows ours where the model matches.",
                          metrics);
  t.cols = {text_col("Model", "model"), text_col("Mode", "mode"), num_col("Ctx", "ctx")};
  for (const RefColumn& c : ref.table1_columns) t.cols.push_back(num_col(c.label, c.task, true, true));
  t.cols.push_back(num_col("Avg", "avg"));

  std::map<std::string, std::vector<double>> paper;  // paper model -> values..., avg
  for (const RefNluRow& r : ref.table1_rows) {
    paper[r.model] = r.values;
    paper[r.model].push_back(r.avg);
  }

  std::string sql = "SELECT model, mode, ctx, beyond_train, avg, paper_model";
  for (const RefColumn& c : ref.table1_columns)
    sql += fmt::format(", \"{0}\", \"{0}_stderr\", \"{0}_n\"", c.task);
  sql += " FROM v_nlu_table ORDER BY model, mode, ctx";
  Stmt q(db, sql);
  std::string prev_key, prev_paper, prev_mode;
  auto flush_paper = [&] {
    if (prev_paper.empty()) return;
    auto it = paper.find(prev_paper);
    if (it == paper.end()) return;
    Row r;
    r.reference = true;
    r.cells = {Cell::str(prev_paper + " (paper)"), Cell::str(prev_mode), Cell::str("")};
    for (double v : it->second) r.cells.push_back(Cell::num(v, kPaperPrecision));
    t.rows.push_back(std::move(r));
  };
  while (q.step()) {
    const std::string key = q.text(0) + "\x1f" + q.text(1);
    if (key != prev_key) {
      flush_paper();
      prev_key = key;
      prev_paper = q.text(5);
      prev_mode = q.text(1);
    }
    Row r;
    r.cells = {Cell::str(q.text(0)), Cell::str(q.text(1)), Cell::integer(q.i64(2))};
    const bool beyond = q.i64(3) != 0;
    for (size_t i = 0; i < ref.table1_columns.size(); i++) {
      const int c = 6 + 3 * int(i);
      Cell cell = Cell::num(q.opt_f64(c), kOurPrecision, q.opt_f64(c + 1), q.opt_i64(c + 2));
      cell.beyond = beyond && cell.value.has_value();
      r.cells.push_back(cell);
    }
    r.cells.push_back(Cell::num(q.opt_f64(4), kOurPrecision));
    t.rows.push_back(std::move(r));
  }
  flush_paper();
  t.notes = {"– = not evaluated (never 0).",
             "† = context length beyond the model's training context.",
             fmt::format("Avg = mean of the {} task columns, shown only when all are present "
                         "(v_nlu_table.avg_present has the mean of those present).",
                         ref.table1_columns.size())};
  if (std::any_of(t.rows.begin(), t.rows.end(), [](const Row& r) { return r.reference; }))
    t.notes.push_back("Paper rows: " + ref.table1_caption + ", " + ref.source + ".");
  return t;
}

Table paper_table1(const ReportReference& ref) {
  Table t;
  t.id = "paper_table1";
  t.title = "The paper's " + ref.table1_caption;
  t.caption = ref.source;
  t.cols = {text_col("Model", "model"), text_col("Mode", "mode")};
  for (const RefColumn& c : ref.table1_columns) t.cols.push_back(num_col(c.label, c.task));
  t.cols.push_back(num_col("Avg", "avg"));
  for (const RefNluRow& r : ref.table1_rows) {
    Row row;
    row.reference = true;
    row.cells = {Cell::str(r.model), Cell::str(r.mode)};
    for (double v : r.values) row.cells.push_back(Cell::num(v, kPaperPrecision));
    row.cells.push_back(Cell::num(r.avg, kPaperPrecision));
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table paper_table2(const ReportReference& ref) {
  Table t;
  t.id = "paper_table2";
  t.title = "The paper's " + ref.table2_caption;
  t.caption = ref.source + ". † = beyond the model's training context.";
  t.cols = {text_col("Model", "model"), text_col("Mode", "mode"), num_col("Train ctx", "train_ctx")};
  for (const RefColumn& c : ref.table2_tasks)
    for (int64_t ctx : ref.table2_ctx) {
      Column col = num_col(ctx_label(ctx), fmt::format("{}_{}", c.task, ctx), false, true);
      col.group = c.label + " (" + c.metric + ")";
      t.cols.push_back(col);
    }
  for (const RefLongRow& r : ref.table2_rows) {
    Row row;
    row.reference = true;
    row.cells = {Cell::str(r.model), Cell::str(r.mode), Cell::integer(r.train_ctx)};
    for (const RefColumn& c : ref.table2_tasks) {
      auto it = r.values.find(c.task);
      for (size_t i = 0; i < ref.table2_ctx.size(); i++) {
        Cell cell = Cell::num(it == r.values.end() ? std::nullopt : std::optional<double>(it->second[i]),
                              kPaper2Precision);
        cell.beyond = cell.value && ref.table2_ctx[i] > r.train_ctx;
        row.cells.push_back(cell);
      }
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

// ---------------------------------------------------------------- Table 2

struct LongCell {
  std::optional<double> value, stderr_;
  std::optional<int64_t> n;
  bool beyond = false;
};

}  // namespace

// Per task: the most context lengths any one (model, mode) has, and the task's headline metric. The probes
// (passkey*, ppl_by_position*) have their own tables and plots.
const char* kLongTaskSql =
    "SELECT task, max(k), min(metric) FROM (SELECT task, model, mode, count(DISTINCT ctx) AS k, min(metric) AS metric "
    "FROM v_long_context WHERE task NOT GLOB 'passkey*' AND task NOT GLOB 'ppl_by_position*' "
    "GROUP BY task, model, mode) GROUP BY task ORDER BY task";

namespace {

// Tasks of the long-context table: every task that some model has at two or more context lengths, and the paper's
// Table 2 tasks wherever present. Paper's tasks first, in its order.
std::vector<std::pair<std::string, std::string>> long_tasks(Db& db, const ReportReference& ref) {
  std::vector<std::pair<std::string, std::string>> out;  // task, metric
  std::map<std::string, std::pair<int64_t, std::string>> info;  // task -> (distinct ctx, metric)
  Stmt q(db, kLongTaskSql);
  while (q.step()) info[q.text(0)] = {q.i64(1), q.text(2)};
  for (const RefColumn& c : ref.table2_tasks) {
    auto it = info.find(c.task);
    if (it != info.end()) {
      out.push_back({c.task, it->second.second});
      info.erase(it);
    }
  }
  for (auto& [task, v] : info)
    if (v.first >= 2) out.push_back({task, v.second});
  return out;
}

Table long_context_table(Db& db, const ReportReference& ref) {
  Table t;
  t.id = "long_context";
  t.title = "Tasks × context lengths (layout of the paper's Table 2)";
  t.caption = "Each task's headline metric (fractions × 100) ± stderr (n = documents), per model and attention mode "
              "at each context length; the input is cut to the context length (the run's truncation policy).";
  const auto tasks = long_tasks(db, ref);
  if (tasks.empty()) return t;

  // Models shown: every (model, mode) with a value for one of these tasks.
  struct Series {
    std::string model, mode, paper;
    int64_t train_ctx = 0;
    std::map<std::pair<std::string, int64_t>, LongCell> cells;
  };
  std::vector<Series> series;
  std::map<std::string, size_t> index;
  std::map<std::string, std::set<int64_t>> ctxs;
  std::set<std::string> task_set;
  for (auto& [task, metric] : tasks) task_set.insert(task);
  {
    Stmt q(db,
           "SELECT l.model, l.mode, l.task, l.ctx, l.value, l.stderr, l.n, l.beyond_train, m.train_ctx, "
           "m.paper_table2 FROM v_long_context l JOIN v_models m ON m.model_label = l.model AND m.mode = l.mode "
           "ORDER BY l.model, l.mode");
    while (q.step()) {
      const std::string task = q.text(2);
      if (!task_set.count(task)) continue;
      const std::string key = q.text(0) + "\x1f" + q.text(1);
      if (!index.count(key)) {
        index[key] = series.size();
        series.push_back({q.text(0), q.text(1), q.text(9), q.i64(8), {}});
      }
      Series& s = series[index[key]];
      s.cells[{task, q.i64(3)}] = {q.opt_f64(4), q.opt_f64(5), q.opt_i64(6), q.i64(7) != 0};
      ctxs[task].insert(q.i64(3));
    }
  }
  // Paper rows shown beside ours bring their context lengths into the columns of their tasks.
  std::map<std::string, const RefLongRow*> paper_rows;
  for (const RefLongRow& r : ref.table2_rows) paper_rows[r.model] = &r;
  for (const Series& s : series) {
    auto it = paper_rows.find(s.paper);
    if (s.paper.empty() || it == paper_rows.end()) continue;
    for (auto& [task, vals] : it->second->values)
      if (task_set.count(task)) ctxs[task].insert(ref.table2_ctx.begin(), ref.table2_ctx.end());
  }

  t.cols = {text_col("Model", "model"), text_col("Mode", "mode"), num_col("Train ctx", "train_ctx")};
  for (auto& [task, metric] : tasks)
    for (int64_t ctx : ctxs[task]) {
      Column c = num_col(ctx_label(ctx), fmt::format("{}_{}", task, ctx), true, true);
      c.group = label_for_task(ref, task) + " (" + metric_label(ref, metric) + ")";
      t.cols.push_back(c);
    }
  for (const Series& s : series) {
    Row r;
    r.cells = {Cell::str(s.model), Cell::str(s.mode), Cell::integer(s.train_ctx)};
    for (auto& [task, metric] : tasks)
      for (int64_t ctx : ctxs[task]) {
        auto it = s.cells.find({task, ctx});
        if (it == s.cells.end()) {
          r.cells.push_back(Cell::num(std::nullopt, kOurPrecision));
          continue;
        }
        Cell c = Cell::num(it->second.value, kOurPrecision, it->second.stderr_, it->second.n);
        c.beyond = it->second.beyond && c.value.has_value();
        r.cells.push_back(c);
      }
    t.rows.push_back(std::move(r));
    auto pit = paper_rows.find(s.paper);
    if (s.paper.empty() || pit == paper_rows.end()) continue;
    const RefLongRow& p = *pit->second;
    Row pr;
    pr.reference = true;
    pr.cells = {Cell::str(p.model + " (paper)"), Cell::str(p.mode), Cell::integer(p.train_ctx)};
    for (auto& [task, metric] : tasks)
      for (int64_t ctx : ctxs[task]) {
        std::optional<double> v;
        auto vit = p.values.find(task);
        if (vit != p.values.end())
          for (size_t i = 0; i < ref.table2_ctx.size(); i++)
            if (ref.table2_ctx[i] == ctx) v = vit->second[i];
        Cell c = Cell::num(v, kPaper2Precision);
        c.beyond = v.has_value() && ctx > p.train_ctx;
        pr.cells.push_back(c);
      }
    t.rows.push_back(std::move(pr));
  }
  t.notes = {"– = not evaluated (never 0).", "† = context length beyond the model's training context (Train ctx).",
             "Tasks: every task that a model has at two or more context lengths, and the paper's Table 2 tasks."};
  if (std::any_of(t.rows.begin(), t.rows.end(), [](const Row& r) { return r.reference; }))
    t.notes.push_back("Paper rows: " + ref.table2_caption + ", " + ref.source + ".");
  return t;
}

// ---------------------------------------------------------------- softmax vs SUPRA

Table pairs_table(Db& db, const ReportReference& ref) {
  Table t;
  t.id = "pairs";
  t.title = "Softmax vs SUPRA";
  t.caption = "For each pair (a softmax model and its SUPRA version, or one model run in both modes) the headline "
              "metric per task and context length, and Δ = SUPRA − softmax.";
  t.cols = {text_col("Softmax model", "softmax_model"), text_col("SUPRA model", "supra_model"),
            text_col("Task", "task"), text_col("Metric", "metric"), num_col("Ctx", "ctx"),
            num_col("Softmax", "softmax", true, true), num_col("SUPRA", "supra", true, true),
            num_col("Δ", "delta")};
  Stmt q(db,
         "SELECT p.softmax_model, p.supra_model, p.task, p.metric, p.ctx, p.softmax_value, p.softmax_stderr, "
         "p.supra_value, p.supra_stderr, p.delta, p.softmax_beyond_train, p.supra_beyond_train, p.higher_is_better, "
         "a.n, b.n FROM v_pairs p "
         "LEFT JOIN v_cells a ON a.run_id = p.softmax_run_id AND a.metric = p.metric "
         "LEFT JOIN v_cells b ON b.run_id = p.supra_run_id AND b.metric = p.metric "
         "WHERE p.is_primary AND p.metric NOT GLOB 'ppl_pos_*' "
         "ORDER BY p.softmax_model, p.supra_model, p.task, p.ctx");
  bool lower_better = false;
  while (q.step()) {
    Row r;
    r.cells = {Cell::str(q.text(0)), Cell::str(q.text(1)), Cell::str(q.text(2)),
               Cell::str(metric_label(ref, q.text(3))), Cell::integer(q.i64(4))};
    Cell a = Cell::num(q.opt_f64(5), kOurPrecision, q.opt_f64(6), q.opt_i64(13));
    a.beyond = a.value && q.i64(10) != 0;
    Cell b = Cell::num(q.opt_f64(7), kOurPrecision, q.opt_f64(8), q.opt_i64(14));
    b.beyond = b.value && q.i64(11) != 0;
    Cell d = Cell::num(q.opt_f64(9), kOurPrecision);
    d.plus_sign = true;
    if (!q.is_null(12) && q.i64(12) == 0) lower_better = true;
    r.cells.insert(r.cells.end(), {a, b, d});
    t.rows.push_back(std::move(r));
  }
  t.notes = {"– = not evaluated on that side (Δ is then missing too).",
             "† = context length beyond that model's training context."};
  if (lower_better) t.notes.push_back("For metrics where lower is better (perplexity), a negative Δ favours SUPRA.");
  return t;
}

// ---------------------------------------------------------------- bench

Table bench_table(Db& db) {
  Table t;
  t.id = "bench";
  t.title = "Speed and memory (supra-eval bench)";
  t.caption = "Latest bench_results row per configuration. % limit: share of the machine's limit (CPU: the FMA "
              "instruction peak of the compute dtype for prefill and streaming-read GB/s for decode, measured by bench "
              "without any library; rows written before that used an SGEMM as the FLOP limit; CUDA: the H200's "
              "nominal figures).";
  bool device_mem = false;
  {
    Stmt q(db, "SELECT count(peak_device_mib) FROM v_bench");
    device_mem = q.step() && q.i64(0) > 0;
  }
  t.cols = {text_col("Model", "model"),           text_col("Mode", "mode"),
            text_col("Device", "device"),         text_col("Dtype", "dtype"),
            num_col("Threads", "threads"),        num_col("Batch", "batch"),
            num_col("Ctx", "ctx"),                num_col("Prefill tok/s", "prefill_tok_s"),
            num_col("Prefill GFLOP/s", "prefill_gflops"), num_col("% limit", "prefill_pct_limit"),
            num_col("Decode tok/s", "decode_tok_s"), num_col("Decode GB/s", "decode_gbps"),
            num_col("% limit", "decode_pct_limit"), num_col("State MiB", "state_mib"),
            num_col("Peak RSS MiB", "peak_rss_mib")};
  if (device_mem) t.cols.push_back(num_col("Peak device MiB", "peak_device_mib"));
  Stmt q(db,
         "SELECT model_name, mode, device, dtype, threads, batch, ctx, prefill_tok_s, prefill_gflops, "
         "prefill_pct_limit, decode_tok_s, decode_gbps, decode_pct_limit, state_mib, peak_rss_mib, peak_device_mib "
         "FROM v_bench ORDER BY model_name, mode, device, dtype, threads, batch, ctx");
  while (q.step()) {
    Row r;
    r.cells = {Cell::str(q.text(0)),        Cell::str(q.text(1)),          Cell::str(q.text(2)),
               Cell::str(q.text(3)),        Cell::integer(q.opt_i64(4)),   Cell::integer(q.opt_i64(5)),
               Cell::integer(q.opt_i64(6)), Cell::num(q.opt_f64(7), 1),    Cell::num(q.opt_f64(8), 1),
               Cell::num(q.opt_f64(9), 1),  Cell::num(q.opt_f64(10), 1),   Cell::num(q.opt_f64(11), 1),
               Cell::num(q.opt_f64(12), 1), Cell::num(q.opt_f64(13), 2),   Cell::num(q.opt_f64(14), 1)};
    if (device_mem) r.cells.push_back(Cell::num(q.opt_f64(15), 1));
    t.rows.push_back(std::move(r));
  }
  t.notes = {"– = not measured (a decode skipped, e.g. for lack of device memory, or a limit not measured)."};
  return t;
}

// ---------------------------------------------------------------- probes

Table passkey_table(Db& db) {
  Table t;
  t.id = "passkey";
  t.title = "Passkey retrieval (length × depth)";
  t.caption = "Accuracy (× 100 for fractions) per model, mode and needle depth, at each context length.";
  std::set<int64_t> ctxs;
  {
    Stmt q(db, "SELECT DISTINCT ctx FROM v_passkey ORDER BY ctx");
    while (q.step()) ctxs.insert(q.i64(0));
  }
  if (ctxs.empty()) return t;
  t.cols = {text_col("Model", "model"), text_col("Mode", "mode"), text_col("Depth", "depth")};
  for (int64_t c : ctxs) t.cols.push_back(num_col(ctx_label(c), fmt::format("ctx_{}", c), false, true));
  Stmt q(db, "SELECT model, mode, depth, ctx, value, beyond_train FROM v_passkey ORDER BY model, mode, depth, ctx");
  std::string prev;
  while (q.step()) {
    const std::string key = q.text(0) + "\x1f" + q.text(1) + "\x1f" + q.text(2);
    if (key != prev) {
      Row r;
      r.cells = {Cell::str(q.text(0)), Cell::str(q.text(1)), Cell::str(depth_label(q.f64(2)))};
      for (size_t i = 0; i < ctxs.size(); i++) r.cells.push_back(Cell::num(std::nullopt, kOurPrecision));
      t.rows.push_back(std::move(r));
      prev = key;
    }
    const size_t col = 3 + size_t(std::distance(ctxs.begin(), ctxs.find(q.i64(3))));
    Cell c = Cell::num(q.opt_f64(4), kOurPrecision);
    c.beyond = c.value && q.i64(5) != 0;
    t.rows.back().cells[col] = c;
  }
  t.notes = {"– = not evaluated.", "† = beyond the model's training context."};
  return t;
}

Table ppl_position_table(Db& db) {
  Table t;
  t.id = "ppl_by_position";
  t.title = "Perplexity by position";
  t.caption = "Perplexity of the tokens in each position bucket (metric ppl_pos_<bucket>), per model, mode and context "
              "length.";
  std::set<int64_t> buckets;
  {
    Stmt q(db, "SELECT DISTINCT bucket FROM v_ppl_position ORDER BY bucket");
    while (q.step()) buckets.insert(q.i64(0));
  }
  if (buckets.empty()) return t;
  t.cols = {text_col("Model", "model"), text_col("Mode", "mode"), text_col("Task", "task"), num_col("Ctx", "ctx")};
  for (int64_t b : buckets) t.cols.push_back(num_col(fmt::format("{}", b), fmt::format("pos_{}", b)));
  Stmt q(db, "SELECT model, mode, task, ctx, bucket, ppl FROM v_ppl_position ORDER BY model, mode, task, ctx, bucket");
  std::string prev;
  while (q.step()) {
    const std::string key = q.text(0) + "\x1f" + q.text(1) + "\x1f" + q.text(2) + "\x1f" + q.text(3);
    if (key != prev) {
      Row r;
      r.cells = {Cell::str(q.text(0)), Cell::str(q.text(1)), Cell::str(q.text(2)), Cell::integer(q.i64(3))};
      for (size_t i = 0; i < buckets.size(); i++) r.cells.push_back(Cell::num(std::nullopt, kOurPrecision));
      t.rows.push_back(std::move(r));
      prev = key;
    }
    const size_t col = 4 + size_t(std::distance(buckets.begin(), buckets.find(q.i64(4))));
    t.rows.back().cells[col] = Cell::num(q.opt_f64(5), kOurPrecision);
  }
  t.notes = {"Bucket = the exclusive end of the position range: 16 = tokens 0-15, 32 = tokens 16-31, then doubling; "
             "– = no value."};
  return t;
}

Table effective_ctx_table(Db& db, const ReportReference& ref) {
  Table t;
  t.id = "effective_context";
  t.title = "Effective context length (RULER-style)";
  t.caption = fmt::format(
      "Largest swept context length up to which every swept length passes: a higher-is-better score at >= {} "
      "(display units), a perplexity at most {}% above its best value at any shorter length. Per model, mode and "
      "long-context task (its headline metric), for tasks swept over two or more lengths.",
      ref.effective_threshold, ref.effective_max_rise_pct);
  t.cols = {text_col("Model", "model"),           text_col("Mode", "mode"),
            text_col("Task", "task"),             text_col("Metric", "metric"),
            num_col("Train ctx", "train_ctx"),    num_col("Lengths", "n_lengths"),
            num_col("Swept up to", "max_ctx"),    num_col("Effective ctx", "effective_ctx"),
            num_col("First failing", "first_fail_ctx")};
  Stmt q(db, "SELECT model, mode, task, metric, train_ctx, n_lengths, max_ctx, effective_ctx, first_fail_ctx "
             "FROM v_effective_ctx ORDER BY task, model, mode");
  auto opt_int = [&q](int c) { return q.is_null(c) ? Cell::integer(std::nullopt) : Cell::integer(q.i64(c)); };
  while (q.step()) {
    Row r;
    r.cells = {Cell::str(q.text(0)), Cell::str(q.text(1)),    Cell::str(q.text(2)), Cell::str(q.text(3)),
               Cell::integer(q.i64(4)), Cell::integer(q.i64(5)), Cell::integer(q.i64(6)), opt_int(7), opt_int(8)};
    t.rows.push_back(std::move(r));
  }
  t.notes = {"Effective ctx – = even the shortest swept length fails; First failing – = none failed up to the "
             "longest swept length."};
  return t;
}

}  // namespace

std::string depth_label(double d) {
  std::string s = fmt::format("{:.4f}", d);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string task_short_name(const std::string& task) {
  const size_t colon = task.find(':');
  if (colon == std::string::npos) return task;
  std::string file = task.substr(colon + 1);
  // The built-in file tasks append "@<first hex of the file's sha256>" to keep two files of one name apart.
  const size_t at = file.find_last_of('@');
  if (at != std::string::npos && at + 1 < file.size() &&
      file.find_first_not_of("0123456789abcdef", at + 1) == std::string::npos)
    file.erase(at);
  const size_t slash = file.find_last_of('/');
  return slash == std::string::npos ? file : file.substr(slash + 1);
}

std::vector<Table> build_tables(Db& db, const ReportReference& ref) {
  return {nlu_table(db, ref),     long_context_table(db, ref), effective_ctx_table(db, ref), pairs_table(db, ref),
          passkey_table(db),      ppl_position_table(db),      bench_table(db),             paper_table1(ref),
          paper_table2(ref)};
}

std::vector<Table> build_provenance(Db& db) {
  std::vector<Table> out;
  {
    Table t;
    t.id = "provenance_revisions";
    t.title = "Harness revisions";
    t.caption = "git revision of supra-eval that wrote each result (\"-dirty\": uncommitted changes).";
    t.cols = {text_col("Source", "source"), text_col("git revision", "git_rev"), num_col("Rows", "rows"),
              text_col("First", "first"), text_col("Last", "last")};
    Stmt q(db,
           "SELECT 'runs', git_rev, count(*), min(created_at), max(coalesce(finished_at, updated_at)) FROM runs "
           "WHERE status = 'finished' GROUP BY git_rev "
           "UNION ALL SELECT 'bench_results', git_rev, count(*), min(created_at), max(created_at) FROM bench_results "
           "GROUP BY git_rev ORDER BY 1 DESC, 4");
    while (q.step())
      t.rows.push_back({{Cell::str(q.text(0)), Cell::str(q.text(1)), Cell::integer(q.i64(2)), Cell::str(q.text(3)),
                         Cell::str(q.text(4))}});
    out.push_back(std::move(t));
  }
  {
    Table t;
    t.id = "provenance_models";
    t.title = "Models";
    t.caption = "Each model's weights by sha256 (of the checkpoint files), its path and training context.";
    t.cols = {text_col("Model", "model"), text_col("Mode", "mode"), text_col("sha256", "model_sha256"),
              text_col("Path", "path"), num_col("Train ctx", "train_ctx"), num_col("Finished runs", "runs")};
    Stmt q(db,
           "SELECT m.model_label, m.mode, m.model_sha256, (SELECT group_concat(DISTINCT r.model) FROM v_runs r "
           "WHERE r.model_label = m.model_label), m.train_ctx, m.n_finished FROM v_models m ORDER BY 1, 2");
    while (q.step())
      t.rows.push_back({{Cell::str(q.text(0)), Cell::str(q.text(1)), Cell::str(q.text(2)), Cell::str(q.text(3)),
                         Cell::integer(q.i64(4)), Cell::integer(q.i64(5))}});
    out.push_back(std::move(t));
  }
  {
    Table t;
    t.id = "provenance_runs";
    t.title = "Run settings";
    t.caption = "Finished runs grouped by everything that changes their numbers (v_provenance).";
    t.cols = {text_col("Model", "model"),       text_col("Mode", "mode"),
              text_col("Task", "task"),         num_col("Version", "task_version"),
              num_col("Shots", "shots"),        num_col("Seed", "seed"),
              text_col("Truncation", "truncation"), text_col("Dtype", "dtype"),
              text_col("Device", "device"),     text_col("BOS", "add_bos"),
              text_col("Limit", "limit_docs"),  text_col("Ctx", "ctxs"),
              text_col("git", "git_rev"),       num_col("Runs", "runs"),
              text_col("First", "first"),       text_col("Last", "last")};
    Stmt q(db,
           "SELECT model, mode, task, task_version, shots, seed, truncation, dtype, device, add_bos, limit_docs, "
           "ctxs, git_rev, n_runs, first_created, last_finished FROM v_provenance "
           "ORDER BY model, mode, task, task_version");
    while (q.step()) {
      // ctxs: group_concat order is unspecified; sort numerically.
      std::vector<int64_t> cs;
      std::string s = q.text(11);
      for (size_t a = 0; a < s.size();) {
        size_t b = s.find(',', a);
        if (b == std::string::npos) b = s.size();
        cs.push_back(std::stoll(s.substr(a, b - a)));
        a = b + 1;
      }
      std::sort(cs.begin(), cs.end());
      std::string ctxs;
      for (int64_t c : cs) {
        if (!ctxs.empty()) ctxs += ' ';
        ctxs += ctx_label(c);
      }
      t.rows.push_back({{Cell::str(q.text(0)), Cell::str(q.text(1)), Cell::str(q.text(2)),
                         Cell::integer(q.i64(3)), Cell::integer(q.i64(4)), Cell::integer(q.i64(5)),
                         Cell::str(q.text(6)), Cell::str(q.text(7)), Cell::str(q.text(8)),
                         Cell::str(q.i64(9) ? "yes" : "no"),
                         Cell::str(q.i64(10) < 0 ? "all" : fmt::format("{}", q.i64(10))), Cell::str(ctxs),
                         Cell::str(q.text(12)), Cell::integer(q.i64(13)), Cell::str(q.text(14)),
                         Cell::str(q.text(15))}});
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace supra::reports
