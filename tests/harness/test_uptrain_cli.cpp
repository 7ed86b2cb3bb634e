// The uptraining commands end to end through the binary: convert -> loadable SUPRA folder; sample -> the same
// corpus for any --batch; uptrain -> a model the engine loads, the loss curve in the store, and a resume that
// continues the same curve; errors name what is wrong and exit non-zero.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/checkpoint.h"
#include "store/db.h"
#include "tests/harness/cli_util.h"

using namespace supra;
namespace fs = std::filesystem;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("supra_uptrain_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int64_t query_int(const fs::path& db, const char* sql) {
  Db h = Db::open_read_only(db.string());
  Stmt st(h, sql);
  REQUIRE(st.step());
  return st.i64(0);
}

const std::string kModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";

}  // namespace

TEST_CASE("convert, sample and uptrain through the command line", "[uptrain][cli]") {
  const fs::path dir = temp_dir("e2e");
  std::string out;
  const std::string log = (dir / "log.txt").string();

  // convert: an open_lm SUPRA folder with the tokenizer beside it.
  REQUIRE(supra::test::run_cli({"convert", "--from", kModel, "--to", (dir / "conv").string(), "--seed", "3"}, out, log) == 0);
  const Checkpoint conv = load_checkpoint((dir / "conv").string());
  CHECK(conv.config.attention == AttentionMode::Supra);
  CHECK(conv.config.separate_kv_feature_map);
  CHECK(fs::exists(dir / "conv" / "tok512.model"));
  CHECK(supra::test::run_cli({"convert", "--from", (dir / "conv").string(), "--to", (dir / "again").string()}, out, log) == 1);
  CHECK_THAT(out, Catch::Contains("already a SUPRA checkpoint"));

  // sample: one story per line; the file does not depend on the batch.
  for (const char* b : {"1", "5"})
    REQUIRE(supra::test::run_cli({"sample", "--model", kModel, "--tokens", "600", "--temperature", "1", "--seed", "9",
                                  "--out", (dir / (std::string("s") + b + ".txt")).string(), "--batch", b, "--threads", "1"},
                                 out, log) == 0);
  const std::string s1 = slurp(dir / "s1.txt");
  CHECK(s1 == slurp(dir / "s5.txt"));
  CHECK(std::count(s1.begin(), s1.end(), '\n') >= 2);
  REQUIRE(supra::test::run_cli({"sample", "--model", kModel, "--tokens", "300", "--temperature", "1", "--seed", "10",
                                "--out", (dir / "val.txt").string(), "--threads", "1"},
                               out, log) == 0);
  CHECK(slurp(dir / "val.txt") != s1.substr(0, slurp(dir / "val.txt").size()));

  // uptrain 4 steps, saving at 2; then resume from a copy of the step-2 state and finish: same final model.
  const std::string db = (dir / "r.sqlite").string();
  auto uptrain = [&](const std::string& outdir, const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"uptrain", "--from", (dir / "conv").string(), "--data", (dir / "s1.txt").string(),
                                  "--val", (dir / "val.txt").string(), "--out", outdir, "--seq", "32", "--batch", "2",
                                  "--steps", "4", "--lr-max", "1e-3", "--lr-min", "1e-4", "--warmup", "1", "--seed",
                                  "1", "--chunk", "8", "--eval-every", "2", "--save-every", "2", "--threads", "1",
                                  "--db", db};
    a.insert(a.end(), extra.begin(), extra.end());
    return supra::test::run_cli(a, out, log);
  };
  REQUIRE(uptrain((dir / "a").string(), {}) == 0);
  CHECK_THAT(out, Catch::Contains("val_ppl"));
  CHECK(load_checkpoint((dir / "a").string()).config.attention == AttentionMode::Supra);
  CHECK(query_int(db, "SELECT count(*) FROM train_log") == 4);
  CHECK(query_int(db, "SELECT count(*) FROM train_log WHERE val_ppl IS NOT NULL") == 2);
  CHECK(query_int(db, "SELECT count(*) FROM train_runs WHERE status = 'finished'") == 1);
  // A second run into the same folder without --resume is refused.
  CHECK(uptrain((dir / "a").string(), {}) == 1);
  CHECK_THAT(out, Catch::Contains("pass --resume"));
  // Stop after step 2 (as a killed run would after its step-2 save), then resume: the same model as run "a".
  REQUIRE(uptrain((dir / "b").string(), {"--stop-after", "2"}) == 0);
  CHECK(query_int(db, "SELECT count(*) FROM train_runs WHERE status = 'running'") == 1);
  REQUIRE(uptrain((dir / "b").string(), {"--resume"}) == 0);
  CHECK_THAT(out, Catch::Contains("resumed at step 2"));
  CHECK(query_int(db, "SELECT count(*) FROM train_runs") == 2);
  CHECK(query_int(db, "SELECT count(*) FROM train_log") == 8);
  CHECK(query_int(db, "SELECT count(*) FROM train_runs WHERE status = 'finished'") == 2);
  // Loss curves of the interrupted and the uninterrupted run are identical.
  CHECK(query_int(db, "SELECT count(*) FROM train_log a JOIN train_log b ON a.step = b.step AND a.run_id = 1 AND "
                      "b.run_id = 2 WHERE a.loss = b.loss AND a.val_ppl IS b.val_ppl") == 4);
  CHECK(slurp(dir / "a" / "model.safetensors") == slurp(dir / "b" / "model.safetensors"));
  fs::remove_all(dir);
}
