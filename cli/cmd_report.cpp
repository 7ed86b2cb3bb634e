// supra-eval report: the paper's tables and plots regenerated from a results store (reports/). Reads only the
// store, and writes nothing into it: the store is opened read-only, the views are TEMP in that connection, so a report
// never waits for a running sweep. An older store is read as it is (its missing tables and columns stood in for,
// store/store.h open_store_read_only); a newer one is refused. Runs no model; writes only into --out.
#include <cstdio>

#include "cli/commands.h"
#include "reports/report.h"

namespace supra {

void register_report(CLI::App& app) {
  struct Args {
    std::string db = "results.sqlite", out = "report", formats = "md,csv,latex,html", reference;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("report", "tables (Markdown, CSV, LaTeX), SVG plots and an HTML report from the "
                                           "results store (read only: writes nothing into it)");
  cmd->add_option("--db", a->db, "SQLite results store")->capture_default_str();
  cmd->add_option("--out", a->out, "output folder")->capture_default_str();
  cmd->add_option("--format", a->formats, "comma-separated: md, csv, latex, html")->capture_default_str();
  cmd->add_option("--reference", a->reference,
                  "the paper's numbers and the model-name map (default: reports/paper_reference.json)");
  cmd->callback([a] {
    reports::ReportOptions o;
    o.db_path = a->db;
    o.out_dir = a->out;
    o.formats = reports::parse_formats(a->formats);
    o.reference_path = a->reference;
    const reports::ReportSummary s = reports::write_report(o);
    std::printf("report: %ld finished runs, %ld bench rows -> %s\n", long(s.finished_runs), long(s.bench_rows),
                o.out_dir.c_str());
    std::printf("tables: ");
    for (size_t i = 0; i < s.tables.size(); i++) std::printf("%s%s", i ? ", " : "", s.tables[i].c_str());
    std::printf("\n%zu files written", s.files.size());
    if (o.formats.count("html")) std::printf("; open %s/report.html in a browser", o.out_dir.c_str());
    std::printf("\n");
  });
}

}  // namespace supra
