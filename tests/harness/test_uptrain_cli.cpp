// The uptraining commands end to end through the binary: convert -> loadable SUPRA folder; sample -> the same
// corpus for any --batch, multi-line stories kept in every format; uptrain -> a model the engine loads, the loss curve in the store, and a resume that
// continues the same curve; errors name what is wrong and exit non-zero.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/tokenizer.h"
#include "train/data.h"
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

  // sample: one JSONL record per story; the file does not depend on the batch.
  for (const char* b : {"1", "5"})
    REQUIRE(supra::test::run_cli({"sample", "--model", kModel, "--tokens", "1500", "--temperature", "1", "--seed", "9",
                                  "--out", (dir / (std::string("s") + b + ".jsonl")).string(), "--batch", b, "--threads", "1"},
                                 out, log) == 0);
  const std::string s1 = slurp(dir / "s1.jsonl");
  CHECK(s1 == slurp(dir / "s5.jsonl"));
  REQUIRE(supra::test::run_cli({"sample", "--model", kModel, "--tokens", "300", "--temperature", "1", "--seed", "10",
                                "--out", (dir / "val.jsonl").string(), "--threads", "1"},
                               out, log) == 0);
  CHECK(slurp(dir / "val.jsonl") != s1.substr(0, slurp(dir / "val.jsonl").size()));
  // uptrain 4 steps, saving at 2; then resume from a copy of the step-2 state and finish: same final model.
  const std::string db = (dir / "r.sqlite").string();
  auto uptrain = [&](const std::string& outdir, const std::vector<std::string>& extra) {
    std::vector<std::string> a = {"uptrain", "--from", (dir / "conv").string(), "--data", (dir / "s1.jsonl").string(),
                                  "--val", (dir / "val.jsonl").string(), "--out", outdir, "--seq", "32", "--batch", "2",
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

TEST_CASE("sample keeps multi-line stories: JSONL records, the evaluation text and the old one-line form agree", "[uptrain][cli]") {
  const fs::path dir = temp_dir("formats");
  std::string out;
  const std::string log = (dir / "log.txt").string();
  for (const char* f : {"jsonl", "text", "lines"})
    REQUIRE(supra::test::run_cli({"sample", "--model", kModel, "--tokens", "800", "--temperature", "1", "--seed", "9",
                                  "--out", (dir / (std::string("c.") + f)).string(), "--format", f, "--batch", "4",
                                  "--threads", "1"},
                                 out, log) == 0);
  // The JSONL records, read back as uptrain reads them.
  std::vector<std::string> stories;
  {
    std::istringstream in(slurp(dir / "c.jsonl"));
    std::string line;
    while (std::getline(in, line)) stories.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  }
  REQUIRE(stories.size() >= 3);
  // stories260K writes paragraphs: some story spans several lines, and the record keeps them.
  CHECK(std::any_of(stories.begin(), stories.end(), [](const std::string& s) { return s.find('\n') != std::string::npos; }));
  // The evaluation text is the same stories, exactly, a blank line between them.
  std::string text;
  for (size_t i = 0; i < stories.size(); i++) text += (i ? "\n" : "") + stories[i] + "\n";
  CHECK(slurp(dir / "c.text") == text);
  // The old form: one story per line, newlines as spaces, trimmed.
  std::string lines;
  for (std::string s : stories) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    std::replace(s.begin(), s.end(), '\r', ' ');
    lines += s.substr(s.find_first_not_of(' '), s.find_last_not_of(' ') - s.find_first_not_of(' ') + 1) + "\n";
  }
  CHECK(slurp(dir / "c.lines") == lines);
  // uptrain's reader: one BOS per record, each record's text encoded whole (newlines included).
  const Tokenizer tok(std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/tok512.model");  // what sample used
  std::vector<int32_t> expect;
  for (const std::string& s : stories) {
    expect.push_back(tok.bos_id());
    const auto ids = tok.encode(s);
    expect.insert(expect.end(), ids.begin(), ids.end());
  }
  CHECK(train::tokenize_corpus((dir / "c.jsonl").string(), tok) == expect);
  // A record without "text" is refused, naming the file and line.
  { std::ofstream(dir / "bad.jsonl") << "{\"text\": \"a\"}\n{\"story\": 1}\n"; }
  CHECK_THROWS_WITH(train::tokenize_corpus((dir / "bad.jsonl").string(), tok),
                    Catch::Contains("bad.jsonl:2: expected an object with a string field \"text\""));
  fs::remove_all(dir);
}
