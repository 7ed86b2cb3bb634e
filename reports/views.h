#pragma once
// The report's tables as SQL views in the results store (reports/README.md documents every view and column), so a
// researcher can query them directly:  sqlite3 results.sqlite 'SELECT * FROM v_nlu_table'.
#include <string>
#include <vector>

#include "reports/reference.h"

struct sqlite3;

namespace supra::reports {

struct ViewInfo {
  std::string name;
  std::string summary;  // one line
};

// Every view create_report_views makes, in creation order.
const std::vector<ViewInfo>& report_views();

// Creates (or refreshes: drop + create, in one transaction) the reference tables report_ref_* from `ref`, the
// bench_results table when absent, and every report view. Idempotent.
void create_report_views(sqlite3* db, const ReportReference& ref);
// The same with reports/paper_reference.json of this source tree.
void create_report_views(sqlite3* db);

// The SQL expression giving a model's display name from a path column: basename, trailing '/' and a
// .bin/.gguf/.safetensors/.pt extension dropped ("models/stories260K/stories260K.bin" -> "stories260K").
std::string model_name_sql(const std::string& column);

}  // namespace supra::reports
