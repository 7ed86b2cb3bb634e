// `run` and `sweep` without --ctx evaluate at the model's own training context (lm-eval's default max length), say
// so, and store it in the run key like any --ctx: the same run as one given that --ctx explicitly.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra::test;
namespace fs = std::filesystem;

namespace {

fs::path tmp(const std::string& name) { return fresh_temp("default_ctx", name); }

const std::string kModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";
const std::string kSupraModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K-supra";
constexpr int64_t kTrainCtx = 512;  // both bundled models were trained at 512 (models/*/PROVENANCE.md)

}  // namespace

TEST_CASE("run without --ctx uses the model's training context and keys the run by it", "[default_ctx]") {
  const fs::path db = tmp("run.sqlite");
  std::string out;
  std::vector<std::string> args = {"run", "--model", kModel, "--tasks", "copa", "--limit", "3",
                                   "--threads", "1", "--db", db.string()};
  REQUIRE(run_cli(args, out, tmp("run.log").string()) == 0);
  INFO(out);
  CHECK_THAT(out, Catch::Contains("--ctx not given: using the model's training context " + std::to_string(kTrainCtx)));
  CHECK(query_int(db, "SELECT count(*) FROM runs") == 1);
  CHECK(query_int(db, "SELECT ctx FROM runs") == kTrainCtx);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE ctx = train_ctx AND beyond_train = 0") == 1);
  CHECK(query_int(db, "SELECT json_extract(key_json, '$.ctx') FROM runs") == kTrainCtx);
  CHECK_THAT(out, Catch::Contains("| copa | " + std::to_string(kTrainCtx) + " | acc |"));

  // The same run key as --ctx 512 given by hand: nothing is recomputed.
  args.insert(args.begin() + 5, {"--ctx", std::to_string(kTrainCtx)});
  REQUIRE(run_cli(args, out, tmp("explicit.log").string()) == 0);
  CHECK_THAT(out, Catch::Contains("(0 new"));
  CHECK(out.find("--ctx not given") == std::string::npos);
  CHECK(query_int(db, "SELECT count(*) FROM runs") == 1);
}

TEST_CASE("sweep without --ctx runs each model at its own training context", "[default_ctx]") {
  const fs::path db = tmp("sweep.sqlite");
  std::string out;
  REQUIRE(run_cli({"sweep", "--models", kModel + "," + kSupraModel, "--tasks", "copa", "--limit", "3", "--threads",
                   "1", "--db", db.string()},
                  out, tmp("sweep.log").string()) == 0);
  INFO(out);
  const std::string said = "--ctx not given: using the model's training context " + std::to_string(kTrainCtx);
  CHECK_THAT(out, Catch::Contains(said + " (" + kModel + ")"));
  CHECK_THAT(out, Catch::Contains(said + " (" + kSupraModel));
  CHECK(query_int(db, "SELECT count(*) FROM runs") == 2);
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE ctx = train_ctx AND ctx = " + std::to_string(kTrainCtx)) ==
        2);
  CHECK(query_int(db, "SELECT count(DISTINCT mode) FROM runs") == 2);
}
