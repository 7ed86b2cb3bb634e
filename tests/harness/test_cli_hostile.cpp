// Hostile command lines through the binary: token ids outside the vocabulary, numeric options out of range (read as a
// sentence, not CLI11's "not in range 0.000000 to 1797693..."), generation past its bound, text files that are not
// UTF-8, perplexity task files that are empty or binary (reported as themselves, not as an unknown task), and a
// metric row too long to score in bounded time. Each: a non-zero exit and a message naming what was wrong.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/harness/cli_util.h"

namespace fs = std::filesystem;
using Catch::Contains;
using supra::test::fresh_temp;
using supra::test::run_cli;

namespace {

const std::string kModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";

// Runs the binary; returns its exit code, output in `out`.
int cli(const std::vector<std::string>& args, std::string& out) {
  return run_cli(args, out, fresh_temp("cli_hostile", "log.txt").string());
}

std::string write_file(const std::string& name, const std::string& bytes) {
  const fs::path p = fresh_temp("cli_hostile", name);
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

}  // namespace

TEST_CASE("logprobs refuses ids outside the vocabulary, and ids that do not fit 32 bits", "[cli][hostile]") {
  std::string out;
  for (const char* ids : {"1 512", "1 600", "1 -1", "1 99999999", "1 -2147483648", "1 4294967297"}) {
    INFO(ids);
    CHECK(cli({"logprobs", "--model", kModel, "--ids", ids, "--threads", "1"}, out) == 1);
    CHECK_THAT(out, Contains("outside the model's vocabulary (0..511)"));
  }
  CHECK(cli({"logprobs", "--model", kModel, "--ids", "1 511", "--threads", "1"}, out) == 0);
}

TEST_CASE("numeric options out of range are refused with a readable range", "[cli][hostile]") {
  std::string out;
  const std::string db = fresh_temp("cli_hostile", "ranges.sqlite").string();
  CHECK(cli({"run", "--model", kModel, "--tasks", "copa", "--shots", "-5", "--db", db}, out) != 0);
  CHECK_THAT(out, Contains("--shots") && Contains("'-5' is not an integer in 0..1024"));
  CHECK_THAT(out, !Contains("1797693"));
  CHECK(cli({"run", "--model", kModel, "--tasks", "copa", "--limit", "-1", "--db", db}, out) != 0);
  CHECK_THAT(out, Contains("--limit") && Contains("'-1' is not an integer in 1.."));
  CHECK(cli({"run", "--model", kModel, "--tasks", "copa", "--limit", "0", "--db", db}, out) != 0);
  CHECK(cli({"run", "--model", kModel, "--tasks", "copa", "--ctx", "0", "--db", db}, out) != 0);
  CHECK_THAT(out, Contains("--ctx") && Contains("1..67108864"));
  CHECK_FALSE(fs::exists(db));  // refused before the store was made
  for (const char* ctx : {"0", "-1", "x"}) {
    CHECK(cli({"generate", "--model", kModel, "--prompt-ids", "1", "--print-ids", "--ctx", ctx}, out) != 0);
    CHECK_THAT(out, Contains("--ctx") && Contains("is not an integer in 1..67108864"));
  }
  CHECK(cli({"generate", "--model", kModel, "--prompt-ids", "1", "--print-ids", "--max-tokens", "100000"}, out) != 0);
  CHECK_THAT(out, Contains("--max-tokens") && Contains("'100000' is not an integer in 1..32768"));
  CHECK(cli({"generate", "--model", kModel, "--prompt-ids", "1", "--print-ids", "--chunk", "2147483647"}, out) != 0);
  CHECK_THAT(out, Contains("--chunk") && Contains("1..16384"));
  CHECK(cli({"perplexity", "--model", kModel, "--file", kModel, "--ctx", "-3"}, out) != 0);
  CHECK_THAT(out, Contains("--ctx") && Contains("'-3' is not an integer in 1.."));
}

TEST_CASE("perplexity reads only UTF-8 text, as run does", "[cli][hostile]") {
  std::string out;
  const std::string binary = write_file("binary.txt", std::string("ok \xff\xfe\x00\x01 text", 12));
  CHECK(cli({"perplexity", "--model", kModel, "--file", binary, "--ctx", "64"}, out) == 1);
  CHECK_THAT(out, Contains("binary.txt:1:4: invalid UTF-8 (byte 0xFF)"));
  CHECK(cli({"perplexity", "--model", kModel, "--file", "/nonexistent/x.txt", "--ctx", "64"}, out) == 1);
  CHECK_THAT(out, Contains("/nonexistent/x.txt") && Contains("not found"));
}

TEST_CASE("a perplexity task's bad file is reported as itself, not as an unknown task", "[cli][hostile]") {
  std::string out;
  const std::string db = fresh_temp("cli_hostile", "ppl.sqlite").string();
  const std::string empty = write_file("empty.txt", "");
  const std::string binary = write_file("bin.txt", std::string("\x00\x9f\x92\x96", 4));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"perplexity:" + empty, "is empty"},
      {"perplexity:" + binary, "invalid UTF-8"},
      {"perplexity:/nonexistent/file.txt", "not found"}};
  for (const auto& [task, why] : cases) {
    INFO(task);
    CHECK(cli({"run", "--model", kModel, "--tasks", task, "--db", db}, out) == 1);
    CHECK_THAT(out, Contains(why));
    CHECK_THAT(out, !Contains("unknown task"));
  }
}

TEST_CASE("metric refuses a rouge row too long to score in bounded time", "[cli][hostile]") {
  std::string long_text;
  for (int i = 0; i < 40000; i++) long_text += "w" + std::to_string(i % 977) + " ";
  const std::string input = write_file("long.jsonl", "{\"prediction\": \"" + long_text + "\", \"references\": [\"" +
                                                         long_text + "\"]}\n");
  std::string out;
  CHECK(cli({"metric", "--name", "rouge", "--input", input}, out) == 1);
  CHECK_THAT(out, Contains("rougeL") && Contains("40000-token prediction") && Contains("over the limit"));
  // em and f1 are linear in the row: they score it.
  CHECK(cli({"metric", "--name", "f1", "--input", input}, out) == 0);
  CHECK_THAT(out, Contains("mean\t100.0000"));
}
