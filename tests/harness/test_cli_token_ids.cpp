// Token ids in, token ids out, through the binary: `generate --prompt-ids ... --print-ids` and `logprobs --ids`
// run with no tokenizer anywhere (a llama2.c .bin alone in a folder); text in or out without one is a clear error;
// and a folder holding only llama2.c's tokenizer.bin runs text prompts as the sentencepiece .model does.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/harness/cli_util.h"

namespace fs = std::filesystem;
using Catch::Contains;
using supra::test::run_cli;

namespace {

const std::string kBundled = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/";

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("supra_cli_token_ids_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// The golden greedy continuation from BOS (llama2.c run.c), as ids.
std::vector<std::string> golden_ids() {
  std::ifstream in(std::string(SUPRA_SOURCE_DIR) + "/tests/fixtures/golden_greedy_ids.txt");
  std::vector<std::string> ids;
  std::string id;
  while (in >> id) ids.push_back(id);
  return ids;
}

// The first line of `out` that starts with `prefix`, or "".
std::string line_starting(const std::string& out, const std::string& prefix) {
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

}  // namespace

TEST_CASE("generate --prompt-ids --print-ids and logprobs --ids need no tokenizer", "[cli][token_ids]") {
  const fs::path dir = temp_dir("bare");
  const std::string model = (dir / "stories260K.bin").string();
  fs::copy_file(kBundled + "stories260K.bin", model);
  const std::string log = (dir / "log.txt").string();
  std::string out;

  const auto golden = golden_ids();
  REQUIRE(golden.size() > 9);
  std::string want = "ids: ";
  for (size_t i = 1; i < 9; i++) want += golden[i] + " ";  // greedy after "1 403" goes on as from BOS

  REQUIRE(run_cli({"generate", "--model", model, "--prompt-ids", "1 403", "--print-ids", "--max-tokens", "8",
                   "--threads", "1"},
                  out, log) == 0);
  INFO(out);
  CHECK(line_starting(out, "ids: ") == want);
  CHECK_THAT(out, !Contains("no tokenizer"));

  // The same ids with the bundled folder's tokenizer.
  std::string with_tok;
  REQUIRE(run_cli({"generate", "--model", kBundled + "stories260K.bin", "--prompt-ids", "1 403", "--print-ids",
                   "--max-tokens", "8", "--threads", "1"},
                  with_tok, log) == 0);
  CHECK(line_starting(with_tok, "ids: ") == want);

  // logprobs: llama2.c run.c's log-softmax of 403 after BOS and of 407 after "1 403" (golden_logprobs_prompt.tsv).
  REQUIRE(run_cli({"logprobs", "--model", model, "--ids", "1 403 407", "--threads", "1"}, out, log) == 0);
  const std::string row1 = line_starting(out, "1\t403\t"), row2 = line_starting(out, "2\t407\t");
  REQUIRE(!row1.empty());
  REQUIRE(!row2.empty());
  CHECK(std::stod(row1.substr(6)) == Approx(-0.243743).margin(1e-4));
  std::ifstream tsv(std::string(SUPRA_SOURCE_DIR) + "/tests/fixtures/golden_logprobs_prompt.tsv");
  std::string line;
  double want407 = 0;
  while (std::getline(tsv, line))
    if (line.rfind("1\t403\t407\t", 0) == 0) want407 = std::stod(line.substr(10));
  REQUIRE(want407 < 0);
  CHECK(std::stod(row2.substr(6)) == Approx(want407).margin(1e-4));
}

TEST_CASE("text in or out with no tokenizer is a clear error", "[cli][token_ids]") {
  const fs::path dir = temp_dir("errors");
  const std::string model = (dir / "stories260K.bin").string();
  fs::copy_file(kBundled + "stories260K.bin", model);
  const std::string log = (dir / "log.txt").string();
  std::string out;

  CHECK(run_cli({"generate", "--model", model, "--prompt-ids", "1 403", "--max-tokens", "4"}, out, log) != 0);
  CHECK_THAT(out, Contains("needs a tokenizer") && Contains(model) && Contains("--print-ids"));

  CHECK(run_cli({"generate", "--model", model, "--prompt-ids", "1 403", "--print-ids", "--until", "."}, out, log) != 0);
  CHECK_THAT(out, Contains("--until needs a tokenizer"));

  CHECK(run_cli({"generate", "--model", model, "--prompt", "Once upon a time"}, out, log) != 0);
  CHECK_THAT(out, Contains(model) && Contains("no tokenizer found beside the weights") && Contains("--tokenizer"));

  CHECK(run_cli({"logprobs", "--model", model, "--text", "Once upon a time"}, out, log) != 0);
  CHECK_THAT(out, Contains("no tokenizer found beside the weights"));

  CHECK(run_cli({"logprobs", "--model", model}, out, log) != 0);
  CHECK_THAT(out, Contains("--ids") && Contains("--text"));

  // Ids the model has no embedding row for.
  CHECK(run_cli({"generate", "--model", model, "--prompt-ids", "1 512", "--print-ids"}, out, log) != 0);
  CHECK_THAT(out, Contains("--prompt-ids") && Contains("token id 512") && Contains("(0..511)"));
  CHECK(run_cli({"logprobs", "--model", model, "--ids", "1 -3"}, out, log) != 0);
  CHECK_THAT(out, Contains("--ids") && Contains("token id -3"));
}

TEST_CASE("a llama2.c model with only tokenizer.bin beside it runs text prompts", "[cli][token_ids][tokenizer]") {
  const fs::path dir = temp_dir("tokbin");
  const std::string model = (dir / "stories260K.bin").string();
  fs::copy_file(kBundled + "stories260K.bin", model);
  fs::copy_file(kBundled + "tok512.bin", dir / "tokenizer.bin");
  const std::string log = (dir / "log.txt").string();
  std::string out, with_model;

  REQUIRE(run_cli({"generate", "--model", model, "--prompt", "Once upon a time", "--max-tokens", "12", "--print-ids",
                   "--threads", "1"},
                  out, log) == 0);
  INFO(out);
  CHECK(line_starting(out, "Once").rfind("Once upon a time, there was a little girl named Lily.", 0) == 0);

  // The same text and ids as with the sentencepiece tok512.model of the bundled folder.
  REQUIRE(run_cli({"generate", "--model", kBundled + "stories260K.bin", "--prompt", "Once upon a time",
                   "--max-tokens", "12", "--print-ids", "--threads", "1"},
                  with_model, log) == 0);
  CHECK(line_starting(out, "Once") == line_starting(with_model, "Once"));
  CHECK(line_starting(out, "ids: ") == line_starting(with_model, "ids: "));

  // --tokenizer takes a tokenizer.bin too, and --text encodes as the ids llama2.c's run.c gives.
  std::string by_text, by_ids;
  REQUIRE(run_cli({"logprobs", "--model", kBundled + "stories260K.bin", "--tokenizer", kBundled + "tok512.bin",
                   "--text", "Once upon a time", "--threads", "1"},
                  by_text, log) == 0);
  REQUIRE(run_cli({"logprobs", "--model", model, "--ids", "1 403 407 261 378", "--threads", "1"}, by_ids, log) == 0);
  CHECK(line_starting(by_text, "4\t378\t") == line_starting(by_ids, "4\t378\t"));
  CHECK(!line_starting(by_ids, "4\t378\t").empty());
}

TEST_CASE("convert keeps a llama2.c model's tokenizer.bin, and the SUPRA folder it writes finds it",
          "[cli][tokenizer]") {
  const fs::path dir = temp_dir("tokbin_convert");
  const std::string model = (dir / "stories260K.bin").string();
  fs::copy_file(kBundled + "stories260K.bin", model);
  fs::copy_file(kBundled + "tok512.bin", dir / "tokenizer.bin");
  const std::string log = (dir / "log.txt").string(), to = (dir / "supra").string();
  std::string out;
  REQUIRE(run_cli({"convert", "--from", model, "--to", to, "--seed", "1"}, out, log) == 0);
  CHECK(fs::is_regular_file(fs::path(to) / "tokenizer.bin"));
  // Text in and out through the converted folder: only the copied tokenizer.bin can encode and decode it.
  REQUIRE(run_cli({"generate", "--model", to, "--prompt", "Once upon a time", "--max-tokens", "4", "--threads", "1"},
                  out, log) == 0);
  INFO(out);
  CHECK(line_starting(out, "Once").rfind("Once upon a time", 0) == 0);
}
