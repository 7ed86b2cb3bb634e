// Long-context probes through the CLI on the bundled model: a passkey sweep over 3 context lengths lands as one run
// per length with every depth cell; perplexity by position cuts its text into context-length documents.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra::test;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const std::string& name) { return fresh_temp("probe", name); }

const std::string kModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";

}  // namespace

TEST_CASE("a passkey sweep over 3 lengths x 5 depths lands as one run per length", "[probes][passkey]") {
  const fs::path db = tmp("passkey.sqlite");
  std::string out;
  REQUIRE(run_cli({"sweep", "--models", kModel, "--tasks", "passkey", "--ctx", "256,512,1024", "--limit", "5",
                   "--threads", "1", "--db", db.string()},
                  out, tmp("passkey.log").string()) == 0);
  INFO(out);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE task = 'passkey' AND status = 'finished'") == 3);
  CHECK(query_int(db, "SELECT count(DISTINCT ctx) FROM runs WHERE task = 'passkey'") == 3);
  for (int depth : {0, 25, 50, 75, 100})
    CHECK(query_int(db, "SELECT count(*) FROM metrics WHERE metric = 'acc_d" + std::to_string(depth) + "'") == 3);
  // Each prompt is sized to its context: the generation prompt fills L - 12 to within a sentence and is never cut.
  CHECK(query_int(db, "SELECT count(*) FROM samples s JOIN runs r ON r.id = s.run_id WHERE s.type = "
                      "'generate_until' AND (s.n_dropped != 0 OR s.n_input > r.ctx - 12 OR s.n_input < r.ctx - 24)") ==
        0);
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE type = 'generate_until'") == 15);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE ctx = 512 AND beyond_train = 0") == 1);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE ctx = 1024 AND beyond_train = 1") == 1);  // trained at 512
}

TEST_CASE("perplexity by position reports one perplexity per doubling position bucket", "[probes][ppl]") {
  const fs::path db = tmp("ppl.sqlite");
  const std::string text = std::string(SUPRA_SOURCE_DIR) + "/datasets/text/lambada_passages_150.txt";
  std::string out;
  REQUIRE(run_cli({"run", "--model", kModel, "--tasks", "ppl_by_position:" + text, "--ctx", "128", "--limit", "10",
                   "--threads", "1", "--db", db.string()},
                  out, tmp("ppl.log").string()) == 0);
  INFO(out);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE task GLOB 'ppl_by_position:lambada_passages_150.txt@*'") == 1);
  for (const char* m : {"ppl_pos_16", "ppl_pos_32", "ppl_pos_64", "ppl_pos_128", "token_perplexity"})
    CHECK(query_int(db, std::string("SELECT n FROM metrics WHERE metric = '") + m + "'") == 10);
  // Every document is at most one context long and near it (cut at word boundaries).
  CHECK(query_int(db, "SELECT max(n_input) FROM samples") <= 128);
  CHECK(query_int(db, "SELECT min(n_input) FROM samples") >= 110);
  // The buckets' token counts add up to every scored token.
  CHECK(query_int(db, "SELECT CAST(sum(weight) AS INTEGER) FROM doc_metrics WHERE metric GLOB 'ppl_pos_*'") ==
        query_int(db, "SELECT sum(n_input) FROM samples"));
}

TEST_CASE("the truncation policy is recorded with every run, and refused where there is no document", "[truncation]") {
  const fs::path db = tmp("trunc.sqlite");
  std::string out;
  REQUIRE(run_cli({"run", "--model", kModel, "--tasks", "copa", "--ctx", "128", "--limit", "2", "--threads", "1",
                   "--db", db.string()},
                  out, tmp("trunc.log").string()) == 0);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE truncation = 'left' AND key_json LIKE '%\"truncation\":\"left\"%'") ==
        1);
  // Short-input tasks carry no document part: only `left` applies, and asking for another is an error.
  CHECK(run_cli({"run", "--model", kModel, "--tasks", "copa", "--ctx", "128", "--limit", "2", "--truncation",
                 "doc_end", "--db", db.string()},
                out, tmp("trunc2.log").string()) == 1);
  CHECK(out.find("task copa has no document to cut") != std::string::npos);
  CHECK(run_cli({"run", "--model", kModel, "--tasks", "copa", "--ctx", "128", "--truncation", "right", "--db",
                 db.string()},
                out, tmp("trunc3.log").string()) == 1);
  CHECK(out.find("left") != std::string::npos);  // the error lists the valid names
  CHECK(query_int(db, "SELECT count(*) FROM runs") == 1);
}
