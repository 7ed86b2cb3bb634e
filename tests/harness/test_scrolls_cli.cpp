// The SCROLLS side of the command line: `supra-eval metric` on a JSONL of predictions (values computed by hand),
// its errors, and a long-document task run end to end whose store records doc_end truncation.
// Tolerances: the stored score is a cube root of a product of three doubles (~1e-16 relative rounding): Approx's
// default (~1.2e-5 relative) absorbs only that.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra::test;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const std::string& name) { return fresh_temp("scrolls_cli", name); }

fs::path write(const std::string& name, const std::string& text) {
  const fs::path p = tmp(name);
  std::ofstream(p, std::ios::binary) << text;
  return p;
}


const std::string kModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";

}  // namespace

TEST_CASE("metric f1 / em: per-row values x 100 and their mean", "[metric]") {
  const fs::path in = write("qa.jsonl",
                            R"({"prediction": "cat sat down", "references": ["the cat sat", "a dog"]})"
                            "\n"
                            R"({"id": 7, "prediction": " A dog!", "references": ["the cat sat", "a dog"]})"
                            "\n");
  std::string out;
  // "cat sat down" vs [cat sat]: P 2/3, R 1, F1 0.8. " A dog!" normalises to "dog", as does "a dog".
  REQUIRE(run_cli({"metric", "--name", "f1", "--input", in.string()}, out, tmp("f1.log").string()) == 0);
  CHECK(out == "line\tf1\n1\t80.0000\n2\t100.0000\nmean\t90.0000\n");
  REQUIRE(run_cli({"metric", "--name", "em", "--input", in.string()}, out, tmp("em.log").string()) == 0);
  CHECK(out == "line\tem\n1\t0.0000\n2\t100.0000\nmean\t50.0000\n");
}

TEST_CASE("metric rouge: ROUGE-1/2/L per row, their means and the geometric mean", "[metric]") {
  const fs::path in = write("rouge.jsonl",
                            R"({"prediction": "the cat sat", "references": ["the cat sat on the mat"]})"
                            "\n"
                            R"({"prediction": "a dog", "references": ["a dog barks", "cat"]})"
                            "\n");
  std::string out;
  REQUIRE(run_cli({"metric", "--name", "rouge", "--input", in.string()}, out, tmp("rouge.log").string()) == 0);
  // Row 1: R1 P 1 R 1/2 -> 2/3; R2 P 1 R 2/5 -> 4/7; RL LCS 3 -> 2/3. Row 2 (vs "a dog barks"): R1 4/5, R2 2/3,
  // RL 4/5. Means 73.3333, 61.9048, 73.3333; geometric mean (73.3333^2 * 61.9048)^(1/3) = 69.3068.
  CHECK(out ==
        "line\trouge1\trouge2\trougeL\n"
        "1\t66.6667\t57.1429\t66.6667\n"
        "2\t80.0000\t66.6667\t80.0000\n"
        "mean\t73.3333\t61.9048\t73.3333\n"
        "geometric_mean\t69.3068\n");
}

TEST_CASE("metric errors name the file, the line and the field", "[metric]") {
  std::string out;
  const fs::path missing = write("missing.jsonl", R"({"prediction": "a", "references": ["a"]})"
                                                  "\n"
                                                  R"({"prediction": "b"})"
                                                  "\n");
  CHECK(run_cli({"metric", "--name", "f1", "--input", missing.string()}, out, tmp("e1.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains(missing.string() + ":2") && Catch::Contains("references"));
  const fs::path empty_refs = write("empty.jsonl", R"({"prediction": "a", "references": []})"
                                                   "\n");
  CHECK(run_cli({"metric", "--name", "em", "--input", empty_refs.string()}, out, tmp("e2.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains(empty_refs.string() + ":1") && Catch::Contains("at least one reference"));
  const fs::path wrong_type = write("type.jsonl", R"({"prediction": 3, "references": ["a"]})"
                                                  "\n");
  CHECK(run_cli({"metric", "--name", "rouge", "--input", wrong_type.string()}, out, tmp("e3.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains(wrong_type.string() + ":1") && Catch::Contains("prediction"));
  CHECK(run_cli({"metric", "--name", "bleu", "--input", wrong_type.string()}, out, tmp("e4.log").string()) != 0);
}

TEST_CASE("a long-document task runs end to end with doc_end truncation recorded", "[scrolls][run]") {
  const fs::path db = tmp("wikiqa.sqlite");
  std::string out;
  REQUIRE(run_cli({"run", "--model", kModel, "--tasks", "wikiqa", "--ctx", "256", "--limit", "3", "--threads", "1",
                   "--db", db.string()},
                  out, tmp("wikiqa.log").string()) == 0);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE task = 'wikiqa' AND truncation = 'doc_end'") == 1);
  CHECK(query_int(db, "SELECT count(*) FROM samples") == 3);
  // ~2k-word pages never fit 256 tokens: each document is cut at its end to leave room for 32 generated tokens.
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE n_dropped > 0 AND n_kept <= 256 - 32 AND "
                      "n_kept + n_dropped = n_input AND truncation = 'doc_end'") == 3);
  CHECK(query_int(db, "SELECT count(DISTINCT metric) FROM metrics WHERE metric IN ('f1', 'em')") == 2);
}

TEST_CASE("a summarisation run stores the ROUGE means and the SCROLLS score derived from them", "[scrolls][run]") {
  const fs::path data = tmp("summ.jsonl"), db = tmp("summ.sqlite");
  {
    std::ofstream f(data);
    for (int i = 0; i < 2; i++)
      f << nlohmann::json{{"id", "s" + std::to_string(i)},
                          {"pid", "p" + std::to_string(i)},
                          {"input", "Once upon a time there was a little girl named Lily. She liked to play."},
                          {"output", "Lily liked to play."}}
               .dump()
        << "\n";
  }
  std::string out;
  REQUIRE(run_cli({"run", "--model", kModel, "--tasks", "summ_screen_fd:" + data.string(), "--ctx", "640",
                   "--threads", "1", "--db", db.string()},
                  out, tmp("summ.log").string()) == 0);
  INFO(out);
  CHECK(query_int(db, "SELECT count(*) FROM metrics WHERE metric IN ('rouge1', 'rouge2', 'rougeL')") == 3);
  auto value = [&db](const char* m) {
    return query_double(db, std::string("SELECT value FROM metrics WHERE metric = '") + m + "'");
  };
  CHECK(value("score") == Approx(std::cbrt(value("rouge1") * value("rouge2") * value("rougeL"))));
  CHECK(query_int(db, "SELECT count(*) FROM metrics WHERE metric = 'score' AND aggregation = 'derived' AND "
                      "stderr IS NULL") == 1);
}
