#pragma once
// The report's tables as SQL views over the results store (reports/README.md documents every view and column). They
// and the reference tables report_ref_* are TEMP: made in the report's own (read-only) connection, never written into
// the store. `supra-eval report` also writes them as a script, OUT/views.sql, so a researcher can query them:
//   sqlite3 -readonly -cmd '.read OUT/views.sql' results.sqlite 'SELECT * FROM v_nlu_table'.
#include <string>
#include <vector>

#include "reports/reference.h"
#include "store/db.h"


namespace supra::reports {

struct ViewInfo {
  std::string name;
  std::string summary;  // one line
};

// Every view create_report_views makes, in creation order.
const std::vector<ViewInfo>& report_views();

// Creates (or refreshes: drop + create, in one transaction) the TEMP reference tables report_ref_* from `ref` and
// every report view, TEMP, in this connection. Writes nothing into the store: `db` may be read-only
// (open_store_read_only). Idempotent.
void create_report_views(Db& db, const ReportReference& ref);
// The same with reports/paper_reference.json of this source tree.
void create_report_views(Db& db);

// A sqlite3-shell script that makes what create_report_views made in `db` (stand-ins for an older store's missing
// tables, the reference tables with their rows, the views with their comments), every object TEMP.
std::string report_views_script(Db& db, const ReportReference& ref);

// The SQL expression giving a model's display name from a path column: basename, trailing '/' and a
// .bin/.gguf/.safetensors/.pt extension dropped ("models/stories260K/stories260K.bin" -> "stories260K").
std::string model_name_sql(const std::string& column);

}  // namespace supra::reports
