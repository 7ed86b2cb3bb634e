// Reports: what a reviewer reads first. Error bars equal the stored standard errors; the chance level comes from the
// runs' own choices; perplexity by position is one plot per text with every model and mode overlaid at its longest
// length; the sentences of "What the data shows" quote numbers equal to the store's.
// Tolerances: none. The SVG carries each bar's values in their shortest round-trip form, so they read back as the
// same doubles; display values are the stored value times 100 (or 1), one IEEE multiplication in SQLite and here.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "store/db.h"
#include "store/store.h"
#include "reports/report.h"
#include "reports/views.h"
#include "tests/reports/known_store.h"
#include "tests/reports/xml_check.h"

using namespace supra;
using namespace supra::reports;
using namespace supra::test;
namespace fs = std::filesystem;

namespace {

// (data-x, data-y, data-err) of every error bar of an SVG.
std::set<std::tuple<double, double, double>> error_bars(const std::string& svg) {
  std::vector<XmlElement> els;
  REQUIRE(xml_check(svg, &els) == "");
  std::set<std::tuple<double, double, double>> out;
  for (const XmlElement& e : els)
    if (e.name == "g" && e.attrs.count("class") && e.attrs.at("class") == "errbar")
      out.insert({std::stod(e.attrs.at("data-x")), std::stod(e.attrs.at("data-y")), std::stod(e.attrs.at("data-err"))});
  return out;
}

// data-value of every horizontal reference line.
std::vector<double> hlines(const std::string& svg) {
  std::vector<XmlElement> els;
  REQUIRE(xml_check(svg, &els) == "");
  std::vector<double> out;
  for (const XmlElement& e : els)
    if (e.name == "g" && e.attrs.count("class") && e.attrs.at("class") == "refline" && e.attrs.at("data-axis") == "y")
      out.push_back(std::stod(e.attrs.at("data-value")));
  return out;
}

// A finished run with per-document samples: `choices[d]` loglikelihood requests for document d (1 = not a
// multiple-choice task), and one metric.
void add_run_with_samples(Store& s, const std::string& model, const std::string& mode, const std::string& task,
                          int64_t ctx, const std::vector<int>& choices, const M& metric,
                          const std::string& type = "loglikelihood") {
  RunKey k;
  k.model = model;
  k.model_sha256 = "eeee5555";
  k.mode = mode;
  k.task = task;
  k.task_version = 1;
  k.seed = 1234;
  k.ctx = ctx;
  k.truncation = "left";
  k.dtype = "f32";
  k.device = "cpu";
  const int64_t id = s.open_run(k, int64_t(choices.size()), 512, {{"test", true}}, "abc123def456");
  std::vector<DocResult> docs;
  for (size_t d = 0; d < choices.size(); d++) {
    DocResult doc;
    doc.doc = int64_t(d);
    for (int c = 0; c < choices[d]; c++) doc.samples.push_back({c, type, 10, 10, 0, -1.5, false, "", ""});
    doc.metrics["acc"] = {d % 2 ? 1.0 : 0.0, 1.0};
    docs.push_back(doc);
  }
  s.write_docs(id, docs);
  s.finish_run(id, {{"acc", metric.value, metric.stderr_, metric.n, "mean", true}});
}

fs::path write_store_report(const std::string& name, const std::function<void(Store&)>& fill) {
  const fs::path db = fresh_db(name);
  {
    Store s(db.string());
    fill(s);
  }
  const fs::path out = temp_path(name + "_out");
  ReportOptions o;
  o.db_path = db.string();
  o.out_dir = out.string();
  write_report(o);
  return out;
}

std::vector<Finding> findings_of(const fs::path& db_path) {
  Db db = open_store_read_only(db_path.string());
  create_report_views(db);
  return build_findings(db);
}

std::string f2(double v) { return fmt::format("{:.2f}", v); }

}  // namespace

TEST_CASE("error bars on the metric-vs-context plots equal the stored standard errors", "[reports]") {
  const fs::path& out = known_report();
  Db db = open_store_read_only(known_store().string());
  for (auto [task, metric, scale] : std::vector<std::tuple<std::string, std::string, double>>{
           {"qasper", "f1", 1.0}, {"piqa", "acc_norm", 100.0}}) {
    INFO(task);
    // Every finished run's headline metric of the task, by (model, mode, ctx): the cells of the plot.
    std::set<std::tuple<double, double, double>> stored;
    Stmt q(db, "SELECT r.ctx, m.value, m.stderr FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.task = ? AND "
               "m.metric = ? AND r.status = 'finished' AND r.limit_docs = -1");
    q.bind(1, task).bind(2, metric);
    while (q.step()) stored.insert({double(q.i64(0)), q.f64(1) * scale, q.f64(2) * scale});
    const auto bars = error_bars(read(out / "plots" / ("ctx_" + task + ".svg")));
    CHECK(bars == stored);
    CHECK(bars.size() >= 2);
  }
}

TEST_CASE("the key figure overlays every model and mode per text at its longest length with error bars", "[reports]") {
  const std::string task = "ppl_by_position:data/heldout_x.txt@0a1b2c3d4e5f";  // as the built-in task names it
  const fs::path out = write_store_report("overlay", [&](Store& s) {
    // Softmax falls apart past its training context (5 -> 227: log y); SUPRA stays flat. Both also at 512.
    add_run(s, {kStories, "cccc3333", "softmax", task, 512, 512,
                {{"ppl_pos_256", {6.0, 0.2, 12}}, {"ppl_pos_512", {5.5, 0.25, 12}}}});
    add_run(s, {kStories, "cccc3333", "softmax", task, 4096, 512,
                {{"ppl_pos_256", {6.0, 0.2, 12}}, {"ppl_pos_512", {5.0, 0.25, 12}}, {"ppl_pos_4096", {227.0, 9.5, 12}}}});
    add_run(s, {kStoriesSupra, "dddd4444", "supra", task, 4096, 512,
                {{"ppl_pos_256", {6.5, 0.2, 12}}, {"ppl_pos_512", {6.0, 0.25, 12}}, {"ppl_pos_4096", {5.25, 0.125, 12}}}});
    // A third series that reached only 512: labelled with its length.
    add_run(s, {"other/model-x.bin", "ffff6666", "softmax", task, 512, 512,
                {{"ppl_pos_256", {7.0, 0.5, 12}}, {"ppl_pos_512", {6.75, 0.5, 12}}}});
  });
  const std::string svg = read(out / "plots" / "ppl_position_ppl_by_position_data_heldout_x_txt_0a1b2c3d4e5f.svg");
  CHECK(svg_series(svg) ==
        std::set<std::string>{"stories260K · softmax @ 4k", "stories260K-supra · supra @ 4k", "model-x · softmax @ 512"});
  // The 4096 runs' values and stderrs, not the softmax 512 run's (6.0/5.5 at 512 -> 5.0 at 4096).
  CHECK(error_bars(svg) == std::set<std::tuple<double, double, double>>{
                               {256, 6.0, 0.2}, {512, 5.0, 0.25}, {4096, 227.0, 9.5},
                               {256, 6.5, 0.2}, {512, 6.0, 0.25}, {4096, 5.25, 0.125},
                               {256, 7.0, 0.5}, {512, 6.75, 0.5}});
  CHECK(svg.find("(log scale)") != std::string::npos);  // 5 .. 227 spans more than 10x
  CHECK(svg.find(">Perplexity by position: heldout_x.txt at each one") != std::string::npos);
  // The per-length plots stay, with short titles; the caption names the full task id.
  CHECK(fs::exists(out / "plots" / "ppl_position_ppl_by_position_data_heldout_x_txt_0a1b2c3d4e5f_ctx512.svg"));
  const std::string html = read(out / "report.html");
  const size_t findings = html.find("<section id=\"findings\">");
  const size_t key = html.find("id=\"plot-ppl_position_ppl_by_position_data_heldout_x_txt_0a1b2c3d4e5f\"");
  REQUIRE(findings != std::string::npos);
  REQUIRE(key != std::string::npos);
  CHECK(key > findings);
  CHECK(key < html.find("<section id=\"nlu\">"));  // the key figure opens the report, before the tables
  CHECK(html.find("Perplexity by token position of ppl_by_position:data/heldout_x.txt@0a1b2c3d4e5f") !=
        std::string::npos);
  // A single text at one length on a linear axis: 5.5 .. 7 spans less than 10x.
  const std::string one =
      read(out / "plots" / "ppl_position_ppl_by_position_data_heldout_x_txt_0a1b2c3d4e5f_ctx512.svg");
  CHECK(one.find("(log scale)") == std::string::npos);
  CHECK(one.find(">heldout_x.txt @ 512<") != std::string::npos);
}

TEST_CASE("accuracy plots draw the chance level computed from the runs' choices", "[reports]") {
  const fs::path out = write_store_report("chance", [](Store& s) {
    for (int64_t ctx : {256, 512}) {
      add_run_with_samples(s, kStories, "softmax", "arc_easy", ctx, {4, 5, 4, 5}, {0.3, 0.2, 4});
      add_run_with_samples(s, kStories, "softmax", "copa", ctx, {2, 2, 2}, {0.6, 0.25, 3});
      add_run_with_samples(s, kStories, "softmax", "lambada_openai", ctx, {1, 1, 1}, {0.1, 0.1, 3});
    }
  });
  // arc_easy: 100 x mean(1/4, 1/5, 1/4, 1/5); copa: 50; lambada (one request per document): no chance line.
  const double arc = 100.0 * ((1.0 / 4 + 1.0 / 5 + 1.0 / 4 + 1.0 / 5) / 4);
  CHECK(hlines(read(out / "plots" / "ctx_arc_easy.svg")) == std::vector<double>{arc});
  CHECK(hlines(read(out / "plots" / "ctx_copa.svg")) == std::vector<double>{50.0});
  CHECK(hlines(read(out / "plots" / "ctx_lambada_openai.svg")).empty());
  // The bars: acc x 100, stderr x 100.
  CHECK(error_bars(read(out / "plots" / "ctx_copa.svg")) ==
        std::set<std::tuple<double, double, double>>{{256, 0.6 * 100, 0.25 * 100}, {512, 0.6 * 100, 0.25 * 100}});
}

TEST_CASE("the sentences of what the data shows quote numbers equal to the store's", "[reports]") {
  const std::vector<Finding> fs_ = findings_of(known_store());
  REQUIRE(fs_.size() >= 3);
  REQUIRE(fs_.size() <= 6);
  Db db = open_store_read_only(known_store().string());
  for (const Finding& f : fs_) {
    INFO(f.text);
    CHECK(!f.quoted.empty());
    for (auto& [what, v] : f.quoted) {  // every quoted value is printed in its sentence
      INFO(what);
      const bool integral = v == std::floor(v) && v >= 64;
      CHECK(f.text.find(integral ? fmt::format("{}", int64_t(v)) : f2(v)) != std::string::npos);
    }
  }
  auto with = [&](const std::string& start) -> const Finding& {
    for (const Finding& f : fs_)
      if (f.text.rfind(start, 0) == 0) return f;
    std::string all;
    for (const Finding& f : fs_) all += "\n  " + f.text;
    FAIL("no finding starts with " << start << "; the findings:" << all);
    return fs_.front();
  };
  // Perplexity by position: each model's lowest bucket, from the metrics table.
  {
    const Finding& f = with("Perplexity by position on ppl_by_position:");
    for (auto [model, label] : std::vector<std::pair<std::string, std::string>>{
             {kStories, "stories260K · softmax (at 512)"}, {kStoriesSupra, "stories260K-supra · supra (at 512)"}}) {
      Stmt q(db, "SELECT min(m.value) FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.model = ? AND "
                 "r.task = 'ppl_by_position' AND m.metric GLOB 'ppl_pos_*'");
      q.bind(1, model);
      REQUIRE(q.step());
      bool found = false;
      for (auto& [what, v] : f.quoted)
        if (what == label + " lowest perplexity") {
          found = true;
          CHECK(v == q.f64(0));
        }
      CHECK(found);
    }
    CHECK(f.text.find("still improves at its last positions (7.75, positions 128-255)") != std::string::npos);
  }
  // Decode speed and state: the bench rows at the longest length where both modes decoded (512: softmax skipped
  // decode at 2048). The known store benchmarks one model in both modes.
  {
    const Finding& f = with("At 512 tokens (cpu f32, 2 threads, batch 1), stories260K (SUPRA) decodes 500.00 tokens/s");
    Stmt q(db, "SELECT mode, decode_tok_s, state_mib FROM bench_results WHERE ctx = 512 ORDER BY mode");
    std::map<std::string, std::pair<double, double>> b;
    while (q.step()) b[q.text(0)] = {q.f64(1), q.f64(2)};
    REQUIRE(f.quoted.size() == 4);
    CHECK(f.quoted[0].second == b["supra"].first);
    CHECK(f.quoted[1].second == b["softmax"].first);
    CHECK(f.quoted[2].second == b["supra"].second);
    CHECK(f.quoted[3].second == b["softmax"].second);
  }
  // Softmax vs SUPRA: piqa at 256 (55.00 vs 52.33, 1.7 standard errors) is within 2 standard errors and not listed;
  // perplexity at positions 64-127 (8.25 vs 9.75 +- 0.1 each) is beyond them.
  {
    const Finding& f = with("1 of the 2 softmax-vs-SUPRA comparisons");
    CHECK(f.text.find("ppl_by_position ppl_pos_128 at 512: SUPRA 9.75 vs softmax 8.25 (+1.50 ± 0.14, 10.6 standard "
                      "errors") != std::string::npos);
    CHECK(f.text.find("piqa") == std::string::npos);
  }
}

TEST_CASE("softmax-vs-SUPRA differences beyond two standard errors are named with their size, or none is", "[reports]") {
  auto store = [](const std::string& name, bool with_piqa) {
    const fs::path db = fresh_db(name);
    Store s(db.string());
    if (with_piqa) {
      add_run(s, {kStories, "cccc3333", "softmax", "piqa", 512, 512, {{"acc_norm", {0.60, 0.01, 1838}}}});
      add_run(s, {kStoriesSupra, "dddd4444", "supra", "piqa", 512, 512, {{"acc_norm", {0.65, 0.01, 1838}}}});
    }
    add_run(s, {kStories, "cccc3333", "softmax", "copa", 512, 512, {{"acc", {0.60, 0.05, 100}}}});
    add_run(s, {kStoriesSupra, "dddd4444", "supra", "copa", 512, 512, {{"acc", {0.58, 0.05, 100}}}});
    return db;
  };
  const std::vector<Finding> f = findings_of(store("significant", true));
  REQUIRE(f.size() == 1);  // no probes, no bench rows: only the comparison
  CHECK(f[0].text.rfind("1 of the 2 softmax-vs-SUPRA comparisons", 0) == 0);
  CHECK(f[0].text.find("piqa acc_norm at 512: SUPRA 65.00 vs softmax 60.00 (+5.00 ± 1.41, 3.5 standard errors, in "
                       "SUPRA's favour)") != std::string::npos);
  CHECK(f[0].text.find("copa") == std::string::npos);  // within 2 standard errors: not listed
  const std::vector<Finding> none = findings_of(store("none_significant", false));
  REQUIRE(none.size() == 1);
  CHECK(none[0].text == "None of the 1 softmax-vs-SUPRA comparisons (headline metric, same task and context length) "
                        "differs by more than 2 standard errors; the largest is copa acc at 512: SUPRA 58.00 vs softmax "
                        "60.00 (-2.00 ± 7.07, 0.3 standard errors, in softmax's favour).");
}
