// supra-eval export --format lm-eval: every run of a store (or a selection) as lm-eval's results_*.json and
// samples_<task>_*.jsonl; the files parse, every metric equals the store's, the cells of another mode stay apart,
// and a reader written to lm-eval's schema (tests/harness/lm_eval_table.py, its make_table logic) renders them.
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "store/db.h"
#include "tests/harness/cli_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using supra::test::fresh_temp;
using supra::test::run_cli;
using Catch::Contains;

namespace {

const std::string kSoftmax = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";
const std::string kSupra = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K-supra";

std::vector<fs::path> files_named(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().rfind(prefix, 0) == 0) out.push_back(e.path());
  return out;
}

json read_json(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

}  // namespace

TEST_CASE("export --format lm-eval writes lm-eval's files with the store's numbers", "[export]") {
  const auto db = fresh_temp("export", "store.sqlite");
  const auto text = fresh_temp("export", "story.txt");
  std::ofstream(text) << "Once upon a time, there was a little girl named Lily. She loved to play outside.\n";
  std::string out;
  const std::string log = fresh_temp("export", "run.log").string();
  for (const std::string& model : {kSoftmax, kSupra})
    REQUIRE(run_cli({"run", "--model", model, "--tasks", "piqa,lambada_openai,perplexity:" + text.string(), "--limit",
                     "6", "--db", db.string(), "--threads", "1"},
                    out, log) == 0);

  const fs::path dir = fresh_temp("export", "out");
  fs::remove_all(dir);
  REQUIRE(run_cli({"export", "--db", db.string(), "--out", dir.string(), "--format", "lm-eval"}, out, log) == 0);
  INFO(out);

  // One results file per cell (model, mode, ctx, truncation): the two modes stay apart.
  const auto results = files_named(dir, "results_");
  REQUIRE(results.size() == 2);
  std::map<std::string, json> by_mode;
  for (const auto& p : results) {
    const json r = read_json(p);
    const std::string args = r.at("config").at("model_args");
    const std::string mode = args.find("mode=supra") != std::string::npos ? "supra" : "softmax";
    CHECK_THAT(args, Contains("max_length=512"));
    CHECK_THAT(args, Contains("truncation=left"));
    CHECK_THAT(r.at("model_name").get<std::string>(), Contains(mode + "-ctx512-left"));
    CHECK(p.parent_path().filename() == r.at("model_name_sanitized").get<std::string>());
    by_mode[mode] = r;
  }
  REQUIRE(by_mode.size() == 2);

  supra::Db h = supra::Db::open_read_only(db.string());
  supra::Stmt runs(h, "SELECT id, mode, task, n_docs FROM runs ORDER BY id");
  int n_runs = 0;
  while (runs.step()) {
    n_runs++;
    const int64_t id = runs.i64(0);
    const std::string mode = runs.text(1), task = runs.text(2);
    INFO("run " << id << " " << mode << " " << task);
    const json& r = by_mode.at(mode);
    const json& res = r.at("results").at(task);
    CHECK(res.at("alias") == task);
    CHECK(r.at("n-samples").at(task).at("effective") == runs.i64(3));
    CHECK(r.at("configs").at(task).contains("output_type"));
    CHECK(r.at("configs").at(task).at("output_type") ==
          (task == "piqa" ? "multiple_choice" : task == "lambada_openai" ? "loglikelihood" : "loglikelihood_rolling"));
    // Every metric and stderr equals the store's (JSON keeps doubles exactly).
    supra::Stmt m(h, "SELECT metric, value, stderr, higher_is_better FROM metrics WHERE run_id = ?");
    m.bind(1, id);
    int n_metrics = 0;
    while (m.step()) {
      n_metrics++;
      const std::string name = m.text(0);
      INFO(name);
      CHECK(res.at(name + ",none").get<double>() == m.f64(1));
      const auto se = m.opt_f64(2);
      if (se && std::isfinite(*se))
        CHECK(res.at(name + "_stderr,none").get<double>() == *se);
      else
        CHECK(res.at(name + "_stderr,none") == "N/A");
      CHECK(r.at("higher_is_better").at(task).at(name).get<bool>() == (m.i64(3) != 0));
    }
    CHECK(n_metrics > 0);
    // One samples line per document, its metrics the store's per-document values.
    const auto date = results.front().filename().string();
    std::string safe;
    for (char c : task) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.') ? c : '_';
    const auto samples = files_named(dir, "samples_" + safe + "_");
    std::ifstream in;
    for (const auto& p : samples)
      if (p.parent_path().filename() == r.at("model_name_sanitized").get<std::string>()) in.open(p);
    REQUIRE(in.is_open());
    std::string line;
    int64_t n_lines = 0;
    while (std::getline(in, line)) {
      const json s = json::parse(line);
      for (const char* key : {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
                              "doc_hash", "prompt_hash", "target_hash"})
        CHECK(s.contains(key));
      const int64_t doc = s.at("doc_id");
      supra::Stmt dm(h, "SELECT metric, value, weight FROM doc_metrics WHERE run_id = ? AND doc = ?");
      dm.bind(1, id).bind(2, doc);
      while (dm.step()) {
        const json& v = s.at(dm.text(0));
        CHECK((v.is_array() ? v[0].get<double>() : v.get<double>()) == dm.f64(1));
      }
      supra::Stmt sm(h, "SELECT COUNT(*) FROM samples WHERE run_id = ? AND doc = ?");
      sm.bind(1, id).bind(2, doc);
      REQUIRE(sm.step());
      CHECK(int64_t(s.at("resps").size()) == sm.i64(0));
      // The request texts are rebuilt from the bundled tasks; a perplexity run's store name holds no path to its
      // file, so its texts stay empty (and export says so).
      if (task.rfind("perplexity:", 0) != 0) CHECK(s.at("arguments").at("gen_args_0").contains("arg_0"));
      n_lines++;
    }
    CHECK(n_lines == runs.i64(3));
  }
  CHECK(n_runs == 6);
  CHECK_THAT(out, Contains("request texts left empty"));

  // A reader written to lm-eval's schema renders every file: one table row per task and metric.
  if (std::system("python3 -c 'import json' > /dev/null 2>&1") != 0) {
    WARN("SKIPPED: no python3 to run the lm-eval reader");
    return;
  }
  const std::string table_log = fresh_temp("export", "table.log").string();
  const std::string cmd = "python3 " + std::string(SUPRA_SOURCE_DIR) + "/tests/harness/lm_eval_table.py " +
                          dir.string() + " > " + table_log + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream tin(table_log);
  const std::string table((std::istreambuf_iterator<char>(tin)), std::istreambuf_iterator<char>());
  INFO(table);
  REQUIRE(rc == 0);
  const double acc = by_mode.at("softmax").at("results").at("piqa").at("acc,none");
  char cell[64];
  std::snprintf(cell, sizeof cell, "|piqa|1.0|none|0|acc|↑|%.4f|±|", acc);
  CHECK_THAT(table, Contains(cell));
  CHECK_THAT(table, Contains("|lambada_openai|"));
  CHECK_THAT(table, Contains("word_perplexity|↓|"));
}

TEST_CASE("export --runs exports the runs named, and refuses one the store does not hold", "[export]") {
  const auto db = fresh_temp("export", "sel.sqlite");
  std::string out;
  const std::string log = fresh_temp("export", "sel.log").string();
  REQUIRE(run_cli({"run", "--model", kSoftmax, "--tasks", "piqa,copa", "--limit", "3", "--db", db.string(),
                   "--threads", "1"},
                  out, log) == 0);
  const fs::path dir = fresh_temp("export", "sel_out");
  fs::remove_all(dir);
  REQUIRE(run_cli({"export", "--db", db.string(), "--out", dir.string(), "--runs", "2"}, out, log) == 0);
  const auto results = files_named(dir, "results_");
  REQUIRE(results.size() == 1);
  const json r = read_json(results.front());
  CHECK(r.at("results").size() == 1);
  CHECK(r.at("results").contains("copa"));
  CHECK(files_named(dir, "samples_").size() == 1);

  CHECK(run_cli({"export", "--db", db.string(), "--out", dir.string(), "--runs", "9"}, out, log) != 0);
  CHECK_THAT(out, Contains("has no run 9"));
}
