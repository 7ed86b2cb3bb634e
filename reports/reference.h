#pragma once
// The reports' one data file (reports/paper_reference.json): the paper's Table 1 and Table 2 rows, which metric
// each task's column shows, and how our model names map onto the paper's rows and onto softmax/SUPRA pairs.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace supra::reports {

struct RefColumn {
  std::string task, metric, label;
};

struct RefNluRow {
  std::string model, mode;
  std::vector<double> values;  // one per Table 1 column, in percent
  double avg = 0;              // the paper's printed average
};

struct RefLongRow {
  std::string model, mode;
  int64_t train_ctx = 0;
  std::map<std::string, std::vector<double>> values;  // task -> one value per table2 ctx
};

struct RefModel {
  std::string name;                  // canonical name (basename of a checkpoint path)
  std::vector<std::string> aliases;  // other basenames meaning the same model
  std::string table1, table2;        // paper rows ("" = none)
  std::string base;                  // canonical name of the softmax model this one is the SUPRA version of
  std::string note;
};

struct ReportReference {
  std::string source;
  std::vector<std::string> percent_metrics;
  std::vector<std::pair<std::string, std::string>> primary_metric;  // task GLOB pattern -> metric
  std::vector<std::string> metric_preference;
  std::string table1_caption, table2_caption;
  std::vector<RefColumn> table1_columns;
  std::vector<RefNluRow> table1_rows;
  std::vector<int64_t> table2_ctx;
  std::vector<RefColumn> table2_tasks;
  std::vector<RefLongRow> table2_rows;
  std::vector<RefModel> models;
  // Effective context length (RULER-style, EVALUATION.md section 7): a length passes when a higher-is-better score
  // is >= effective_threshold (display units), or a lower-is-better one is at most effective_max_rise_pct percent
  // above the best value at any shorter swept length; the effective length is the largest swept length up to which
  // every length passes.
  double effective_threshold = 0, effective_max_rise_pct = 0;
  std::vector<std::string> effective_tasks;  // task GLOB patterns that get an effective context length

  bool is_percent(const std::string& metric) const;
};

// reports/paper_reference.json of this source tree.
std::string default_reference_path();
// Parses the file; errors name the file and the field.
ReportReference load_reference(const std::string& path);
ReportReference parse_reference(const std::string& json_text, const std::string& origin);

}  // namespace supra::reports
