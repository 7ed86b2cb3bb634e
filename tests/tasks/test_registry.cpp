// The task table (names, lookups, errors, versions, descriptions) and the perplexity task over a text file.
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
#include "tasks/task_factory.h"

using namespace supra::tasks;

namespace {
const std::string kData = SUPRA_SOURCE_DIR "/datasets/data";

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const std::filesystem::path p = std::filesystem::temp_directory_path() / name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

std::unique_ptr<Task> make(const std::string& name) { return make_task(task_factories(), name); }

// A task that only has a name: enough to see which row made it and with which path.
class Named final : public Task {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  int version() const override { return 1; }
  std::string description() const override { return name_; }
  std::string dataset() const override { return ""; }
  std::string split() const override { return ""; }
  std::vector<MetricSpec> metrics() const override { return {}; }
  void load(const std::string&) override {}
  int64_t size() const override { return 0; }
  std::vector<Request> requests(int64_t, const TaskSettings&) const override { return {}; }
  DocMetrics process(int64_t, const std::vector<Response>&) const override { return {}; }

 private:
  std::string name_;
};
}  // namespace

TEST_CASE("the task table: the NLU tasks, mmlu and its 57 subjects, each constructible with version and description, "
          "and perplexity:<path>") {
  std::vector<std::string> names;
  for (const TaskFactory& row : task_factories()) {
    if (row.path == TaskPath::None) {
      names.push_back(row.name);
      CHECK(row.description.empty());  // the task describes itself
    }
  }
  CHECK(names.size() == 10 + 57);
  CHECK(task_factories().size() == 10 + 57 + 1);
  const TaskFactory& ppl = task_factories().back();
  CHECK(listed_name(ppl) == "perplexity:<path>");
  CHECK(ppl.path == TaskPath::Required);
  CHECK_FALSE(ppl.description.empty());
  const std::set<std::string> unique(names.begin(), names.end());
  CHECK(unique.size() == names.size());
  for (const char* n : {"hellaswag", "piqa", "arc_easy", "arc_challenge", "winogrande", "lambada_openai", "boolq",
                        "copa", "openbookqa", "mmlu", "mmlu_abstract_algebra", "mmlu_world_religions"})
    CHECK(unique.count(n) == 1);
  for (const std::string& n : names) {
    const auto t = make(n);
    CHECK(t->name() == n);
    CHECK(t->version() >= 1);
    CHECK_FALSE(t->description().empty());
    CHECK(t->description().find('\n') == std::string::npos);
    CHECK_FALSE(t->metrics().empty());
    CHECK(t->size() == 0);  // nothing read before load()
  }
  CHECK(make("hellaswag")->description().find("10042") != std::string::npos);
  CHECK(make("mmlu_world_religions")->description().find("171") != std::string::npos);
  CHECK(make("mmlu")->default_shots() == 5);
  CHECK(make("piqa")->default_shots() == 0);
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
    make("hellaswagg");
    FAIL("no error");
  } catch (const supra::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("unknown task \"hellaswagg\"") != std::string::npos);
    CHECK(msg.find("hellaswag, piqa, arc_easy") != std::string::npos);
    CHECK(msg.find("mmlu_world_religions") != std::string::npos);
    CHECK(msg.find("perplexity:<path") != std::string::npos);
  }
  CHECK_THROWS_AS(make("mmlu_astrology"), supra::Error);
  CHECK_THROWS_AS(make(""), supra::Error);
  CHECK_THROWS_WITH(make("hellaswag")->requests(0, {}), Catch::Contains("load() must be called"));
}

TEST_CASE("a lookup matches a row's name alone or with :<path> as the row says, and reports no match as nullptr") {
  const TaskTable& t = task_factories();
  CHECK(find_task_factory(t, "hellaswag") == &t.front());
  CHECK(find_task_factory(t, "hellaswag:x.txt") == nullptr);  // takes no path
  CHECK(find_task_factory(t, "perplexity") == nullptr);       // needs one
  CHECK(find_task_factory(t, "perplexity:x.txt") == &t.back());
  CHECK(find_task_factory(t, "perplexity:") == &t.back());  // the factory judges the path
  CHECK(find_task_factory(t, "nope") == nullptr);

  std::vector<std::string> paths;
  const TaskTable table = {
      {"doc", TaskPath::Optional, [&paths](const std::string& p) {
         paths.push_back(p);
         return std::make_unique<Named>("doc");
       }, ""},
      {"fixed", TaskPath::None, [](const std::string&) { return std::make_unique<Named>("fixed"); }, ""},
  };
  CHECK(make_task(table, "doc")->name() == "doc");
  CHECK(make_task(table, "doc:/a:b.jsonl")->name() == "doc");  // the path is everything after the first ':'
  CHECK(paths == std::vector<std::string>{"", "/a:b.jsonl"});
  CHECK(make_task(table, "fixed")->name() == "fixed");
  CHECK(listed_name(table[0]) == "doc[:<path>]");
  CHECK_THROWS_WITH(make_task(table, "fixed:x"),
                    Catch::Contains("unknown task \"fixed:x\"; known tasks: doc[:<path>], fixed"));
}

TEST_CASE("a factory's own error reaches the caller unchanged, not as an unknown task") {
  const TaskTable table = {
      {"broken", TaskPath::None, [](const std::string&) -> std::unique_ptr<Task> { supra::fail("broken: no disk"); },
       ""},
  };
  CHECK_THROWS_WITH(make_task(table, "broken"), "broken: no disk");
  try {
    make("perplexity:/nonexistent/file.txt");
    FAIL("no error");
  } catch (const supra::Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("/nonexistent/file.txt"));
    CHECK_THAT(e.what(), !Catch::Contains("unknown task"));
  }
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
  const auto t = make("perplexity:" + path.string());
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
  const auto other = make("perplexity:" + write_temp("supra_tasks_ppl2.txt", "x y\n").string());
  CHECK(other->name() != t->name());
  write_temp("supra_tasks_ppl.txt", "changed\n");
  CHECK_THROWS_WITH(t->load(""), Catch::Contains("changed since the task was made"));
  CHECK_THROWS_WITH(make("perplexity:/nonexistent/file.txt"), Catch::Contains("/nonexistent/file.txt"));
  std::filesystem::remove(path);
  std::filesystem::remove(std::filesystem::temp_directory_path() / "supra_tasks_ppl2.txt");
}
