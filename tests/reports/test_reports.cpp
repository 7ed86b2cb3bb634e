// Reports: a store with known rows -> the views, the tables in every format, the plots and the HTML report.
// Over 600 lines: one test per view, table, plot and page of the report, all on the one known store (known_store.h),
// with the small CSV and XML readers they share; how report reaches the store is test_report_store.cpp.
// Tolerances: stored values are read back from SQLite REAL (double) and averaged in SQL or C++ in double: Approx's
// default (~1.2e-5 relative) is far above that rounding; printed values are checked to half a unit of their last
// printed digit, and the paper's averages to its 2-decimal rounding.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "store/db.h"
#include "store/store.h"
#include "reports/report.h"
#include "reports/svg.h"
#include "reports/table.h"
#include "reports/views.h"
#include "tests/reports/known_store.h"
#include "tests/reports/xml_check.h"

using namespace supra;
using namespace supra::reports;
using namespace supra::test;
namespace fs = std::filesystem;

namespace {

// ---- a tiny CSV reader (RFC 4180 quoting) ----
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); i++) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', i++;
      else if (c == '"') quoted = false;
      else field += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(field), field.clear();
    } else if (c == '\n') {
      rows.back().push_back(field), field.clear();
      rows.emplace_back();
    } else {
      field += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

struct Csv {
  std::vector<std::string> head;
  std::vector<std::map<std::string, std::string>> rows;
  // The row whose `key` column equals `value` (and source), or fail.
  const std::map<std::string, std::string>& row(const std::string& key, const std::string& value,
                                                const std::string& source = "store") const {
    for (auto& r : rows)
      if (r.at(key) == value && r.at("source") == source) return r;
    FAIL("no CSV row with " << key << " = " << value << " (" << source << ")");
    return rows.front();
  }
  // The row of a model at a context length.
  const std::map<std::string, std::string>& at(const std::string& model, const std::string& ctx) const {
    for (auto& r : rows)
      if (r.at("model") == model && r.at("ctx") == ctx && r.at("source") == "store") return r;
    FAIL("no CSV row for " << model << " at ctx " << ctx);
    return rows.front();
  }
};

Csv read_csv(const fs::path& p) {
  auto raw = parse_csv(read(p));
  REQUIRE(!raw.empty());
  Csv c;
  c.head = raw[0];
  for (size_t i = 1; i < raw.size(); i++) {
    REQUIRE(raw[i].size() == c.head.size());
    std::map<std::string, std::string> r;
    for (size_t k = 0; k < c.head.size(); k++) r[c.head[k]] = raw[i][k];
    c.rows.push_back(r);
  }
  return c;
}

// The table row (markdown) whose first cell is `first` and second `second`: its cells, trimmed.
std::vector<std::string> md_row(const std::string& md, const std::string& first, const std::string& second) {
  std::istringstream in(md);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() < 2 || line[0] != '|') continue;
    std::vector<std::string> cells;
    size_t a = 1;
    while (a < line.size()) {
      size_t b = line.find(" |", a);
      if (b == std::string::npos) break;
      std::string c = line.substr(a, b - a);
      while (!c.empty() && c.front() == ' ') c.erase(c.begin());
      cells.push_back(c);
      a = b + 2;
    }
    if (cells.size() >= 2 && cells[0] == first && cells[1] == second) return cells;
  }
  FAIL("no markdown row " << first << " | " << second);
  return {};
}

}  // namespace

TEST_CASE("numbers print at a fixed precision: the value rounded and never -0.00", "[reports]") {
  CHECK(format_fixed(76.1234, 2) == "76.12");
  CHECK(format_fixed(76.125000001, 2) == "76.13");
  CHECK(format_fixed(-0.001, 2) == "0.00");
  CHECK(format_fixed(0.0, 2) == "0.00");
  CHECK(format_fixed(1.5, 2, true) == "+1.50");
  CHECK(format_fixed(-1.5, 2, true) == "-1.50");
  CHECK(format_fixed(0.0, 2, true) == "0.00");
  CHECK(ctx_label(2048) == "2k");
  CHECK(ctx_label(16384) == "16k");
  CHECK(ctx_label(512) == "512");
  CHECK(ctx_label(1536) == "1536");
}

TEST_CASE("model names are the basename of the path without a weights extension", "[reports]") {
  Db db = Db::memory();
  for (auto [path, want] : std::vector<std::pair<std::string, std::string>>{
           {"models/stories260K/stories260K.bin", "stories260K"},
           {"/data/Llama-2-7b-hf/", "Llama-2-7b-hf"},
           {"mistral-supra", "mistral-supra"},
           {"a/b/model.safetensors", "model"},
           {"x/y.GGUF", "y"},
           {"/", ""}}) {
    Stmt q(db, "SELECT " + model_name_sql("?1"));
    q.bind(1, path);
    REQUIRE(q.step());
    CHECK(q.text(0) == want);
  }
}

TEST_CASE("the reference file parses and holds the paper tables", "[reports]") {
  const ReportReference ref = load_reference(default_reference_path());
  REQUIRE(ref.table1_columns.size() == 6);
  CHECK(ref.table1_columns[0].task == "hellaswag");
  CHECK(ref.table1_columns[0].metric == "acc_norm");
  CHECK(ref.table1_columns[2].metric == "acc");  // WinoGrande
  REQUIRE(ref.table1_rows.size() == 7);
  CHECK(ref.table1_rows[0].model == "Llama2-7B");
  CHECK(ref.table1_rows[0].avg == Approx(65.4));
  REQUIRE(ref.table2_rows.size() == 5);
  CHECK(ref.table2_rows[4].model == "Mistral-SUPRA");
  CHECK(ref.table2_rows[4].values.at("narrative_qa")[3] == Approx(17.74));
  // Every paper average is the mean of its row, to the paper's rounding.
  for (const RefNluRow& r : ref.table1_rows) {
    double s = 0;
    for (double v : r.values) s += v;
    CHECK(std::abs(s / double(r.values.size()) - r.avg) <= 0.051);
  }
  CHECK_THROWS_WITH(parse_reference("{\"percent_metrics\": []}", "x.json"), Catch::Contains("x.json"));
}

TEST_CASE("the views hold one row per cell: the complete run wins and unfinished runs never show", "[reports]") {
  Db db = open_store_read_only(known_store().string());
  create_report_views(db);
  create_report_views(db);  // idempotent
  for (const ViewInfo& v : report_views()) CHECK(db.has_object(v.name));

  Stmt q(db, "SELECT hellaswag, hellaswag_stderr, hellaswag_n, mmlu, n_tasks, avg, avg_present, beyond_train, "
             "paper_model, ctx FROM v_nlu_table WHERE model = 'Llama-2-7b-hf'");
  REQUIRE(q.step());
  CHECK(q.f64(0) == Approx(76.1234));  // the complete run (0.761234), not the later --limit 10 run (0.9)
  CHECK(q.f64(1) == Approx(0.4251));
  CHECK(q.i64(2) == 10042);
  CHECK(q.f64(3) == Approx(45.8734));
  CHECK(q.i64(4) == 6);
  const double avg = (76.1234 + 79.107 + 69.0608 + 76.3047 + 46.3311 + 45.8734) / 6;
  CHECK(q.f64(5) == Approx(avg));
  CHECK(q.i64(7) == 0);
  CHECK(q.text(8) == "Llama2-7B");
  CHECK(q.i64(9) == 4096);
  CHECK_FALSE(q.step());

  Stmt m(db, "SELECT hellaswag, mmlu, n_tasks, avg, avg_present, paper_model FROM v_nlu_table "
             "WHERE model = 'mistral-supra'");
  REQUIRE(m.step());
  CHECK(m.is_null(0));  // only acc stored: the acc_norm cell is missing, not filled from acc
  CHECK(m.is_null(1));
  CHECK(m.i64(2) == 4);
  CHECK(m.is_null(3));  // incomplete row: no average
  CHECK(m.f64(4) == Approx((80.1 + 70.32 + 75.93 + 45.77) / 4));
  CHECK(m.text(5) == "Mistral-SUPRA (+100B)");

  Stmt n(db, "SELECT count(*) FROM v_results WHERE task = 'boolq'");
  REQUIRE(n.step());
  CHECK(n.i64(0) == 0);
  Stmt c(db, "SELECT n_candidates FROM v_cells WHERE model_label = 'Llama-2-7b-hf' AND task = 'hellaswag' "
             "AND metric = 'acc_norm'");
  REQUIRE(c.step());
  CHECK(c.i64(0) == 2);

  Stmt pm(db, "SELECT task, metric FROM v_primary WHERE model_label = 'stories260K' ORDER BY task, ctx");
  std::map<std::string, std::string> primary;
  while (pm.step()) primary[pm.text(0)] = pm.text(1);
  CHECK(primary.at("piqa") == "acc_norm");
  CHECK(primary.at("passkey_d0") == "acc");  // undeclared task: first metric of the preference list
  CHECK(primary.at("ppl_by_position") == "ppl_pos_128");  // no preferred metric: alphabetical

  Stmt lc(db, "SELECT ctx, value, beyond_train FROM v_long_context WHERE model = 'Llama-2-7b-hf' AND task = 'qasper' "
              "ORDER BY ctx");
  std::vector<std::tuple<int64_t, double, int64_t>> rows;
  while (lc.step()) rows.push_back({lc.i64(0), lc.f64(1), lc.i64(2)});
  REQUIRE(rows.size() == 3);
  CHECK(std::get<2>(rows[0]) == 0);
  CHECK(std::get<2>(rows[1]) == 0);  // ctx == train ctx is not beyond
  CHECK(std::get<2>(rows[2]) == 1);
  CHECK(std::get<1>(rows[2]) == Approx(6.25));  // F1 is stored x 100 already: shown as stored

  Stmt pk(db, "SELECT depth, ctx, value FROM v_passkey ORDER BY depth, ctx");
  int npk = 0;
  while (pk.step()) npk++;
  CHECK(npk == 5);
  Stmt pp(db, "SELECT bucket, ppl FROM v_ppl_position WHERE mode = 'supra' ORDER BY bucket");
  REQUIRE(pp.step());
  CHECK(pp.i64(0) == 64);
  CHECK(pp.f64(1) == Approx(10.5));
}

TEST_CASE("softmax-vs-SUPRA pairs come from the base names of the reference file", "[reports]") {
  Db db = open_store_read_only(known_store().string());
  create_report_views(db);
  Stmt q(db, "SELECT softmax_model, supra_model, task, ctx, softmax_value, supra_value, delta FROM v_pairs "
             "WHERE is_primary ORDER BY task, ctx");
  std::vector<std::vector<std::string>> rows;
  while (q.step()) {
    std::vector<std::string> r;
    for (int i = 0; i < 7; i++) r.push_back(q.is_null(i) ? "NULL" : q.text(i));
    rows.push_back(r);
  }
  // stories260K x stories260K-supra on piqa (256: both; 512: softmax only) and ppl_by_position at 512.
  REQUIRE(rows.size() == 3);
  CHECK(rows[0][0] == "stories260K");
  CHECK(rows[0][1] == "stories260K-supra");
  CHECK(rows[0][2] == "piqa");
  CHECK(std::stod(rows[0][6]) == Approx(52.33 - 55.0));
  CHECK(rows[1][3] == "512");
  CHECK(rows[1][5] == "NULL");
  CHECK(rows[1][6] == "NULL");
  CHECK(rows[2][2] == "ppl_by_position");
}

TEST_CASE("the NLU table: cells and averages and paper rows with a missing cell shown as missing and never 0", "[reports]") {
  const fs::path& out = known_report();
  const Csv csv = read_csv(out / "tables" / "nlu.csv");
  const auto& llama = csv.row("model", "Llama-2-7b-hf");
  CHECK(llama.at("mode") == "softmax");
  CHECK(llama.at("ctx") == "4096");
  CHECK(llama.at("hellaswag") == "76.12");
  CHECK(llama.at("hellaswag_stderr") == "0.43");
  CHECK(llama.at("hellaswag_n") == "10042");
  CHECK(llama.at("piqa") == "79.11");
  CHECK(llama.at("winogrande") == "69.06");
  CHECK(llama.at("arc_easy") == "76.30");
  CHECK(llama.at("arc_challenge") == "46.33");
  CHECK(llama.at("mmlu") == "45.87");
  CHECK(llama.at("avg") == format_fixed((76.1234 + 79.107 + 69.0608 + 76.3047 + 46.3311 + 45.8734) / 6, 2));
  CHECK(llama.at("hellaswag_beyond_train") == "0");

  const auto& paper = csv.row("model", "Llama2-7B (paper)", "paper");
  CHECK(paper.at("hellaswag") == "76.0");
  CHECK(paper.at("avg") == "65.4");
  const auto& paper_ms = csv.row("model", "Mistral-SUPRA (+100B) (paper)", "paper");
  CHECK(paper_ms.at("mode") == "supra");
  CHECK(paper_ms.at("mmlu") == "34.2");

  const auto& ms = csv.row("model", "mistral-supra");
  CHECK(ms.at("hellaswag") == "");  // missing: empty in CSV
  CHECK(ms.at("hellaswag_n") == "");
  CHECK(ms.at("mmlu") == "");
  CHECK(ms.at("avg") == "");
  CHECK(ms.at("piqa") == "80.10");

  const auto& st = csv.at("stories260K", "512");
  CHECK(st.at("winogrande") == "0.00");  // a stored zero is a zero
  CHECK(st.at("hellaswag") == "");

  // Markdown, LaTeX and HTML show the same cells; missing as "–".
  const std::string md = read(out / "tables" / "nlu.md");
  auto row = md_row(md, "mistral-supra", "supra");
  REQUIRE(row.size() == 10);
  CHECK(row[3] == "–");  // HellaSwag
  CHECK(row[8] == "–");  // MMLU
  CHECK(row[9] == "–");  // Avg
  CHECK(row[4] == "80.10 ± 0.93 (n=1838)");
  auto lrow = md_row(md, "Llama-2-7b-hf", "softmax");
  CHECK(lrow[3] == "76.12 ± 0.43 (n=10042)");
  auto prow = md_row(md, "*Llama2-7B (paper)*", "softmax");
  CHECK(prow[3] == "76.0");
  CHECK(md.find("| 0.00 ± 0.00 (n=50) |") != std::string::npos);

  const std::string tex = read(out / "tables" / "nlu.tex");
  CHECK(tex.find("\\toprule") != std::string::npos);
  CHECK(tex.find("\\bottomrule") != std::string::npos);
  CHECK(tex.find("mistral-supra & supra & 2048 & -- & 80.10") != std::string::npos);
  CHECK(tex.find("Llama-2-7b-hf & softmax & 4096 & 76.12\\,{\\scriptsize$\\pm$0.43}") != std::string::npos);

  const std::string html = read(out / "report.html");
  CHECK(html.find("<td class=\"num missing\" title=\"not evaluated\">–</td>") != std::string::npos);
}

TEST_CASE("the long-context table: tasks x context lengths with training context and beyond-training marks", "[reports]") {
  const fs::path& out = known_report();
  const Csv csv = read_csv(out / "tables" / "long_context.csv");
  // Columns: qasper and narrative_qa (the paper's tasks, in its order) at their lengths plus the paper's; then piqa,
  // which stories260K has at two lengths, at every length any model has it. Not the passkey probes.
  std::vector<std::string> want = {"source", "model", "mode", "train_ctx"};
  for (auto [task, ctxs] : std::vector<std::pair<std::string, std::vector<int>>>{
           {"qasper", {2048, 4096, 8192, 16384}},
           {"narrative_qa", {2048, 4096, 8192, 16384}},
           {"piqa", {256, 512, 2048, 4096}}})
    for (int ctx : ctxs)
      for (const char* suffix : {"", "_stderr", "_n", "_beyond_train"})
        want.push_back(fmt::format("{}_{}{}", task, ctx, suffix));
  CHECK(csv.head == want);

  const auto& llama = csv.row("model", "Llama-2-7b-hf");
  CHECK(llama.at("train_ctx") == "4096");
  CHECK(llama.at("qasper_2048") == "23.12");
  CHECK(llama.at("qasper_2048_beyond_train") == "0");
  CHECK(llama.at("qasper_4096") == "27.50");
  CHECK(llama.at("qasper_4096_beyond_train") == "0");
  CHECK(llama.at("qasper_8192") == "6.25");
  CHECK(llama.at("qasper_8192_beyond_train") == "1");
  CHECK(llama.at("qasper_16384") == "");  // not evaluated
  CHECK(llama.at("qasper_16384_beyond_train") == "");
  CHECK(llama.at("narrative_qa_2048") == "21.00");  // 21.005 stored as a double just below 21.005

  const auto& ms = csv.row("model", "mistral-supra");
  CHECK(ms.at("train_ctx") == "2048");
  CHECK(ms.at("qasper_4096") == "17.13");
  CHECK(ms.at("qasper_4096_beyond_train") == "1");
  CHECK(ms.at("narrative_qa_2048") == "");

  const auto& paper = csv.row("model", "Mistral-SUPRA (paper)", "paper");
  CHECK(paper.at("qasper_2048") == "19.44");
  CHECK(paper.at("narrative_qa_16384") == "17.74");
  CHECK(paper.at("narrative_qa_16384_beyond_train") == "1");
  const auto& lp = csv.row("model", "Llama2-7B (paper)", "paper");
  CHECK(lp.at("narrative_qa_8192") == "0.00");  // the paper's own zero
  CHECK(lp.at("qasper_4096_beyond_train") == "0");

  const std::string md = read(out / "tables" / "long_context.md");
  auto row = md_row(md, "Llama-2-7b-hf", "softmax");
  CHECK(row[5] == "6.25† ± 0.50 (n=416)");
  CHECK(row[6] == "–");
  const std::string html = read(out / "report.html");
  CHECK(html.find("class=\"num beyond\"") != std::string::npos);
  const std::string tex = read(out / "tables" / "long_context.tex");
  CHECK(tex.find("\\cmidrule(lr){4-7}") != std::string::npos);
  CHECK(tex.find("6.25$^\\dagger$") != std::string::npos);
}

TEST_CASE("the comparison table shows both sides and the delta with missing sides as missing", "[reports]") {
  const fs::path& out = known_report();
  const Csv csv = read_csv(out / "tables" / "pairs.csv");
  // piqa at 256 and 512; perplexity-by-position buckets stay in their own table (v_pairs has them).
  REQUIRE(csv.rows.size() == 2);
  CHECK(csv.rows[0].at("task") == "piqa");
  CHECK(csv.rows[0].at("ctx") == "256");
  CHECK(csv.rows[0].at("softmax") == "55.00");
  CHECK(csv.rows[0].at("supra") == "52.33");
  CHECK(csv.rows[0].at("delta") == format_fixed((0.5233 - 0.55) * 100, 2, true));
  CHECK(csv.rows[1].at("supra") == "");
  CHECK(csv.rows[1].at("delta") == "");
  const std::string md = read(out / "tables" / "pairs.md");
  CHECK(md.find("| piqa | acc_norm, % | 512 | 56.12 ± 1.10 (n=1838) | – | – |") != std::string::npos);
}

TEST_CASE("bench rows land in the store and in the speed table and plots", "[reports]") {
  const fs::path& out = known_report();
  Db db = open_store_read_only(known_store().string());
  create_report_views(db);
  Stmt q(db, "SELECT count(*), min(prefill_pct_limit), max(decode_pct_limit) FROM v_bench");
  REQUIRE(q.step());
  CHECK(q.i64(0) == 6);
  CHECK(q.f64(1) == Approx(1.5));
  CHECK(q.is_null(2));  // limit not measured: no percentage
  const Csv csv = read_csv(out / "tables" / "bench.csv");
  REQUIRE(csv.rows.size() == 6);
  CHECK(csv.rows[0].at("model") == "stories260K");
  CHECK(csv.rows[0].at("ctx") == "128");
  CHECK(csv.rows[0].at("prefill_tok_s") == format_fixed(1000.0 + 128.0 / 7, 1));
  CHECK(csv.rows[0].at("prefill_pct_limit") == "1.5");
  CHECK(csv.rows[0].at("decode_pct_limit") == "");
  CHECK(csv.rows[0].at("decode_tok_s") == "487.2");
  CHECK(csv.rows[2].at("ctx") == "2048");
  CHECK(csv.rows[2].at("decode_tok_s") == "");  // skipped decode: missing, not 0
  CHECK(csv.rows[2].at("decode_gbps") == "");
  CHECK(csv.rows[2].at("prefill_tok_s") == format_fixed(1000.0 + 2048.0 / 7, 1));
  CHECK(std::find(csv.head.begin(), csv.head.end(), "peak_device_mib") == csv.head.end());  // CPU rows only
  // The decode plot has no point for the skipped decode.
  const std::string dec = read(out / "plots" / "bench_decode_tok_s.svg");
  CHECK(dec.find("stories260K · softmax · ctx 512:") != std::string::npos);
  CHECK(dec.find("stories260K · softmax · ctx 2048:") == std::string::npos);
  CHECK(dec.find("stories260K · supra · ctx 2048:") != std::string::npos);
  for (const char* id : {"bench_prefill_tok_s", "bench_decode_tok_s", "bench_state_mib", "bench_peak_rss_mib"})
    CHECK(svg_series(read(out / "plots" / (std::string(id) + ".svg"))) ==
          std::set<std::string>{"stories260K · softmax", "stories260K · supra"});
}

TEST_CASE("every SVG is well-formed XML with one series per model and mode", "[reports]") {
  const fs::path& out = known_report();
  std::set<std::string> files;
  for (auto& e : fs::directory_iterator(out / "plots")) files.insert(e.path().filename().string());
  CHECK(files == std::set<std::string>{"ctx_qasper.svg", "ctx_piqa.svg", "passkey_stories260K_softmax.svg",
                                       "ppl_position_ppl_by_position.svg", "ppl_position_ppl_by_position_ctx512.svg", "bench_prefill_tok_s.svg",
                                       "bench_decode_tok_s.svg", "bench_state_mib.svg", "bench_peak_rss_mib.svg"});
  for (const std::string& f : files) {
    INFO(f);
    const std::string svg = read(out / "plots" / f);
    std::vector<XmlElement> els;
    CHECK(xml_check(svg, &els) == "");
    REQUIRE(!els.empty());
    CHECK(els[0].name == "svg");
    CHECK(els[0].attrs.at("xmlns") == "http://www.w3.org/2000/svg");
  }
  CHECK(svg_series(read(out / "plots" / "ctx_qasper.svg")) ==
        std::set<std::string>{"Llama-2-7b-hf · softmax", "mistral-supra · supra"});
  CHECK(svg_series(read(out / "plots" / "ctx_piqa.svg")) ==
        std::set<std::string>{"Llama-2-7b-hf · softmax", "mistral-supra · supra", "stories260K · softmax",
                              "stories260K-supra · supra"});
  for (const char* f : {"ppl_position_ppl_by_position_ctx512.svg", "ppl_position_ppl_by_position.svg"})
    CHECK(svg_series(read(out / "plots" / f)) ==
          std::set<std::string>{"stories260K · softmax", "stories260K-supra · supra"});
  // The heatmap: 3 depths x 2 lengths, one cell not evaluated.
  const std::string hm = read(out / "plots" / "passkey_stories260K_softmax.svg");
  CHECK(svg_series(hm) == std::set<std::string>{"stories260K · softmax"});
  CHECK(hm.find("context length 512, depth 100: not evaluated") != std::string::npos);
  CHECK(hm.find("context length 512, depth 50: 25") != std::string::npos);
  // Beyond-training points are hollow: the Llama 8k point.
  const std::string cq = read(out / "plots" / "ctx_qasper.svg");
  CHECK(cq.find("Llama-2-7b-hf · softmax · ctx 8192: 6.25 ± 0.50 (n=416), beyond training ctx 4096") !=
        std::string::npos);
}

TEST_CASE("the checker catches malformed XML", "[reports]") {
  CHECK(xml_check("<svg><g></svg>") != "");
  CHECK(xml_check("<svg a=1/>") != "");
  CHECK(xml_check("<svg>a & b</svg>") != "");
  CHECK(xml_check("<svg/><svg/>") != "");
  CHECK(xml_check("<svg a=\"1\" a=\"2\"/>") != "");
  CHECK(xml_check("<?xml version=\"1.0\"?><svg><!-- x --><t a=\"&amp;\">&lt;&#38;</t></svg>") == "");
}

TEST_CASE("every number in the report equals the store value to the printed precision", "[reports]") {
  const fs::path& out = known_report();
  Db db = open_store_read_only(known_store().string());
  // Every NLU and long-context cell of the CSVs against the raw metrics table.
  const ReportReference ref = load_reference(default_reference_path());
  const Csv nlu = read_csv(out / "tables" / "nlu.csv");
  const Csv lc = read_csv(out / "tables" / "long_context.csv");
  Stmt q(db,
         "SELECT r.model, r.task, r.ctx, m.metric, m.value, m.stderr, m.n, r.limit_docs FROM runs r "
         "JOIN metrics m ON m.run_id = r.id WHERE r.status = 'finished' AND r.limit_docs < 0");
  int checked = 0;
  auto model_name = [](std::string p) {
    while (!p.empty() && p.back() == '/') p.pop_back();
    p = p.substr(p.rfind('/') == std::string::npos ? 0 : p.rfind('/') + 1);
    if (p.size() > 4 && p.substr(p.size() - 4) == ".bin") p.resize(p.size() - 4);
    return p;
  };
  auto close_to = [](const std::string& printed, double want, int precision) {
    INFO(printed << " vs " << want);
    REQUIRE(!printed.empty());
    CHECK(printed == format_fixed(want, precision));
    CHECK(std::abs(std::stod(printed) - want) <= 0.5 * std::pow(10.0, -precision) + 1e-9);
  };
  while (q.step()) {
    const std::string model = model_name(q.text(0)), task = q.text(1), metric = q.text(3);
    for (const RefColumn& c : ref.table1_columns) {
      if (c.task != task || c.metric != metric) continue;
      const auto& row = nlu.at(model, std::to_string(q.i64(2)));
      close_to(row.at(task), q.f64(4) * 100, 2);
      close_to(row.at(task + "_stderr"), q.f64(5) * 100, 2);
      CHECK(row.at(task + "_n") == std::to_string(q.i64(6)));
      checked++;
    }
    if ((task == "qasper" || task == "narrative_qa") && metric == "f1") {
      const auto& row = lc.row("model", model);
      const std::string key = fmt::format("{}_{}", task, q.i64(2));
      close_to(row.at(key), q.f64(4), 2);
      close_to(row.at(key + "_stderr"), q.f64(5), 2);
      checked++;
    }
  }
  // Llama 6 NLU cells, mistral-supra 4, stories260K 3 (winogrande, piqa at two lengths), stories260K-supra 1;
  // 6 long-context cells.
  CHECK(checked == 6 + 4 + 3 + 1 + 6);
  // And the HTML shows the same strings.
  const std::string html = read(out / "report.html");
  for (const char* s : {">76.12<", "> ± 0.43<", ">6.25<sup>†</sup>", ">79.11<"})
    CHECK(html.find(s) != std::string::npos);
}

TEST_CASE("the HTML report is self-contained: inline SVG and no external resources and a provenance block", "[reports]") {
  const fs::path& out = known_report();
  const std::string html = read(out / "report.html");
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  // The only URL is the SVG namespace.
  size_t p = 0, urls = 0, svgs = 0;
  while ((p = html.find("http", p)) != std::string::npos) {
    CHECK(html.compare(p, 26, "http://www.w3.org/2000/svg") == 0);
    p++, urls++;
  }
  p = 0;
  while ((p = html.find("<svg ", p)) != std::string::npos) p++, svgs++;
  CHECK(svgs == 9);
  CHECK(urls == svgs);
  // Provenance: revision, sha256s, task versions, truncation, shots, seeds, dates.
  const size_t prov = html.find("<section id=\"provenance\">");
  REQUIRE(prov != std::string::npos);
  const std::string block = html.substr(prov, html.find("</section>", prov) - prov);
  for (const char* s : {"abc123def456", "aaaa1111", "bbbb2222", "cccc3333", "dddd4444", "qasper v1", "left",
                        "seeds", "1234", "dates (UTC)", "Llama-2-7b-hf"})
    CHECK(block.find(s) != std::string::npos);
  // Markdown report links the plots.
  const std::string md = read(out / "report.md");
  CHECK(md.find("![qasper") == std::string::npos);
  CHECK(md.find("(plots/ctx_qasper.svg)") != std::string::npos);
}

TEST_CASE("an empty store gives a report with no plots and says so", "[reports]") {
  const fs::path db = fresh_db("empty");
  { Store s(db.string()); }
  const fs::path out = temp_path("empty_out");
  fs::remove_all(out);
  ReportOptions o;
  o.db_path = db.string();
  o.out_dir = out.string();
  o.formats = parse_formats("html,md");
  const ReportSummary sum = write_report(o);
  CHECK(sum.finished_runs == 0);
  CHECK(fs::is_empty(out / "plots"));
  CHECK_FALSE(fs::exists(out / "tables" / "nlu.md"));
  CHECK(fs::exists(out / "tables" / "paper_table1.md"));
  CHECK_FALSE(fs::exists(out / "tables" / "paper_table1.csv"));  // csv not asked for
  const std::string html = read(out / "report.html");
  CHECK(html.find("No runs of the Table 1 tasks in this store.") != std::string::npos);
  CHECK(html.find("No benchmark rows") != std::string::npos);
  CHECK(html.find("<svg") == std::string::npos);
  CHECK_THROWS_WITH(parse_formats("md,pdf"), Catch::Contains("pdf"));
  ReportOptions missing;
  missing.db_path = temp_path("does_not_exist").string() + ".sqlite";
  missing.out_dir = out.string();
  CHECK_THROWS_WITH(write_report(missing), Catch::Contains("no such results store"));
  CHECK_FALSE(fs::exists(missing.db_path));
}

TEST_CASE("supra-eval report writes the report from the command line", "[reports][cli]") {
  const fs::path out = temp_path("cli_out");
  fs::remove_all(out);
  const std::string log = temp_path("cli").string() + ".log";
  const std::string cmd = fmt::format("'{}' report --db '{}' --out '{}' --format md,csv,latex,html > '{}' 2>&1",
                                      SUPRA_CLI_PATH, known_store().string(), out.string(), log);
  CHECK(std::system(cmd.c_str()) == 0);
  INFO(read(log));
  CHECK(read(log).find("report.html") != std::string::npos);
  CHECK(fs::exists(out / "report.html"));
  CHECK(fs::exists(out / "tables" / "nlu.tex"));
  CHECK(fs::exists(out / "tables" / "long_context.csv"));
  const std::string bad = fmt::format("'{}' report --db '{}' --out '{}' --format pdf > '{}' 2>&1", SUPRA_CLI_PATH,
                                      known_store().string(), out.string(), log);
  CHECK(std::system(bad.c_str()) != 0);
  CHECK(read(log).find("pdf") != std::string::npos);
}

TEST_CASE("the effective context length is the longest length up to which every swept length passes", "[reports]") {
  Db db = open_store_read_only(known_store().string());
  create_report_views(db);
  // (model, task) -> (effective_ctx or -1 for none, first_fail_ctx or -1 for none)
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> got;
  Stmt q(db, "SELECT model, task, coalesce(effective_ctx, -1), coalesce(first_fail_ctx, -1), threshold "
             "FROM v_effective_ctx");
  while (q.step()) {
    got[{q.text(0), q.text(1)}] = {q.i64(2), q.i64(3)};
    CHECK(q.f64(4) == 50);  // from reports/paper_reference.json
  }
  // passkey_d0: 100 then 90, both >= 50: held to the longest length swept.
  CHECK(got.at({"stories260K", "passkey_d0"}) == std::pair<int64_t, int64_t>{512, -1});
  // passkey_d50: 80 at 256, 25 at 512: effective 256.
  CHECK(got.at({"stories260K", "passkey_d50"}) == std::pair<int64_t, int64_t>{256, 512});
  // Llama qasper F1 23.12 / 27.50 / 6.25: the shortest already fails the threshold.
  CHECK(got.at({"Llama-2-7b-hf", "qasper"}) == std::pair<int64_t, int64_t>{-1, 2048});
  // A task at one length has no row (passkey_d100 at 256 only); nor has a short-input NLU task (piqa at 256, 512).
  CHECK(got.count({"stories260K", "passkey_d100"}) == 0);
  CHECK(got.count({"stories260K", "piqa"}) == 0);

  const Csv csv = read_csv(known_report() / "tables" / "effective_context.csv");
  const auto& row = csv.row("task", "passkey_d50");
  CHECK(row.at("effective_ctx") == "256");
  CHECK(row.at("first_fail_ctx") == "512");
  CHECK(csv.row("task", "qasper").at("effective_ctx") == "");  // missing, never 0
}

TEST_CASE("a perplexity passes while within the allowed rise over its best shorter value", "[reports]") {
  const fs::path p = fresh_db("effective_ppl.sqlite");
  Store s(p.string());
  // lower is better (add_run marks only the metric "perplexity" so): 20, 18, 19.5 (8% above 18: passes), 21 (17%).
  for (auto [ctx, v] : std::vector<std::pair<int, double>>{{128, 20}, {256, 18}, {512, 19.5}, {1024, 21}})
    add_run(s, {kStories, "cccc3333", "softmax", "perplexity:x", ctx, 512, {{"perplexity", {v}}}});
  Db db = open_store_read_only(p.string());
  create_report_views(db);
  Stmt q(db, "SELECT effective_ctx, first_fail_ctx, higher_is_better FROM v_effective_ctx");
  REQUIRE(q.step());
  CHECK(q.i64(0) == 512);
  CHECK(q.i64(1) == 1024);
  CHECK(q.i64(2) == 0);
}

TEST_CASE("a flat series gets a readable y range: all zeros span 0 to 1, not a sliver of rounding", "[reports]") {
  LinePlot p;
  p.title = "flat";
  p.log2_x = true;
  PlotSeries s;
  s.label = "m";
  for (double x : {256.0, 512.0, 1024.0}) s.points.push_back({x, 0.0, false, "", std::nullopt});
  p.series.push_back(s);
  const std::string svg = render_line_plot(p);
  const std::regex sci("[0-9]e-[0-9]");
  CHECK_FALSE(std::regex_search(svg, sci));  // no 5e-11 tick labels
  CHECK(svg.find(">1<") != std::string::npos);
  p.series[0].points = {{256, 42, false, "", std::nullopt}, {512, 42, false, "", std::nullopt}};
  const std::string svg42 = render_line_plot(p);
  CHECK(svg42.find(">42<") != std::string::npos);
  CHECK_FALSE(std::regex_search(svg42, sci));
}
