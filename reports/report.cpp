#include "reports/report.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "core/error.h"
#include "store/store.h"
#include "store/db.h"
#include "reports/views.h"

namespace supra::reports {

namespace fs = std::filesystem;

namespace {

// For the reader of the page; the store itself keeps ISO 8601 (store/store.h now_utc).
std::string display_time_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
  return buf;
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  if (!out) fail("{}: cannot write", p.string());
  out << text;
  if (!out) fail("{}: write failed", p.string());
}

const Table* find_table(const std::vector<Table>& ts, const std::string& id) {
  for (const Table& t : ts)
    if (t.id == id) return &t;
  return nullptr;
}

// Distinct non-empty values of a text column (by CSV key) of a table, in first-seen order.
std::vector<std::string> distinct_column(const Table* t, const std::string& key) {
  std::vector<std::string> out;
  if (!t) return out;
  size_t col = t->cols.size();
  for (size_t i = 0; i < t->cols.size(); i++)
    if (t->cols[i].key == key) col = i;
  if (col == t->cols.size()) return out;
  std::set<std::string> seen;
  for (const Row& r : t->rows) {
    if (col >= r.cells.size()) continue;
    const Cell& c = r.cells[col];
    const std::string v = c.numeric ? (c.value ? format_fixed(*c.value, c.precision) : "") : c.text;
    if (!v.empty() && seen.insert(v).second) out.push_back(v);
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

const char* kCss = R"css(
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #1d2125; background: #fafafa; }
main { max-width: 1320px; margin: 0 auto; padding: 12px 28px 40px; }
header { background: #24313f; color: #f4f6f8; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 2px 0; font-size: 13px; color: #c9d3dd; }
header code { background: #3a4a5c; color: #f4f6f8; }
nav { font-size: 13px; margin: 14px 0 4px; }
nav a { margin-right: 14px; color: #2c5d8f; text-decoration: none; }
h2 { border-bottom: 2px solid #d8dee4; padding-bottom: 4px; margin-top: 34px; font-size: 20px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
p.empty { color: #6a737d; font-style: italic; }
.table-wrap { overflow-x: auto; margin: 4px 0 6px; }
table.report { border-collapse: collapse; font-size: 13px; background: #fff; }
p.tcap { font-size: 13px; color: #444; margin: 16px 0 4px; max-width: 1100px; }
table.report th, table.report td { border-bottom: 1px solid #e1e4e8; padding: 4px 9px; white-space: nowrap; }
table.report thead th { background: #eef1f4; border-bottom: 2px solid #c8ced4; text-align: left; }
table.report th.num, table.report td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.report th.group { text-align: center; border-left: 1px solid #d0d6dc; }
table.report tr.paper td { color: #5a6470; font-style: italic; background: #f6f8fa; }
table.report td.missing { color: #9aa2aa; text-align: center; }
table.report td.beyond { background: #fff1e0; }
table.report span.se { color: #6a737d; font-size: 11px; }
table.report span.n { display: block; color: #9aa2aa; font-size: 10px; }
ul.notes { font-size: 12px; color: #555; margin: 4px 0 10px; padding-left: 18px; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; background: #fff; border: 1px solid #e1e4e8; padding: 6px; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { font-size: 12px; color: #555; padding: 4px 2px 0; }
dl.prov { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; font-size: 13px; }
dl.prov dt { font-weight: 600; }
dl.prov dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; background: #eef1f4; padding: 1px 4px; }
details summary { cursor: pointer; font-weight: 600; margin: 10px 0; }
ul.findings { font-size: 15px; line-height: 1.45; max-width: 1100px; padding-left: 22px; }
ul.findings li { margin: 4px 0; }
)css";

struct Section {
  std::string id, title, intro;
  std::vector<std::string> tables;
  std::vector<std::string> plot_sections;
  std::string empty_text;
};

std::vector<Section> sections() {
  return {
      {"nlu", "NLU tasks (Table 1)", "", {"nlu"}, {}, "No runs of the Table 1 tasks in this store."},
      {"long", "Context length (Table 2)",
       "Each task's headline metric at each context length; lines show it against context length (log2 axis), one "
       "per model and attention mode.",
       {"long_context"}, {"long_context"}, "No task has results at two or more context lengths."},
      {"pairs", "Softmax vs SUPRA", "", {"pairs"}, {}, "No softmax/SUPRA pair has results in this store."},
      {"probes", "Long-context probes", "", {"passkey", "ppl_by_position"}, {"passkey", "ppl_by_position"},
       "No passkey or perplexity-by-position runs in this store."},
      {"bench", "Speed and memory", "From supra-eval bench --db (table bench_results).", {"bench"}, {"bench"},
       "No benchmark rows in this store (run supra-eval bench --db FILE)."},
  };
}

}  // namespace

std::set<std::string> parse_formats(const std::string& list) {
  std::set<std::string> out;
  size_t a = 0;
  while (a <= list.size()) {
    size_t b = list.find(',', a);
    if (b == std::string::npos) b = list.size();
    std::string f = list.substr(a, b - a);
    while (!f.empty() && f.front() == ' ') f.erase(f.begin());
    while (!f.empty() && f.back() == ' ') f.pop_back();
    a = b + 1;
    if (f.empty()) continue;
    if (f == "markdown") f = "md";
    if (f == "tex") f = "latex";
    if (f == "all") {
      out.insert({"md", "csv", "latex", "html"});
      continue;
    }
    if (f != "md" && f != "csv" && f != "latex" && f != "html")
      fail("--format: unknown format '{}'; expected a comma-separated list of md, csv, latex, html", f);
    out.insert(f);
  }
  if (out.empty()) fail("--format: expected a comma-separated list of md, csv, latex, html; got '{}'", list);
  return out;
}

namespace {

// The provenance section: what produced the numbers, summarised, then the provenance tables.
std::string html_provenance(const std::vector<Table>& provenance) {
  std::string h;
  const Table* rev = find_table(provenance, "provenance_revisions");
  const Table* mod = find_table(provenance, "provenance_models");
  const Table* run = find_table(provenance, "provenance_runs");
  h += "<section id=\"provenance\">\n<h2>Provenance</h2>\n<dl class=\"prov\">\n";
  auto dd = [&](const std::string& dt, const std::vector<std::string>& v) {
    h += fmt::format("<dt>{}</dt><dd>{}</dd>\n", html_escape(dt), v.empty() ? "–" : html_escape(join(v, ", ")));
  };
  dd("harness git revision(s)", distinct_column(rev, "git_rev"));
  {
    std::vector<std::string> shas;
    if (mod)
      for (const Row& r : mod->rows) shas.push_back(r.cells[0].text + " (" + r.cells[1].text + "): " + r.cells[2].text);
    h += fmt::format("<dt>model sha256</dt><dd>{}</dd>\n", shas.empty() ? "–" : html_escape(join(shas, "; ")));
  }
  {
    std::vector<std::string> tv;
    std::set<std::string> seen;
    if (run)
      for (const Row& r : run->rows) {
        const std::string s = r.cells[2].text + " v" + format_fixed(*r.cells[3].value, 0);
        if (seen.insert(s).second) tv.push_back(s);
      }
    dd("task versions", tv);
  }
  dd("truncation policy", distinct_column(run, "truncation"));
  dd("shots", distinct_column(run, "shots"));
  dd("seeds", distinct_column(run, "seed"));
  dd("dtype / device", [&] {
    std::vector<std::string> v = distinct_column(run, "dtype");
    for (auto& d : distinct_column(run, "device")) v.push_back(d);
    return v;
  }());
  {
    std::vector<std::string> firsts = distinct_column(rev, "first"), lasts = distinct_column(rev, "last");
    std::sort(firsts.begin(), firsts.end());
    std::sort(lasts.begin(), lasts.end());
    dd("dates (UTC)", firsts.empty() ? std::vector<std::string>{} :
                                       std::vector<std::string>{firsts.front() + " … " + lasts.back()});
  }
  h += "</dl>\n";
  for (const Table& t : provenance)
    if (!t.empty()) h += render_html(t);
  h += "</section>\n";
  return h;
}

const char* kNoFindings = "Nothing to summarise yet: no perplexity-by-position, effective-context, benchmark or "
                          "softmax-vs-SUPRA results in this store.";

std::string html_figure(const Plot& p) {
  return fmt::format("<figure id=\"plot-{}\">\n{}<figcaption>{} — <code>plots/{}.svg</code></figcaption></figure>\n",
                     p.id, p.svg, html_escape(p.caption.empty() ? p.title : p.caption), p.id);
}

// The opening section: the generated sentences, then the key figures (perplexity by position, models overlaid).
std::string html_findings(const std::vector<Finding>& findings, const std::vector<Plot>& plots) {
  std::string h = "<section id=\"findings\">\n<h2>What the data shows</h2>\n";
  if (findings.empty()) h += "<p class=\"empty\">" + html_escape(kNoFindings) + "</p>\n";
  else {
    h += "<ul class=\"findings\">\n";
    for (const Finding& f : findings) h += "<li>" + html_escape(f.text) + "</li>\n";
    h += "</ul>\n<p class=\"tcap\">Each sentence is computed from the store's views when the report is made.</p>\n";
  }
  std::string figs;
  for (const Plot& p : plots)
    if (p.section == "key") figs += html_figure(p);
  if (!figs.empty()) h += "<div class=\"plots\">\n" + figs + "</div>\n";
  return h + "</section>\n";
}

}  // namespace

std::string render_html_report(const std::string& db_path, const std::vector<Table>& tables,
                               const std::vector<Table>& provenance, const std::vector<Plot>& plots,
                               const std::vector<Finding>& findings) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<title>supra-eval report</title>\n<style>" +
                  std::string(kCss) + "</style>\n</head>\n<body>\n";
  h += "<header><h1>supra-eval report: softmax vs SUPRA linear attention</h1>\n";
  h += fmt::format("<p>Store <code>{}</code> · generated {} · everything below is read from the store's views "
                   "(no model was run to make this page).</p></header>\n<main>\n",
                   html_escape(db_path), display_time_utc());
  h += "<nav><a href=\"#findings\">What the data shows</a>";
  for (const Section& s : sections()) h += fmt::format("<a href=\"#{}\">{}</a>", s.id, html_escape(s.title));
  h += "<a href=\"#provenance\">Provenance</a><a href=\"#views\">Views</a><a href=\"#paper\">Paper</a></nav>\n";
  h += html_findings(findings, plots);

  for (const Section& s : sections()) {
    h += fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n", s.id, html_escape(s.title));
    bool any = false;
    std::string body;
    for (const std::string& id : s.tables) {
      const Table* t = find_table(tables, id);
      if (t && !t->empty()) {
        body += render_html(*t);
        any = true;
      }
    }
    std::string figs;
    for (const Plot& p : plots)
      if (std::find(s.plot_sections.begin(), s.plot_sections.end(), p.section) != s.plot_sections.end())
        figs += html_figure(p);
    if (!figs.empty()) {
      body += "<div class=\"plots\">\n" + figs + "</div>\n";
      any = true;
    }
    if (any && !s.intro.empty()) h += "<p>" + html_escape(s.intro) + "</p>\n";
    h += body;
    if (!any) h += "<p class=\"empty\">" + html_escape(s.empty_text) + "</p>\n";
    h += "</section>\n";
  }

  h += html_provenance(provenance);

  // Views.
  h += "<section id=\"views\">\n<h2>Querying the store</h2>\n<p>Every table above is a SQL view over the store, "
       "made TEMP in the report's own read-only connection (the store holds only the results); "
       "<code>views.sql</code>, beside this page, makes them again in a sqlite3 shell, for example <code>sqlite3 "
       "-readonly -cmd '.read OUT/views.sql' " +
       html_escape(db_path) +
       " 'SELECT * FROM v_nlu_table'</code> (OUT: this page's folder). Columns are documented in "
       "<code>reports/README.md</code>.</p>\n<ul>\n";
  for (const ViewInfo& v : report_views())
    h += fmt::format("<li><code>{}</code> — {}</li>\n", v.name, html_escape(v.summary));
  h += "</ul>\n</section>\n";

  // The paper's tables.
  h += "<section id=\"paper\">\n<h2>The paper's numbers</h2>\n<details><summary>Tables 1 and 2 of the paper "
       "(reports/paper_reference.json)</summary>\n";
  for (const char* id : {"paper_table1", "paper_table2"})
    if (const Table* t = find_table(tables, id)) h += render_html(*t);
  h += "</details>\n</section>\n</main>\n</body>\n</html>\n";
  return h;
}

std::string render_markdown_report(const std::string& db_path, const std::vector<Table>& tables,
                                   const std::vector<Table>& provenance, const std::vector<Plot>& plots,
                                   const std::vector<Finding>& findings) {
  std::string m = fmt::format("# supra-eval report: softmax vs SUPRA\n\nStore `{}`, generated {}. Every number is "
                              "read from the store's views (see reports/README.md).\n\n",
                              db_path, display_time_utc());
  m += "# What the data shows\n\n";
  for (const Finding& f : findings) m += "- " + f.text + "\n";
  if (findings.empty()) m += "_" + std::string(kNoFindings) + "_\n";
  m += "\n";
  for (const Plot& p : plots)
    if (p.section == "key") m += fmt::format("![{}](plots/{}.svg)\n\n", p.caption.empty() ? p.title : p.caption, p.id);
  for (const Section& s : sections()) {
    m += fmt::format("# {}\n\n", s.title);
    bool any = false;
    for (const std::string& id : s.tables) {
      const Table* t = find_table(tables, id);
      if (t && !t->empty()) {
        m += render_markdown(*t) + "\n";
        any = true;
      }
    }
    for (const Plot& p : plots)
      if (std::find(s.plot_sections.begin(), s.plot_sections.end(), p.section) != s.plot_sections.end()) {
        m += fmt::format("![{}](plots/{}.svg)\n\n", p.title, p.id);
        any = true;
      }
    if (!any) m += "_" + s.empty_text + "_\n\n";
  }
  m += "# Provenance\n\n";
  for (const Table& t : provenance) m += render_markdown(t) + "\n";
  m += "# The paper's numbers\n\n";
  for (const char* id : {"paper_table1", "paper_table2"})
    if (const Table* t = find_table(tables, id)) m += render_markdown(*t) + "\n";
  return m;
}

ReportSummary write_report(const ReportOptions& o) {
  if (o.db_path.empty()) fail("report: --db is required");
  if (!fs::exists(o.db_path)) fail("{}: no such results store", o.db_path);
  if (o.out_dir.empty()) fail("report: --out is required");
  const ReportReference ref =
      load_reference(o.reference_path.empty() ? default_reference_path() : o.reference_path);
  // Read-only: the report writes nothing into the store and never waits for a running sweep (an older store is
  // read as it is, see open_store_read_only); the views are TEMP, in this connection only.
  Db db = open_store_read_only(o.db_path);
  create_report_views(db, ref);

  std::vector<Table> tables, prov;
  std::vector<Plot> plots;
  std::vector<Finding> findings;
  ReportSummary sum;
  db.transaction(  // one snapshot: batches a sweep commits meanwhile appear in none of the tables or in all
      [&] {
        tables = build_tables(db, ref);
        prov = build_provenance(db);
        plots = build_plots(db, ref);
        findings = build_findings(db);
        Stmt q(db,
               "SELECT (SELECT count(*) FROM runs WHERE status = 'finished'), (SELECT count(*) FROM bench_results)");
        q.step();
        sum.finished_runs = q.i64(0);
        sum.bench_rows = q.i64(1);
      },
      Db::Begin::Deferred);
  const std::string views_sql = report_views_script(db, ref);
  const fs::path out(o.out_dir);
  std::error_code ec;
  fs::create_directories(out / "tables", ec);
  if (ec) fail("{}: cannot create the output folder: {}", (out / "tables").string(), ec.message());
  fs::create_directories(out / "plots", ec);
  if (ec) fail("{}: cannot create the output folder: {}", (out / "plots").string(), ec.message());

  auto emit = [&](const fs::path& rel, const std::string& text) {
    write_file(out / rel, text);
    sum.files.push_back(rel.generic_string());
  };
  std::vector<const Table*> all;
  for (const Table& t : tables) all.push_back(&t);
  for (const Table& t : prov) all.push_back(&t);
  for (const Table* t : all) {
    if (t->empty()) continue;
    sum.tables.push_back(t->id);
    if (o.formats.count("md")) emit(fs::path("tables") / (t->id + ".md"), render_markdown(*t));
    if (o.formats.count("csv")) emit(fs::path("tables") / (t->id + ".csv"), render_csv(*t));
    if (o.formats.count("latex")) emit(fs::path("tables") / (t->id + ".tex"), render_latex(*t));
  }
  for (const Plot& p : plots) emit(fs::path("plots") / (p.id + ".svg"), p.svg);
  emit("views.sql", views_sql);
  if (o.formats.count("md")) emit("report.md", render_markdown_report(o.db_path, tables, prov, plots, findings));
  if (o.formats.count("html")) emit("report.html", render_html_report(o.db_path, tables, prov, plots, findings));
  return sum;
}

}  // namespace supra::reports
