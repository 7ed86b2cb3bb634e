#pragma once
// `supra-eval report`: the paper's tables and plots regenerated from the results store (and nothing else).
//   OUT/report.html        self-contained (inline CSS and SVG, no network), opens offline
//   OUT/report.md          every table, links to the plots, the provenance
//   OUT/tables/<id>.{md,csv,tex}
//   OUT/plots/<id>.svg
#include <set>
#include <string>
#include <vector>

#include "reports/reference.h"
#include "reports/table.h"
#include "store/db.h"


namespace supra::reports {

struct ReportOptions {
  std::string db_path;
  std::string out_dir;
  std::set<std::string> formats = {"md", "csv", "latex", "html"};
  std::string reference_path;  // "" = reports/paper_reference.json
};

struct Plot {
  std::string id;       // file stem under plots/
  std::string section;  // key (the report's opening figures) | long_context | passkey | ppl_by_position | bench
  std::string title;    // short: the plot's own heading
  std::string caption;  // the figure caption: what is plotted, in full (task ids, settings); "" = the title
  std::string svg;
  std::vector<std::string> series;  // one label per series (model · mode [· ...])
};

struct ReportSummary {
  std::vector<std::string> files;  // written, relative to out_dir
  int64_t finished_runs = 0, bench_rows = 0;
  std::vector<std::string> tables;  // ids of non-empty tables
};

// "What the data shows": one generated sentence, and the store values it quotes (display units, as printed).
struct Finding {
  std::string text;
  std::vector<std::pair<std::string, double>> quoted;  // (what, value)
};
// 3-6 sentences computed from the views (none when the store holds nothing they speak of): where each model's
// perplexity by position stops improving, the effective context length per model and mode, SUPRA's decode speed and
// state size against softmax's at the longest benchmarked length, and the softmax-vs-SUPRA differences beyond two
// standard errors (or that none is).
std::vector<Finding> build_findings(Db& db);

// Parses "md,csv,latex,html" (also "tex", "markdown", "all"); error on an unknown name.
std::set<std::string> parse_formats(const std::string& list);

// The views must exist (create_report_views). Tables in report order; empty ones included (empty()).
std::vector<Table> build_tables(Db& db, const ReportReference& ref);
std::vector<Table> build_provenance(Db& db);
std::vector<Plot> build_plots(Db& db, const ReportReference& ref);
std::string render_html_report(const std::string& db_path, const std::vector<Table>& tables,
                               const std::vector<Table>& provenance, const std::vector<Plot>& plots,
                               const std::vector<Finding>& findings);
std::string render_markdown_report(const std::string& db_path, const std::vector<Table>& tables,
                                   const std::vector<Table>& provenance, const std::vector<Plot>& plots,
                                   const std::vector<Finding>& findings);


// Query over v_long_context: (task, most context lengths of one model and mode, metric) per non-probe task.
extern const char* kLongTaskSql;

// A task as a short title: for a task over a file ("ppl_by_position:models/x/data/heldout_s3.txt", or with the
// "@<sha256 prefix>" the built-in file tasks append) the file's base name ("heldout_s3.txt"), else the task id.
std::string task_short_name(const std::string& task);

// A passkey depth as printed: "25", "0.5" (no trailing zeros).
std::string depth_label(double depth);

// Opens the store, creates the views, writes every file.
ReportSummary write_report(const ReportOptions& opts);

}  // namespace supra::reports
