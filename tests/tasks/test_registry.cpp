// The task registry (names, errors, versions, descriptions) and the perplexity task over a text file.
// Tolerances: the perplexity metrics are exp/log of exact sums of hand-chosen logprobs in double (~1e-16 relative
// rounding), so 1e-14 relative leaves a 100x margin.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/task.h"

using namespace supra::tasks;

namespace {
const std::string kData = SUPRA_SOURCE_DIR "/datasets/data";

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}
}  // namespace

TEST_CASE("task_names: the NLU tasks, mmlu and its 57 subjects, each constructible with version and description") {
  const std::vector<std::string> names = task_names();
  CHECK(names.size() == 10 + 57);
  const std::set<std::string> unique(names.begin(), names.end());
  CHECK(unique.size() == names.size());
  for (const char* n : {"hellaswag", "piqa", "arc_easy", "arc_challenge", "winogrande", "lambada_openai", "boolq",
                        "copa", "openbookqa", "mmlu", "mmlu_abstract_algebra", "mmlu_world_religions"})
    CHECK(unique.count(n) == 1);
  for (const std::string& n : names) {
    const auto t = make_task(n);
    CHECK(t->name() == n);
    CHECK(t->version() >= 1);
    CHECK_FALSE(t->description().empty());
    CHECK(t->description().find('\n') == std::string::npos);
    CHECK_FALSE(t->metrics().empty());
    CHECK(t->size() == 0);  // nothing read before load()
  }
  CHECK(make_task("hellaswag")->description().find("10042") != std::string::npos);
  CHECK(make_task("mmlu_world_religions")->description().find("171") != std::string::npos);
  CHECK(make_task("mmlu")->default_shots() == 5);
  CHECK(make_task("piqa")->default_shots() == 0);
}

TEST_CASE("the MMLU subject list matches the bundled test files") {
  std::set<std::string> on_disk;
  for (const auto& e : std::filesystem::directory_iterator(kData + "/mmlu/test")) {
    std::string f = e.path().filename().string();
    on_disk.insert(f.substr(0, f.size() - std::string("_test.csv").size()));
  }
  const std::set<std::string> listed(mmlu_subjects().begin(), mmlu_subjects().end());
  CHECK(listed == on_disk);
}

TEST_CASE("an unknown task name is an error listing the known ones") {
  try {
    make_task("hellaswagg");
    FAIL("no error");
  } catch (const supra::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("unknown task \"hellaswagg\"") != std::string::npos);
    CHECK(msg.find("hellaswag, piqa, arc_easy") != std::string::npos);
    CHECK(msg.find("mmlu_world_religions") != std::string::npos);
    CHECK(msg.find("perplexity:<path") != std::string::npos);
  }
  CHECK_THROWS_AS(make_task("mmlu_astrology"), supra::Error);
  CHECK_THROWS_AS(make_task(""), supra::Error);
  CHECK_THROWS_WITH(make_task("hellaswag")->requests(0, {}), Catch::Contains("load() must be called"));
}

TEST_CASE("request type and aggregation names") {
  CHECK(std::string(request_type_name(RequestType::Loglikelihood)) == "loglikelihood");
  CHECK(std::string(request_type_name(RequestType::LoglikelihoodRolling)) == "loglikelihood_rolling");
  CHECK(std::string(request_type_name(RequestType::GenerateUntil)) == "generate_until");
  CHECK(std::string(aggregation_name(Aggregation::Mean)) == "mean");
  CHECK(std::string(aggregation_name(Aggregation::Perplexity)) == "perplexity");
  CHECK(std::string(aggregation_name(Aggregation::WeightedPerplexity)) == "weighted_perplexity");
  CHECK(std::string(aggregation_name(Aggregation::BitsPerByte)) == "bits_per_byte");
}

TEST_CASE("perplexity:<file>: one rolling request, word/byte/token perplexity and bits per byte") {
  // 7 whitespace runs -> 8 pieces of re.split(r"\s+") (the last one empty); "é" makes 32 bytes of 31 characters.
  const std::string text = "The cat sat.\nThe caf\u00e9 is open.\n";
  const auto path = write_temp("supra_tasks_ppl.txt", text);
  const auto t = make_task("perplexity:" + path.string());
  // sha256("The cat sat.\nThe café is open.\n") starts with the 12 hex digits in the name.
  CHECK(t->name().starts_with("perplexity:supra_tasks_ppl.txt@"));
  CHECK(t->name().size() == std::string("perplexity:supra_tasks_ppl.txt@").size() + 12);
  t->load("");
  REQUIRE(t->size() == 1);
  const std::vector<Request> rs = t->requests(0, {});
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].type == RequestType::LoglikelihoodRolling);
  CHECK(rs[0].context == text);
  CHECK_THROWS_WITH(t->requests(0, TaskSettings{1, 1234}), Catch::Contains("takes no shots"));

  const DocMetrics m = t->process(0, {{-29.0, false, "", 10}});
  CHECK(m.at("word_perplexity").weight == 8);
  CHECK(m.at("byte_perplexity").weight == 32);
  CHECK(m.at("token_perplexity").weight == 10);
  CHECK(aggregate(Aggregation::WeightedPerplexity, {m.at("word_perplexity")}).value ==
        Approx(std::exp(29.0 / 8)).epsilon(1e-14));
  CHECK(aggregate(Aggregation::WeightedPerplexity, {m.at("token_perplexity")}).value ==
        Approx(std::exp(2.9)).epsilon(1e-14));
  CHECK(aggregate(Aggregation::BitsPerByte, {m.at("bits_per_byte")}).value ==
        Approx(29.0 / 32 / std::log(2.0)).epsilon(1e-14));

  // Another content, another name; a file changed after the task was made is refused at load().
  const auto other = make_task("perplexity:" + write_temp("supra_tasks_ppl2.txt", "x y\n").string());
  CHECK(other->name() != t->name());
  write_temp("supra_tasks_ppl.txt", "changed\n");
  CHECK_THROWS_WITH(t->load(""), Catch::Contains("changed since the task was made"));
  CHECK_THROWS_WITH(make_task("perplexity:/nonexistent/file.txt"), Catch::Contains("/nonexistent/file.txt"));
  std::filesystem::remove(path);
  std::filesystem::remove(std::filesystem::temp_directory_path() / "supra_tasks_ppl2.txt");
}
