#include "reports/views.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "store/db.h"

namespace supra::reports {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* kRefTables = R"sql(
-- Reference data of the reports (reports/paper_reference.json): TEMP, made in each report's own connection.
CREATE TEMP TABLE report_ref_models (
  key TEXT PRIMARY KEY,        -- lower-case model name or alias (basename of a checkpoint path)
  name TEXT NOT NULL,          -- canonical name
  table1 TEXT, table2 TEXT,    -- the paper's row shown beside ours (NULL: none)
  base TEXT,                   -- canonical name of the softmax model this one is the SUPRA version of
  note TEXT
);
CREATE TEMP TABLE report_ref_metrics (
  metric TEXT PRIMARY KEY,
  percent INTEGER NOT NULL,    -- 1: stored as a fraction, shown x 100
  preference INTEGER           -- rank when a task has no declared primary metric (lower first)
);
CREATE TEMP TABLE report_ref_primary_metric (pattern TEXT PRIMARY KEY, metric TEXT NOT NULL);  -- task GLOB pattern
CREATE TEMP TABLE report_ref_nlu_columns (position INTEGER PRIMARY KEY, task TEXT NOT NULL, metric TEXT NOT NULL,
                                          label TEXT NOT NULL);
CREATE TEMP TABLE report_ref_long_tasks (position INTEGER PRIMARY KEY, task TEXT NOT NULL, metric TEXT NOT NULL,
                                         label TEXT NOT NULL);
CREATE TEMP TABLE report_ref_effective (threshold REAL NOT NULL, max_rise_pct REAL NOT NULL);  -- one row
CREATE TEMP TABLE report_ref_effective_tasks (pattern TEXT PRIMARY KEY);  -- task GLOB patterns
CREATE TEMP TABLE report_ref_paper_rows (
  tbl INTEGER NOT NULL,        -- 1 or 2: the paper's table
  position INTEGER NOT NULL,   -- row order in the paper
  paper_model TEXT NOT NULL, mode TEXT NOT NULL,
  train_ctx INTEGER,           -- table 2 only
  avg REAL,                    -- table 1 only: the paper's printed average
  PRIMARY KEY (tbl, paper_model)
);
CREATE TEMP TABLE report_ref_paper_values (
  tbl INTEGER NOT NULL, paper_model TEXT NOT NULL, task TEXT NOT NULL, metric TEXT NOT NULL,
  ctx INTEGER,                 -- table 2 only
  value REAL NOT NULL          -- as printed in the paper (percent / F1 x 100)
);
)sql";

const char* kRefTableNames[] = {"report_ref_models",     "report_ref_metrics",        "report_ref_primary_metric",
                                "report_ref_nlu_columns", "report_ref_long_tasks",    "report_ref_paper_rows",
                                "report_ref_paper_values", "report_ref_effective",
                                "report_ref_effective_tasks"};

// Columns of v_cells and v_primary (one row per finished run's metric).
const char* kCellColumns =
    "run_id, model, model_name, model_label, model_canonical, model_sha256, mode, form, task, task_version, shots, "
    "seed, ctx, train_ctx, beyond_train, truncation, dtype, device, add_bos, limit_docs, n_docs, git_rev, "
    "created_at, finished_at, metric, value, stderr, n, aggregation, higher_is_better, scale, display, "
    "display_stderr, n_candidates";

// "a, b" -> "r.a, r.b"
std::string prefixed(const std::string& columns, const std::string& prefix) {
  std::string out;
  size_t a = 0;
  while (a < columns.size()) {
    size_t b = columns.find(',', a);
    if (b == std::string::npos) b = columns.size();
    std::string name = columns.substr(a, b - a);
    while (!name.empty() && name.front() == ' ') name.erase(name.begin());
    if (!out.empty()) out += ", ";
    out += prefix + name;
    a = b + 1;
  }
  return out;
}

struct View {
  std::string name, summary, sql;
};

// Every run, named; one row per finished run x metric; the one run per cell that the tables show.
void add_run_views(std::vector<View>& v) {
  v.push_back({"v_runs", "every run (any status) with model_name, model_label and model_canonical", fmt::format(R"sql(
-- v_runs: every row of runs, plus
--   model_name      basename of the model path (trailing '/', .bin/.gguf/.safetensors/.pt dropped)
--   model_label     model_name, or model_name@<sha256 prefix> when one name covers several weight files
--   model_canonical the name paper_reference.json knows this model by (its name or one of its aliases)
CREATE TEMP VIEW v_runs AS
WITH named AS (SELECT r.*, {name} AS model_name FROM runs r),
     shas AS (SELECT model_name, count(DISTINCT model_sha256) AS k FROM named GROUP BY model_name)
SELECT n.*,
       CASE WHEN s.k > 1 THEN n.model_name || '@' || substr(n.model_sha256, 1, 8) ELSE n.model_name END
         AS model_label,
       coalesce((SELECT m.name FROM report_ref_models m WHERE m.key = lower(n.model_name)), n.model_name)
         AS model_canonical
FROM named n JOIN shas s ON s.model_name = n.model_name)sql",
                                                                                                          fmt::arg("name", model_name_sql("r.model")))});

  v.push_back({"v_results", "one row per finished run x metric, with every run field", R"sql(
-- v_results: one row per (finished run, metric). value/stderr as stored; scale = 100 for fraction metrics
-- (report_ref_metrics.percent), else 1; display = value * scale, display_stderr = stderr * scale: what tables show.
CREATE TEMP VIEW v_results AS
SELECT r.id AS run_id, r.model, r.model_name, r.model_label, r.model_canonical, r.model_sha256, r.mode, r.form,
       r.task, r.task_version, r.shots, r.seed, r.ctx, r.train_ctx, r.beyond_train, r.truncation, r.dtype, r.device,
       r.add_bos, r.limit_docs, r.n_docs, r.git_rev, r.created_at, r.finished_at,
       m.metric, m.value, m.stderr, m.n, m.aggregation, m.higher_is_better,
       CASE WHEN coalesce((SELECT percent FROM report_ref_metrics x WHERE x.metric = m.metric), 0) = 1
            THEN 100.0 ELSE 1.0 END AS scale,
       m.value * CASE WHEN coalesce((SELECT percent FROM report_ref_metrics x WHERE x.metric = m.metric), 0) = 1
                      THEN 100.0 ELSE 1.0 END AS display,
       m.stderr * CASE WHEN coalesce((SELECT percent FROM report_ref_metrics x WHERE x.metric = m.metric), 0) = 1
                       THEN 100.0 ELSE 1.0 END AS display_stderr
FROM v_runs r JOIN metrics m ON m.run_id = r.id
WHERE r.status = 'finished')sql"});

  v.push_back({"v_cells", "the one run per (model, mode, task, ctx, metric) that the tables show", fmt::format(R"sql(
-- v_cells: v_results reduced to one row per (model_label, mode, task, ctx, metric): the most complete run
-- (all documents, i.e. limit_docs = -1, first; then most documents), then the latest finished, then the highest id.
-- n_candidates counts the finished runs that competed for the cell (different seeds, shots, devices, ...).
CREATE TEMP VIEW v_cells AS
SELECT {cols} FROM (
  SELECT v.*,
         row_number() OVER (PARTITION BY model_label, mode, task, ctx, metric
                            ORDER BY (limit_docs < 0) DESC, n_docs DESC, finished_at DESC, run_id DESC) AS pick,
         count(*) OVER (PARTITION BY model_label, mode, task, ctx, metric) AS n_candidates
  FROM v_results v)
WHERE pick = 1)sql",
                                                                                                          fmt::arg("cols", kCellColumns))});
}

// Each task's headline metric; the models with their paper rows and softmax base.
void add_primary_and_model_views(std::vector<View>& v) {
  v.push_back({"v_primary", "v_cells restricted to each task's headline metric", fmt::format(R"sql(
-- v_primary: v_cells restricted to each task's headline metric. A task matching a pattern of
-- report_ref_primary_metric shows that metric only (a model without it has no row: a missing cell). Any other task
-- shows the best-ranked metric (report_ref_metrics.preference, then alphabetical) that any model has for it, so
-- every model's cell of a task shows the same metric.
CREATE TEMP VIEW v_primary AS
WITH tasks AS (SELECT DISTINCT task FROM v_cells),
want AS (
  SELECT t.task, (SELECT p.metric FROM report_ref_primary_metric p WHERE t.task GLOB p.pattern
                  ORDER BY length(p.pattern) DESC, p.pattern LIMIT 1) AS metric
  FROM tasks t),
ranked AS (
  SELECT c.*,
         CASE WHEN w.metric IS NOT NULL THEN (CASE WHEN c.metric = w.metric THEN 0 END)
              ELSE 1 + coalesce((SELECT x.preference FROM report_ref_metrics x
                                 WHERE x.metric = c.metric AND x.preference IS NOT NULL), 1000000) END AS prank
  FROM v_cells c JOIN want w ON w.task = c.task),
per_task AS (
  SELECT task, metric FROM (
    SELECT task, metric, row_number() OVER (PARTITION BY task ORDER BY min(prank), metric) AS rn
    FROM ranked WHERE prank IS NOT NULL GROUP BY task, metric)
  WHERE rn = 1)
SELECT {cols} FROM ranked r JOIN per_task p ON p.task = r.task AND p.metric = r.metric)sql",
                                                                                            fmt::arg("cols", prefixed(kCellColumns, "r.")))});

  v.push_back({"v_models", "one row per (model, mode) with its paper rows and softmax base", R"sql(
-- v_models: one row per (model_label, mode) that has runs. base: canonical name of the softmax model this model is
-- the SUPRA version of (report_ref_models.base). paper_table1 / paper_table2: the paper's row shown beside ours,
-- only when the paper row's attention mode equals ours.
CREATE TEMP VIEW v_models AS
SELECT r.model_label, r.model_name, r.model_canonical, r.model_sha256, r.mode, max(r.train_ctx) AS train_ctx,
       count(*) AS n_runs, sum(r.status = 'finished') AS n_finished, min(r.created_at) AS first_created,
       max(r.finished_at) AS last_finished,
       (SELECT m.base FROM report_ref_models m WHERE m.key = lower(r.model_name)) AS base,
       (SELECT p.paper_model FROM report_ref_models m JOIN report_ref_paper_rows p
          ON p.tbl = 1 AND p.paper_model = m.table1 AND p.mode = r.mode
        WHERE m.key = lower(r.model_name)) AS paper_table1,
       (SELECT p.paper_model FROM report_ref_models m JOIN report_ref_paper_rows p
          ON p.tbl = 2 AND p.paper_model = m.table2 AND p.mode = r.mode
        WHERE m.key = lower(r.model_name)) AS paper_table2
FROM v_runs r
GROUP BY r.model_label, r.mode)sql"});
}

// The paper's Table 1: our rows (generated from the reference file's columns) and the paper's.
void add_table1_views(std::vector<View>& v, const ReportReference& ref) {
  // v_nlu_table: generated from the Table 1 columns of the reference file.
  std::string cols, paper_cols;
  for (const RefColumn& c : ref.table1_columns) {
    const std::string cond = fmt::format("c.task = {} AND c.metric = {}", sql_literal(c.task), sql_literal(c.metric));
    cols += fmt::format("       max(CASE WHEN {0} THEN c.display END) AS {1},\n"
                        "       max(CASE WHEN {0} THEN c.display_stderr END) AS {2},\n"
                        "       max(CASE WHEN {0} THEN c.n END) AS {3},\n",
                        cond, sql_ident(c.task), sql_ident(c.task + "_stderr"), sql_ident(c.task + "_n"));
    paper_cols += fmt::format("       max(CASE WHEN v.task = {} THEN v.value END) AS {},\n", sql_literal(c.task),
                              sql_ident(c.task));
  }
  const size_t k = ref.table1_columns.size();
  v.push_back({"v_nlu_table", "the paper's Table 1 layout: one row per (model, mode, ctx), one column per task",
               fmt::format(R"sql(
-- v_nlu_table: Table 1 layout, one row per (model, mode, ctx) that has any Table 1 task. Per task (columns of
-- report_ref_nlu_columns): <task> = the paper's metric for it x 100 (percent), <task>_stderr (x 100), <task>_n
-- (documents). NULL = not evaluated (never 0). n_tasks: how many of the {k} columns have a value; avg: their mean
-- when all {k} are present, else NULL; avg_present: the mean of the columns present. beyond_train: 1 when ctx is
-- beyond the model's training context. paper_model: the paper's row for this model (see v_paper_table1).
CREATE TEMP VIEW v_nlu_table AS
SELECT c.model_label AS model, c.model_name, c.mode, c.ctx, max(c.train_ctx) AS train_ctx,
     max(c.beyond_train) AS beyond_train,
{cols}       count(*) AS n_tasks,
     CASE WHEN count(*) = {k} THEN avg(c.display) END AS avg,
     avg(c.display) AS avg_present,
     (SELECT m.paper_table1 FROM v_models m WHERE m.model_label = c.model_label AND m.mode = c.mode)
       AS paper_model
FROM v_cells c JOIN report_ref_nlu_columns k ON k.task = c.task AND k.metric = c.metric
GROUP BY c.model_label, c.mode, c.ctx)sql",
                           fmt::arg("cols", cols), fmt::arg("k", k))});

  v.push_back({"v_paper_table1", "the paper's Table 1 rows, in the layout of v_nlu_table",
               fmt::format(R"sql(
-- v_paper_table1: the paper's Table 1 rows (report_ref_paper_*), same task columns as v_nlu_table, in percent;
-- avg is the paper's printed average.
CREATE TEMP VIEW v_paper_table1 AS
SELECT p.position, p.paper_model, p.mode,
{cols}       p.avg
FROM report_ref_paper_rows p JOIN report_ref_paper_values v ON v.tbl = 1 AND v.paper_model = p.paper_model
WHERE p.tbl = 1
GROUP BY p.paper_model ORDER BY p.position)sql",
                           fmt::arg("cols", paper_cols))});
}

// Table 2 in long form, the paper's Table 2, and the softmax-vs-SUPRA pairs.
void add_long_context_views(std::vector<View>& v) {
  v.push_back({"v_long_context", "Table 2 in long form: headline metric per (model, mode, task, ctx)", R"sql(
-- v_long_context: one row per (model, mode, task, ctx) with the task's headline metric (v_primary). value and
-- stderr are display units (fractions x 100, others as stored); raw_value is the stored number. beyond_train = 1
-- when ctx > train_ctx (the cell is marked in the rendered table).
CREATE TEMP VIEW v_long_context AS
SELECT model_label AS model, model_name, mode, task, metric, ctx, train_ctx, beyond_train,
       display AS value, display_stderr AS stderr, n, value AS raw_value, scale, run_id
FROM v_primary)sql"});

  v.push_back({"v_paper_table2", "the paper's Table 2 values in long form", R"sql(
-- v_paper_table2: the paper's Table 2 (F1 x 100) per (paper_model, task, ctx), with its training context and the
-- beyond-training mark.
CREATE TEMP VIEW v_paper_table2 AS
SELECT p.position, p.paper_model, p.mode, p.train_ctx, v.task, v.metric, v.ctx, v.value,
       (v.ctx > p.train_ctx) AS beyond_train
FROM report_ref_paper_rows p JOIN report_ref_paper_values v ON v.tbl = 2 AND v.paper_model = p.paper_model
WHERE p.tbl = 2)sql"});

  v.push_back({"v_pairs", "softmax vs SUPRA: delta per pair, task, metric and ctx", R"sql(
-- v_pairs: softmax-vs-SUPRA comparison. A pair is (a model in softmax mode, a model in supra mode) where the SUPRA
-- model's base (report_ref_models.base) is the softmax model's canonical name, or the two are the same model run in
-- both modes. One row per pair, task, metric and ctx, for the (task, metric)s that both sides have at some ctx; the
-- side without a value at that ctx is NULL and so is delta. Values in display units; delta = supra_value - softmax_value (higher_is_better says which sign is good).
-- is_primary = 1 for the task's headline metric (v_primary).
CREATE TEMP VIEW v_pairs AS
WITH pairs AS (
  SELECT DISTINCT b.model_label AS softmax_model, s.model_label AS supra_model
  FROM v_models b JOIN v_models s
    ON b.mode = 'softmax' AND s.mode = 'supra'
   AND (s.model_label = b.model_label OR (s.base IS NOT NULL AND lower(s.base) = lower(b.model_canonical)))),
keys AS (
  SELECT p.softmax_model, p.supra_model, x.task, x.metric, x.ctx
  FROM pairs p JOIN v_cells x
    ON (x.model_label = p.softmax_model AND x.mode = 'softmax') OR (x.model_label = p.supra_model AND x.mode = 'supra')
  WHERE EXISTS (SELECT 1 FROM v_cells a WHERE a.model_label = p.softmax_model AND a.mode = 'softmax'
                AND a.task = x.task AND a.metric = x.metric)
    AND EXISTS (SELECT 1 FROM v_cells b WHERE b.model_label = p.supra_model AND b.mode = 'supra'
                AND b.task = x.task AND b.metric = x.metric)
  GROUP BY 1, 2, 3, 4, 5)
SELECT k.softmax_model, k.supra_model, k.task, k.metric, k.ctx,
       a.display AS softmax_value, c.display AS supra_value, c.display - a.display AS delta,
       a.display_stderr AS softmax_stderr, c.display_stderr AS supra_stderr,
       coalesce(a.higher_is_better, c.higher_is_better) AS higher_is_better,
       a.beyond_train AS softmax_beyond_train, c.beyond_train AS supra_beyond_train,
       a.train_ctx AS softmax_train_ctx, c.train_ctx AS supra_train_ctx,
       a.run_id AS softmax_run_id, c.run_id AS supra_run_id,
       EXISTS (SELECT 1 FROM v_primary q WHERE q.task = k.task AND q.metric = k.metric) AS is_primary
FROM keys k
LEFT JOIN v_cells a ON a.model_label = k.softmax_model AND a.mode = 'softmax' AND a.task = k.task
                   AND a.metric = k.metric AND a.ctx = k.ctx
LEFT JOIN v_cells c ON c.model_label = k.supra_model AND c.mode = 'supra' AND c.task = k.task
                   AND c.metric = k.metric AND c.ctx = k.ctx)sql"});
}

// supra-eval bench rows.
void add_bench_views(std::vector<View>& v) {
  v.push_back({"v_bench", "latest supra-eval bench row per configuration, with % of the machine's limits",
               fmt::format(R"sql(
-- v_bench: the latest bench_results row per (model, model_sha256, mode, device, dtype, threads, ctx, batch), with
-- model_name (as in v_runs), prefill_pct_limit = 100 * prefill_gflops / limit_gflops and decode_pct_limit =
-- 100 * decode_gbps / limit_gbps (NULL when the limit was not measured), n_repeats = rows of that configuration.
CREATE TEMP VIEW v_bench AS
SELECT id, created_at, model, model_name, model_sha256, mode, device, dtype, threads, ctx, batch,
       prefill_tok_s, prefill_gflops, decode_tok_s, decode_gbps, state_mib, peak_rss_mib, peak_device_mib,
       limit_gflops, limit_gbps, 100.0 * prefill_gflops / limit_gflops AS prefill_pct_limit, 100.0 * decode_gbps / limit_gbps AS decode_pct_limit,
       git_rev, n_repeats
FROM (
  SELECT b.*, {name} AS model_name,
         row_number() OVER (PARTITION BY model, model_sha256, mode, device, dtype, threads, ctx, batch
                            ORDER BY created_at DESC, id DESC) AS pick,
         count(*) OVER (PARTITION BY model, model_sha256, mode, device, dtype, threads, ctx, batch) AS n_repeats
  FROM bench_results b)
WHERE pick = 1)sql",
                           fmt::arg("name", model_name_sql("b.model")))});
}

// The long-context probes: passkey, perplexity by position, effective context length.
void add_probe_views(std::vector<View>& v) {
  v.push_back({"v_passkey", "passkey retrieval per (model, mode, length, depth)", R"sql(
-- v_passkey: passkey retrieval accuracy per (model, mode, length = ctx, depth). Two conventions are read:
--   a task per depth named passkey<anything>_d<depth> (its headline metric, as in v_primary), or
--   one task named passkey<anything> whose metrics are <metric>_d<depth> (a breakdown by depth).
-- value in display units (fractions x 100). No passkey runs: no rows (and no heatmap).
CREATE TEMP VIEW v_passkey AS
SELECT model_label AS model, model_name, mode, ctx, train_ctx, beyond_train, task, metric,
       CAST(substr(task, instr(task, '_d') + 2) AS REAL) AS depth, display AS value, n, run_id
FROM v_primary WHERE task GLOB 'passkey*_d[0-9]*'
UNION ALL
SELECT model_label, model_name, mode, ctx, train_ctx, beyond_train, task, metric,
       CAST(substr(metric, instr(metric, '_d') + 2) AS REAL), display, n, run_id
FROM v_cells WHERE task GLOB 'passkey*' AND NOT task GLOB 'passkey*_d[0-9]*' AND metric GLOB '*_d[0-9]*')sql"});

  v.push_back({"v_ppl_position", "perplexity by position bucket", R"sql(
-- v_ppl_position: perplexity by position, from runs of a task named ppl_by_position* whose metrics are named
-- ppl_pos_<bucket> (bucket: a token position). One row per (model, mode, task, ctx, bucket). No such runs: no rows.
CREATE TEMP VIEW v_ppl_position AS
SELECT model_label AS model, model_name, mode, task, ctx, train_ctx, beyond_train,
       CAST(substr(metric, 9) AS INTEGER) AS bucket, value AS ppl, stderr, n, run_id
FROM v_cells WHERE task GLOB 'ppl_by_position*' AND metric GLOB 'ppl_pos_[0-9]*')sql"});

  v.push_back({"v_chance", "chance level of a multiple-choice run, from its samples", R"sql(
-- v_chance: per finished run of a multiple-choice task (every request of every document a loglikelihood request, at
-- least two per document: one per choice), the accuracy of a uniform random pick, 100 x mean over documents of
-- 1 / (number of choices), in display units. Runs of other tasks have no row. The plots draw it as a dotted line.
CREATE TEMP VIEW v_chance AS
WITH per_doc AS (
  SELECT run_id, doc, count(*) AS n_choices, sum(type = 'loglikelihood') AS n_ll FROM samples GROUP BY run_id, doc)
SELECT p.run_id, r.task, 100.0 * avg(1.0 / p.n_choices) AS chance, count(*) AS n_docs
FROM per_doc p JOIN runs r ON r.id = p.run_id
WHERE r.status = 'finished'
GROUP BY p.run_id
HAVING min(p.n_choices) >= 2 AND min(p.n_ll = p.n_choices) = 1)sql"});

  v.push_back({"v_effective_ctx", "RULER-style effective context length per (model, mode, task)", R"sql(
-- v_effective_ctx: per (model, mode, task) of a long-context task (a pattern of report_ref_effective_tasks) with its
-- primary metric at two or more context lengths: the largest swept
-- length up to which every swept length passes (NULL when the shortest already fails). A higher-is-better score
-- passes at >= report_ref_effective.threshold (display units); a lower-is-better one while it is at most
-- max_rise_pct percent above the best (lowest) value at any length up to it. first_fail_ctx: the shortest failing
-- length (NULL: none fails, the model held up to max_ctx, the longest swept).
CREATE TEMP VIEW v_effective_ctx AS
WITH s AS (
  SELECT model_label AS model, mode, task, metric, ctx, display AS value, higher_is_better, train_ctx
  FROM v_primary WHERE display IS NOT NULL
    AND EXISTS (SELECT 1 FROM report_ref_effective_tasks p WHERE task GLOB p.pattern)),
judged AS (
  SELECT s.*,
         CASE WHEN s.higher_is_better THEN s.value >= (SELECT threshold FROM report_ref_effective)
              ELSE s.value <= (1 + (SELECT max_rise_pct FROM report_ref_effective) / 100.0) *
                   (SELECT min(b.value) FROM s b WHERE b.model = s.model AND b.mode = s.mode AND b.task = s.task
                      AND b.metric = s.metric AND b.ctx <= s.ctx) END AS ok
  FROM s),
fails AS (SELECT model, mode, task, metric, min(ctx) AS first_fail_ctx FROM judged WHERE NOT ok
          GROUP BY model, mode, task, metric)
SELECT j.model, j.mode, j.task, j.metric, max(j.higher_is_better) AS higher_is_better, max(j.train_ctx) AS train_ctx,
       count(*) AS n_lengths, min(j.ctx) AS min_ctx, max(j.ctx) AS max_ctx,
       max(CASE WHEN f.first_fail_ctx IS NULL OR j.ctx < f.first_fail_ctx THEN j.ctx END) AS effective_ctx,
       f.first_fail_ctx,
       (SELECT threshold FROM report_ref_effective) AS threshold,
       (SELECT max_rise_pct FROM report_ref_effective) AS max_rise_pct
FROM judged j LEFT JOIN fails f ON f.model = j.model AND f.mode = j.mode AND f.task = j.task AND f.metric = j.metric
GROUP BY j.model, j.mode, j.task, j.metric
HAVING count(*) >= 2)sql"});
}

// What produced the numbers.
void add_provenance_views(std::vector<View>& v) {
  v.push_back({"v_provenance", "what produced the numbers: revisions, weights, task versions, settings, dates", R"sql(
-- v_provenance: one row per distinct (model, sha256, mode, task, task_version, shots, seed, truncation, dtype, device,
-- add_bos, limit_docs, git_rev) among finished runs, with the context lengths, run count and dates.
CREATE TEMP VIEW v_provenance AS
SELECT model_label AS model, model_sha256, mode, form, task, task_version, shots, seed, truncation, dtype, device,
       add_bos, limit_docs, git_rev, group_concat(DISTINCT ctx) AS ctxs, count(*) AS n_runs,
       min(created_at) AS first_created, max(finished_at) AS last_finished
FROM v_runs WHERE status = 'finished'
GROUP BY model_label, model_sha256, mode, form, task, task_version, shots, seed, truncation, dtype, device, add_bos,
         limit_docs, git_rev)sql"});
}

// Every view, in creation order (a view is created after those it reads).
std::vector<View> build_views(const ReportReference& ref) {
  std::vector<View> v;
  add_run_views(v);
  add_primary_and_model_views(v);
  add_table1_views(v, ref);
  add_long_context_views(v);
  add_bench_views(v);
  add_probe_views(v);
  add_provenance_views(v);
  return v;
}

// report_ref_models (one row per name and alias), report_ref_metrics, report_ref_primary_metric.
void fill_models_and_metrics(Db& db, const ReportReference& ref) {
  {
    Stmt q(db, "INSERT OR REPLACE INTO report_ref_models(key, name, table1, table2, base, note) VALUES (?,?,?,?,?,?)");
    for (const RefModel& m : ref.models) {
      std::vector<std::string> keys = {m.name};
      keys.insert(keys.end(), m.aliases.begin(), m.aliases.end());
      for (const std::string& k : keys) {
        q.reset();
        q.bind(1, lower(k)).bind(2, m.name);
        if (m.table1.empty()) q.bind_null(3); else q.bind(3, m.table1);
        if (m.table2.empty()) q.bind_null(4); else q.bind(4, m.table2);
        if (m.base.empty()) q.bind_null(5); else q.bind(5, m.base);
        q.bind(6, m.note);
        q.step();
      }
    }
  }
  {
    std::set<std::string> metrics(ref.percent_metrics.begin(), ref.percent_metrics.end());
    metrics.insert(ref.metric_preference.begin(), ref.metric_preference.end());
    Stmt q(db, "INSERT INTO report_ref_metrics(metric, percent, preference) VALUES (?,?,?)");
    for (const std::string& m : metrics) {
      q.reset();
      q.bind(1, m).bind(2, int64_t(ref.is_percent(m)));
      auto it = std::find(ref.metric_preference.begin(), ref.metric_preference.end(), m);
      if (it == ref.metric_preference.end()) q.bind_null(3);
      else q.bind(3, int64_t(it - ref.metric_preference.begin()));
      q.step();
    }
  }
  {
    Stmt q(db, "INSERT INTO report_ref_primary_metric(pattern, metric) VALUES (?,?)");
    for (const auto& [p, m] : ref.primary_metric) {
      q.reset();
      q.bind(1, p).bind(2, m);
      q.step();
    }
  }
}

// report_ref_nlu_columns, report_ref_long_tasks, report_ref_effective, report_ref_effective_tasks.
void fill_columns_and_thresholds(Db& db, const ReportReference& ref) {
  auto put_columns = [&](const char* table, const std::vector<RefColumn>& cols) {
    Stmt q(db, fmt::format("INSERT INTO {}(position, task, metric, label) VALUES (?,?,?,?)", table));
    for (size_t i = 0; i < cols.size(); i++) {
      q.reset();
      q.bind(1, int64_t(i)).bind(2, cols[i].task).bind(3, cols[i].metric).bind(4, cols[i].label);
      q.step();
    }
  };
  put_columns("report_ref_nlu_columns", ref.table1_columns);
  put_columns("report_ref_long_tasks", ref.table2_tasks);
  {
    Stmt q(db, "INSERT INTO report_ref_effective(threshold, max_rise_pct) VALUES (?,?)");
    q.bind(1, ref.effective_threshold).bind(2, ref.effective_max_rise_pct);
    q.step();
    Stmt t(db, "INSERT OR REPLACE INTO report_ref_effective_tasks(pattern) VALUES (?)");
    for (const std::string& p : ref.effective_tasks) {
      t.reset();
      t.bind(1, p);
      t.step();
    }
  }
}

// report_ref_paper_rows and report_ref_paper_values: the paper's Tables 1 and 2.
void fill_paper_tables(Db& db, const ReportReference& ref) {
  Stmt row(db, "INSERT INTO report_ref_paper_rows(tbl, position, paper_model, mode, train_ctx, avg) VALUES (?,?,?,?,?,?)");
  Stmt val(db, "INSERT INTO report_ref_paper_values(tbl, paper_model, task, metric, ctx, value) VALUES (?,?,?,?,?,?)");
  for (size_t i = 0; i < ref.table1_rows.size(); i++) {
    const RefNluRow& r = ref.table1_rows[i];
    row.reset();
    row.bind(1, int64_t(1)).bind(2, int64_t(i)).bind(3, r.model).bind(4, r.mode).bind_null(5).bind(6, r.avg);
    row.step();
    for (size_t c = 0; c < r.values.size(); c++) {
      val.reset();
      val.bind(1, int64_t(1)).bind(2, r.model).bind(3, ref.table1_columns[c].task).bind(4, ref.table1_columns[c].metric);
      val.bind_null(5).bind(6, r.values[c]);
      val.step();
    }
  }
  for (size_t i = 0; i < ref.table2_rows.size(); i++) {
    const RefLongRow& r = ref.table2_rows[i];
    row.reset();
    row.bind(1, int64_t(2)).bind(2, int64_t(i)).bind(3, r.model).bind(4, r.mode).bind(5, r.train_ctx).bind_null(6);
    row.step();
    for (const RefColumn& t : ref.table2_tasks) {
      auto it = r.values.find(t.task);
      if (it == r.values.end()) continue;
      for (size_t c = 0; c < ref.table2_ctx.size(); c++) {
        val.reset();
        val.bind(1, int64_t(2)).bind(2, r.model).bind(3, t.task).bind(4, t.metric).bind(5, ref.table2_ctx[c]);
        val.bind(6, it->second[c]);
        val.step();
      }
    }
  }
}

}  // namespace

std::string model_name_sql(const std::string& col) {
  const std::string t = fmt::format("rtrim({}, '/')", col);
  const std::string b = fmt::format("substr({0}, length(rtrim({0}, replace({0}, '/', ''))) + 1)", t);
  return fmt::format(
      "(CASE WHEN {0} LIKE '%.bin' THEN substr({0}, 1, length({0}) - 4) "
      "WHEN {0} LIKE '%.gguf' THEN substr({0}, 1, length({0}) - 5) "
      "WHEN {0} LIKE '%.safetensors' THEN substr({0}, 1, length({0}) - 12) "
      "WHEN {0} LIKE '%.pt' THEN substr({0}, 1, length({0}) - 3) ELSE {0} END)",
      b);
}

const std::vector<ViewInfo>& report_views() {
  static const std::vector<ViewInfo> infos = [] {
    std::vector<ViewInfo> out;
    ReportReference empty;
    for (const View& v : build_views(empty)) out.push_back({v.name, v.summary});
    return out;
  }();
  return infos;
}

void create_report_views(Db& db, const ReportReference& ref) {
  if (!db.has_object("runs") || !db.has_object("metrics"))
    fail("{}: not a supra-eval results store (no runs/metrics tables)", db.path());
  const std::vector<View> views = build_views(ref);
  // TEMP objects only: the file is never written, and a connection opened read-only (open_store_read_only) is
  // enough. DEFERRED: no write lock on the store is taken, so a running sweep is never waited for.
  db.transaction(
      [&] {
        for (const View& v : views) db.exec("DROP VIEW IF EXISTS temp." + v.name);
        for (const char* t : kRefTableNames) db.exec(std::string("DROP TABLE IF EXISTS temp.") + t);
        db.exec(kRefTables);
        fill_models_and_metrics(db, ref);
        fill_columns_and_thresholds(db, ref);
        fill_paper_tables(db, ref);
        for (const View& v : views) db.exec(v.sql);
      },
      Db::Begin::Deferred);
}

namespace {

// "CREATE TABLE x" / "CREATE VIEW x" as sqlite_temp_master keeps them -> "CREATE TEMP TABLE x" / "CREATE TEMP VIEW x".
std::string as_temp(const std::string& sql) {
  const std::string create = "CREATE ";
  return sql.rfind(create, 0) == 0 ? create + "TEMP " + sql.substr(create.size()) : sql;
}

// One INSERT statement per row of a TEMP table, values written by SQLite's quote().
std::string temp_rows_script(Db& db, const std::string& table) {
  std::string values;
  Stmt cols(db, "SELECT name FROM pragma_table_info(?1, 'temp') ORDER BY cid");
  cols.bind(1, table);
  while (cols.step()) values += (values.empty() ? "" : " || ',' || ") + ("quote(" + sql_ident(cols.text(0)) + ")");
  std::string out;
  Stmt rows(db, fmt::format("SELECT 'INSERT INTO {} VALUES (' || {} || ');' FROM temp.{}", sql_ident(table), values,
                            sql_ident(table)));
  while (rows.step()) out += rows.text(0) + "\n";
  return out;
}

}  // namespace

std::string report_views_script(Db& db, const ReportReference& ref) {
  std::map<std::string, std::string> view_sql;
  for (const View& v : build_views(ref)) view_sql[v.name] = v.sql;
  std::string out = fmt::format(
      "-- The views of supra-eval report over {}, TEMP: they last as long as the sqlite3 session.\n"
      "--   sqlite3 -readonly -cmd '.read views.sql' STORE 'SELECT * FROM v_nlu_table'\n",
      db.path());
  Stmt objs(db, "SELECT type, name, sql FROM sqlite_temp_master WHERE type IN ('table', 'view') ORDER BY rowid");
  while (objs.step()) {
    const std::string type = objs.text(0), name = objs.text(1);
    const auto own = view_sql.find(name);
    out += "\n" + (own != view_sql.end() ? own->second.substr(own->second.find_first_not_of('\n')) : as_temp(objs.text(2)));
    out += ";\n";
    if (type == "table") out += temp_rows_script(db, name);
  }
  return out;
}

void create_report_views(Db& db) { create_report_views(db, load_reference(default_reference_path())); }

}  // namespace supra::reports
