#include "reports/reference.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/build_info.h"
#include "core/error.h"

namespace supra::reports {

namespace {

using json = nlohmann::json;

const json& need(const json& j, const char* key, const std::string& where, const std::string& origin) {
  if (!j.is_object() || !j.contains(key)) fail("{}: {} has no field \"{}\"", origin, where, key);
  return j.at(key);
}

std::string str_or(const json& j, const char* key, const std::string& dflt = "") {
  if (!j.contains(key) || j.at(key).is_null()) return dflt;
  return j.at(key).get<std::string>();
}

std::vector<RefColumn> columns(const json& arr, const std::string& where, const std::string& origin) {
  if (!arr.is_array()) fail("{}: {} must be an array of {{task, metric, label}}", origin, where);
  std::vector<RefColumn> out;
  for (const json& c : arr) {
    out.push_back({need(c, "task", where, origin).get<std::string>(), need(c, "metric", where, origin).get<std::string>(),
                   need(c, "label", where, origin).get<std::string>()});
  }
  return out;
}

}  // namespace

bool ReportReference::is_percent(const std::string& metric) const {
  return std::find(percent_metrics.begin(), percent_metrics.end(), metric) != percent_metrics.end();
}

std::string default_reference_path() {
  // The JSON lives beside the reports sources of the tree this binary was built from.
  return (std::filesystem::path(build_source_root()) / "reports" / "paper_reference.json").string();
}

ReportReference load_reference(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot read the reports' reference data (give another with --reference)", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_reference(ss.str(), path);
}

ReportReference parse_reference(const std::string& text, const std::string& origin) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail("{}: not valid JSON: {}", origin, e.what());
  }
  ReportReference r;
  try {
    r.source = str_or(j, "source");
    r.percent_metrics = need(j, "percent_metrics", "the file", origin).get<std::vector<std::string>>();
    for (auto& [task, metric] : need(j, "primary_metric", "the file", origin).items())
      r.primary_metric.push_back({task, metric.get<std::string>()});
    r.metric_preference = need(j, "metric_preference", "the file", origin).get<std::vector<std::string>>();

    const json& t1 = need(j, "table1", "the file", origin);
    r.table1_caption = str_or(t1, "caption", "Table 1");
    r.table1_columns = columns(need(t1, "columns", "table1", origin), "table1.columns", origin);
    for (const json& row : need(t1, "rows", "table1", origin)) {
      RefNluRow x;
      x.model = need(row, "model", "a table1 row", origin).get<std::string>();
      x.mode = need(row, "mode", "table1 row " + x.model, origin).get<std::string>();
      x.values = need(row, "values", "table1 row " + x.model, origin).get<std::vector<double>>();
      x.avg = need(row, "avg", "table1 row " + x.model, origin).get<double>();
      if (x.values.size() != r.table1_columns.size())
        fail("{}: table1 row {} has {} values, expected one per column ({})", origin, x.model, x.values.size(),
             r.table1_columns.size());
      r.table1_rows.push_back(std::move(x));
    }

    const json& t2 = need(j, "table2", "the file", origin);
    r.table2_caption = str_or(t2, "caption", "Table 2");
    r.table2_ctx = need(t2, "ctx", "table2", origin).get<std::vector<int64_t>>();
    r.table2_tasks = columns(need(t2, "tasks", "table2", origin), "table2.tasks", origin);
    for (const json& row : need(t2, "rows", "table2", origin)) {
      RefLongRow x;
      x.model = need(row, "model", "a table2 row", origin).get<std::string>();
      x.mode = need(row, "mode", "table2 row " + x.model, origin).get<std::string>();
      x.train_ctx = need(row, "train_ctx", "table2 row " + x.model, origin).get<int64_t>();
      for (auto& [task, vals] : need(row, "values", "table2 row " + x.model, origin).items()) {
        auto v = vals.get<std::vector<double>>();
        if (v.size() != r.table2_ctx.size())
          fail("{}: table2 row {} task {} has {} values, expected one per ctx ({})", origin, x.model, task, v.size(),
               r.table2_ctx.size());
        x.values[task] = std::move(v);
      }
      r.table2_rows.push_back(std::move(x));
    }

    const json& eff = need(j, "effective_context", "the file", origin);
    r.effective_threshold = need(eff, "threshold", "effective_context", origin).get<double>();
    r.effective_max_rise_pct = need(eff, "max_rise_pct", "effective_context", origin).get<double>();
    r.effective_tasks = need(eff, "tasks", "effective_context", origin).get<std::vector<std::string>>();
    if (r.effective_max_rise_pct < 0)
      fail("{}: effective_context.max_rise_pct must be >= 0, got {}", origin, r.effective_max_rise_pct);

    for (const json& m : need(j, "models", "the file", origin)) {
      RefModel x;
      x.name = need(m, "name", "a models entry", origin).get<std::string>();
      if (m.contains("aliases")) x.aliases = m.at("aliases").get<std::vector<std::string>>();
      x.table1 = str_or(m, "table1");
      x.table2 = str_or(m, "table2");
      x.base = str_or(m, "base");
      x.note = str_or(m, "note");
      r.models.push_back(std::move(x));
    }
  } catch (const json::exception& e) {
    fail("{}: unexpected value: {}", origin, e.what());
  }
  return r;
}

}  // namespace supra::reports
