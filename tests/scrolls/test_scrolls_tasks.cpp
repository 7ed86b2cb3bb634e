// The SCROLLS tasks on small crafted files: exact prompts and request types per task, scoring of crafted responses
// (values computed by hand), Qasper's yes/no routing, QuALITY's options, ContractNLI's labels, data errors that name
// file and line, and the data's sha256 in the run key.
// Tolerances: scores are ratios of token counts in double (~1e-16 relative rounding); Approx's default (~1.2e-5
// relative) only absorbs that.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/error.h"
#include "core/sha256.h"
#include "scrolls/registry.h"
#include "scrolls/scrolls_tasks.h"
#include "tasks/fewshot.h"

using namespace supra;
using namespace supra::scrolls;
using supra::tasks::RequestType;
namespace fs = std::filesystem;

namespace {

// A temp folder removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("supra_scrolls_tasks_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  // Writes `text` to <dir>/<rel> and returns its path.
  fs::path write(const std::string& rel, const std::string& text) const {
    const fs::path p = path / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

std::string row(const std::string& id, const std::string& input, const nlohmann::json& output) {
  nlohmann::ordered_json j;
  j["id"] = id;
  j["pid"] = id + "_x";
  j["input"] = input;
  j["output"] = output;
  return j.dump() + "\n";
}

std::unique_ptr<tasks::Task> loaded(const std::string& name, const fs::path& file) {
  auto t = tasks::make_task(task_factories(), name + ":" + file.string());
  REQUIRE(t);
  t->load("");
  return t;
}

tasks::TaskSettings shots(int n) {
  tasks::TaskSettings s;
  s.shots = n;
  return s;
}

tasks::Response ll(double logprob) {
  tasks::Response r;
  r.logprob = logprob;
  return r;
}

tasks::Response gen(const std::string& text) {
  tasks::Response r;
  r.text = text;
  return r;
}

double metric(const tasks::DocMetrics& m, const std::string& name) {
  auto it = m.find(name);
  REQUIRE(it != m.end());
  return it->second.value;
}

void check_generation(const tasks::Request& r, const std::string& document, const std::string& suffix, int budget) {
  CHECK(r.type == RequestType::GenerateUntil);
  CHECK(r.context.empty());
  CHECK(r.until == std::vector<std::string>{"\n"});
  CHECK(r.max_gen_toks == budget);
  REQUIRE(r.parts);
  CHECK(r.parts->prefix.empty());
  CHECK(r.parts->document == document);
  CHECK(r.parts->suffix == suffix);
}

}  // namespace

TEST_CASE("summaries: the document is the whole input, the fixed question after it, ROUGE per reference") {
  TempDir dir;
  // Two rows with one id: one example with two references.
  const fs::path f = dir.write("gov.jsonl", row("g1", "Report text.\n\nSecond part.", "the cat sat on the mat") +
                                                row("g1", "Report text.\n\nSecond part.", "cat sat"));
  for (const auto& [name, budget] : std::vector<std::pair<std::string, int>>{{"gov_report", 1024}, {"summ_screen_fd", 512}}) {
    auto t = loaded(name, f);
    CHECK(t->name() == name);
    CHECK(t->version() == 1);
    CHECK(t->default_truncation() == supra::tasks::TruncationPolicy::DocEnd);
    CHECK(t->has_documents());
    CHECK(t->default_shots() == 0);
    CHECK(t->data_sha256() == sha256_file(f.string()));
    REQUIRE(t->size() == 1);
    const auto reqs = t->requests(0, shots(0));
    REQUIRE(reqs.size() == 1);
    check_generation(reqs[0], "Report text.\n\nSecond part.",
                     "\n\nQuestion: What is a summary of the preceding text?\nAnswer:", budget);
  }
  auto t = loaded("gov_report", f);
  // "the cat sat" vs "the cat sat on the mat": R1 P=1 R=1/2 F=2/3; R2 P=1 R=2/5 F=4/7; RL LCS 3: F=2/3.
  // vs "cat sat": R1 P=2/3 R=1 F=4/5; R2 P=1/2 R=1 F=2/3; RL LCS 2: F=4/5. Max per metric over references.
  const auto m = t->process(0, {gen("the cat sat")});
  CHECK(metric(m, "rouge1") == Approx(80.0));
  CHECK(metric(m, "rouge2") == Approx(200.0 / 3));
  CHECK(metric(m, "rougeL") == Approx(80.0));
  const auto m2 = t->process(0, {gen("the cat sat on the")});  // vs ref 1: R1 5/6 -> 2*1*(5/6)/(11/6) = 10/11
  CHECK(metric(m2, "rouge1") == Approx(1000.0 / 11));
  std::vector<std::string> names;
  for (const auto& s : t->metrics()) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"rouge1", "rouge2", "rougeL"});
  // The SCROLLS score: the geometric mean of the three task numbers, derived after aggregation.
  const auto derived = t->derived_metrics({{"rouge1", 8.0}, {"rouge2", 1.0}, {"rougeL", 27.0}, {"other", 5.0}});
  REQUIRE(derived.size() == 1);
  CHECK(derived[0].first == "score");
  CHECK(derived[0].second == Approx(6.0));
  CHECK(loaded("qasper", dir.write("q.jsonl", row("q1", "Is it?\n\nDoc.", "yes")))->derived_metrics(
            {{"f1", 3.0}}).empty());
}

TEST_CASE("qmsum is query-based: its query goes after the document (lm-eval's QMSum prompt)") {
  TempDir dir;
  const fs::path f = dir.write("qmsum.jsonl", row("m1", "What did they decide?\n\nA: hello\n\nB: bye", "They left."));
  auto t = loaded("qmsum", f);
  const auto reqs = t->requests(0, shots(0));
  REQUIRE(reqs.size() == 1);
  check_generation(reqs[0], "A: hello\n\nB: bye", "\n\nQuestion: What did they decide?\nAnswer:", 512);
}

TEST_CASE("narrative_qa: generation with budget 64, F1 and EM maxed over references (x 100)") {
  TempDir dir;
  const fs::path f = dir.write("nqa.jsonl", row("n1", "Who sat?\n\nThe story.", "the cat sat") +
                                                row("n2", "Who ran?\n\nOther story.", "a dog") +
                                                row("n1", "Who sat?\n\nThe story.", "a dog"));
  auto t = loaded("narrative_qa", f);
  REQUIRE(t->size() == 2);
  CHECK(t->default_shots() == 0);
  check_generation(t->requests(0, shots(0))[0], "The story.", "\n\nQuestion: Who sat?\nAnswer:", 64);
  // "cat sat down" vs "the cat sat": tokens [cat sat down] / [cat sat]: P 2/3, R 1, F1 0.8; vs "a dog": 0.
  auto m = t->process(0, {gen("cat sat down")});
  CHECK(metric(m, "f1") == Approx(80.0));
  CHECK(metric(m, "em") == 0.0);
  m = t->process(0, {gen(" A dog!")});  // normalises to "dog" == "dog"
  CHECK(metric(m, "f1") == Approx(100.0));
  CHECK(metric(m, "em") == 100.0);
  m = t->process(1, {gen("")});
  CHECK(metric(m, "f1") == 0.0);
  CHECK_THROWS_WITH(t->process(0, {}), Catch::Contains("0 responses for 1 requests"));
}

TEST_CASE("qasper: yes/no questions by loglikelihood of \" yes\" / \" no\", the others generated") {
  TempDir dir;
  const fs::path f = dir.write("qasper.jsonl", row("y", "Is it new?\n\nPaper one.", "Yes") +
                                                   row("y", "Is it new?\n\nPaper one.", "yes.") +
                                                   row("g", "Which data?\n\nPaper two.", "SQuAD and NQ") +
                                                   row("u", "What loss?\n\nPaper three.", "Unanswerable") +
                                                   row("m", "Is it big?\n\nPaper four.", "Yes") +
                                                   row("m", "Is it big?\n\nPaper four.", "It is big"));
  auto t = loaded("qasper", f);
  REQUIRE(t->size() == 4);
  CHECK(t->default_shots() == 2);

  const auto yn = t->requests(0, shots(0));
  REQUIRE(yn.size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK(yn[i].type == RequestType::Loglikelihood);
    REQUIRE(yn[i].parts);
    CHECK(yn[i].parts->document == "Paper one.");
    CHECK(yn[i].parts->suffix == "\n\nQuestion: Is it new?\nAnswer:");
  }
  CHECK(yn[0].continuation == " yes");
  CHECK(yn[1].continuation == " no");
  CHECK(metric(t->process(0, {ll(-1), ll(-2)}), "f1") == 100.0);
  CHECK(metric(t->process(0, {ll(-3), ll(-2)}), "f1") == 0.0);
  // lm-eval compares (ll, is_greedy) tuples: an exact tie goes to the greedy one, else to " no".
  CHECK(metric(t->process(0, {ll(-2), ll(-2)}), "f1") == 0.0);
  tasks::Response greedy_yes = ll(-2);
  greedy_yes.is_greedy = true;
  CHECK(metric(t->process(0, {greedy_yes, ll(-2)}), "f1") == 100.0);

  check_generation(t->requests(1, shots(0))[0], "Paper two.", "\n\nQuestion: Which data?\nAnswer:", 128);
  // "squad" of [squad and nq]: P 1, R 1/3 -> F1 0.5.
  CHECK(metric(t->process(1, {gen("SQuAD")}), "f1") == Approx(50.0));
  // An empty generation is the answer "Unanswerable".
  CHECK(metric(t->process(2, {gen("  ")}), "f1") == 100.0);
  CHECK(metric(t->process(1, {gen("  ")}), "f1") == 0.0);
  // Not every reference is yes/no: generated.
  REQUIRE(t->requests(3, shots(0)).size() == 1);
  CHECK(t->requests(3, shots(0))[0].type == RequestType::GenerateUntil);
}

TEST_CASE("few-shot examples are document-free query/answer pairs drawn from the file, never the doc itself") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 4; ++i) text += row(fmt::format("q{}", i), fmt::format("Question {}?\n\nPaper {}.", i, i), fmt::format("answer {}", i));
  const fs::path f = dir.write("qasper.jsonl", text);
  auto t = loaded("qasper", f);
  tasks::TaskSettings s = shots(2);
  s.fewshot_seed = 1234;
  for (int64_t doc = 0; doc < 4; ++doc) {
    const auto idx = tasks::sample_fewshot("qasper", 4, true, doc, 2, 1234);
    REQUIRE(idx.size() == 2);
    const auto reqs = t->requests(doc, s);
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].parts->prefix == fmt::format("Question: Question {}?\nAnswer: answer {}\n\nQuestion: Question {}?\nAnswer: answer {}\n\n",
                                               idx[0], idx[0], idx[1], idx[1]));
    CHECK(reqs[0].parts->prefix.find(fmt::format("Question {}?", doc)) == std::string::npos);
    CHECK(reqs[0].parts->document == fmt::format("Paper {}.", doc));
  }
  CHECK_THROWS_WITH(t->requests(0, shots(4)), Catch::Contains("4 shots asked"));
}

TEST_CASE("quality: options parsed from the input, scored by loglikelihood, em = acc_norm x 100") {
  TempDir dir;
  const std::string input = "Which colour?\n\n(A) Red\n(B)  Bright   blue \n(C) Green\n(D) Grey\n\nThe article.\n\nEnd.\n";
  const fs::path f = dir.write("quality.jsonl", row("q1", input, "Bright blue "));
  auto t = loaded("quality", f);
  const auto reqs = t->requests(0, shots(0));
  REQUIRE(reqs.size() == 4);
  const std::vector<std::string> conts = {" Red", " Bright blue", " Green", " Grey"};
  for (size_t i = 0; i < 4; ++i) {
    CHECK(reqs[i].type == RequestType::Loglikelihood);
    CHECK(reqs[i].continuation == conts[i]);
    REQUIRE(reqs[i].parts);
    CHECK(reqs[i].parts->prefix.empty());
    CHECK(reqs[i].parts->document == "The article.\n\nEnd.");
    CHECK(reqs[i].parts->suffix == "\n\nQuestion: Which colour?\nAnswer:");
  }
  // ll / chars: -3/3 = -1, -5/11 = -0.45, -10/5, -10/4: argmax ll is A (acc 0), argmax per char is B (gold).
  auto m = t->process(0, {ll(-3), ll(-5), ll(-10), ll(-10)});
  CHECK(metric(m, "acc") == 0.0);
  CHECK(metric(m, "acc_norm") == 1.0);
  CHECK(metric(m, "em") == 100.0);
  m = t->process(0, {ll(-1), ll(-50), ll(-10), ll(-10)});
  CHECK(metric(m, "acc") == 0.0);
  CHECK(metric(m, "em") == 0.0);
  m = t->process(0, {ll(-9), ll(-1), ll(-10), ll(-10)});
  CHECK(metric(m, "acc") == 1.0);
  // With 1 shot the example is the question and its gold option.
  const fs::path f2 = dir.write("quality2.jsonl", row("q1", input, "Bright blue") +
                                                      row("q2", "Why?\n\n(A) a\n(B) b\n(C) c\n(D) d\n\nText.", "c"));
  auto t2 = loaded("quality", f2);
  CHECK(t2->requests(0, shots(1))[0].parts->prefix == "Question: Why?\nAnswer: c\n\n");
}

TEST_CASE("parse_quality_options follows lm-eval's split of the options") {
  const QualityOptions q = parse_quality_options("(A) one (B) two\n (C)three\n(D) four  \n\n  Article (A) here.\n\n",
                                                 "src");
  CHECK(q.choices == std::vector<std::string>{"one", "two", "three", "four"});
  CHECK(q.article == "Article (A) here.");
  CHECK_THROWS_WITH(parse_quality_options("(A) a\n(B) b\n\nText", "src"), Catch::Contains("src") && Catch::Contains("(D)"));
  CHECK_THROWS_WITH(parse_quality_options("(A) a\n(B) b\n(C) c\n(D) d\nText", "src"),
                    Catch::Contains("blank line"));
  CHECK(collapse_whitespace("  a \t b\n\nc\u00a0 ") == "a b c");
}

TEST_CASE("contract_nli: hypothesis prompt, the three labels in lm-eval's order") {
  TempDir dir;
  const fs::path f = dir.write("cnli.jsonl", row("c1", "Party may share data.\n\nThe contract.", "Entailment"));
  auto t = loaded("contract_nli", f);
  const auto reqs = t->requests(0, shots(0));
  REQUIRE(reqs.size() == 3);
  const std::vector<std::string> conts = {" Not mentioned", " Entailment", " Contradiction"};
  for (size_t i = 0; i < 3; ++i) {
    CHECK(reqs[i].type == RequestType::Loglikelihood);
    CHECK(reqs[i].continuation == conts[i]);
    CHECK(reqs[i].parts->document == "The contract.");
    CHECK(reqs[i].parts->suffix == "\n\nHypothesis: Party may share data.\nConclusion:");
  }
  auto m = t->process(0, {ll(-5), ll(-1), ll(-3)});
  CHECK(metric(m, "acc") == 1.0);
  CHECK(metric(m, "em") == 100.0);
  // ll -1, -2, -3 over 13, 10, 13 characters: per char -0.077, -0.2, -0.23: Not mentioned wins both.
  m = t->process(0, {ll(-1), ll(-2), ll(-3)});
  CHECK(metric(m, "acc") == 0.0);
  CHECK(metric(m, "acc_norm") == 0.0);
  CHECK(metric(m, "em") == 0.0);

  const fs::path bad = dir.write("bad.jsonl", row("c1", "H.\n\nDoc.", "Entailment") + row("c2", "H.\n\nDoc.", "Maybe"));
  CHECK_THROWS_WITH(loaded("contract_nli", bad), Catch::Contains("bad.jsonl:2") && Catch::Contains("Maybe"));
}

TEST_CASE("bad data is refused with file and line") {
  TempDir dir;
  const fs::path malformed = dir.write("m.jsonl", row("a", "Q?\n\nDoc.", "x") + "{\"id\": \"b\", \"pid\": \"b_0\"}\n");
  CHECK_THROWS_WITH(loaded("narrative_qa", malformed), Catch::Contains("m.jsonl:2") && Catch::Contains("input"));
  const fs::path no_blank = dir.write("nb.jsonl", row("a", "Q?\n\nDoc.", "x") + row("b", "no blank line", "x"));
  CHECK_THROWS_WITH(loaded("narrative_qa", no_blank), Catch::Contains("nb.jsonl:2"));
  const fs::path hidden = dir.write("test.jsonl", row("a", "Q?\n\nDoc.", nullptr));
  CHECK_THROWS_WITH(loaded("qasper", hidden), Catch::Contains("test.jsonl:1") && Catch::Contains("no reference"));
  const fs::path wrong = dir.write("w.jsonl", row("a", "Q?\n\n(A) a\n(B) b\n(C) c\n(D) d\n\nText.", "e"));
  CHECK_THROWS_WITH(loaded("quality", wrong), Catch::Contains("w.jsonl:1") && Catch::Contains("output"));
  CHECK_THROWS_WITH(loaded("qasper", dir.path / "absent.jsonl"), Catch::Contains("absent.jsonl"));
  auto t = tasks::make_task(task_factories(), "qasper:" + (dir.path / "absent.jsonl").string());
  CHECK_THROWS_WITH(t->requests(0, shots(0)), Catch::Contains("load()"));
}

TEST_CASE("without a file the task reads <data root>/<task>/validation.jsonl, no root is a clear error") {
  TempDir dir;
  const fs::path f = dir.write("narrative_qa/validation.jsonl", row("a", "Q?\n\nDoc.", "x"));
  auto t = tasks::make_task(task_factories(), "narrative_qa");
  REQUIRE(t);
  CHECK(t->dataset() == "tau/scrolls:narrative_qa");
  CHECK_THAT(t->description(), Catch::Contains("DIR/narrative_qa/validation.jsonl"));
  CHECK_THROWS_WITH(t->load(""), Catch::Contains("--data") && Catch::Contains("narrative_qa:<path"));
  CHECK_THROWS_WITH(t->load((dir.path / "elsewhere").string()), Catch::Contains("validation.jsonl"));
  t->load(dir.path.string());
  CHECK(t->size() == 1);
  CHECK(t->dataset() == f.string());  // the file read, recorded in the run's config
  CHECK(t->data_sha256() == sha256_file(f.string()));
  // Another file, another key.
  const fs::path g = dir.write("other.jsonl", row("a", "Q?\n\nDoc.", "y"));
  CHECK(loaded("narrative_qa", g)->data_sha256() != t->data_sha256());
}

TEST_CASE("every official SCROLLS task is a row of the task table, alone or with a path; then the fixtures") {
  const std::vector<std::string> expected = {"gov_report", "summ_screen_fd", "qmsum",       "qasper",
                                             "narrative_qa", "quality",      "contract_nli"};
  std::vector<std::string> official, others;
  for (const tasks::TaskFactory& row : task_factories())
    (row.path == tasks::TaskPath::Optional ? official : others).push_back(row.name);
  CHECK(official == expected);
  CHECK(others == std::vector<std::string>{"wikiqa", "quality_example"});
  for (const std::string& n : expected) {
    auto t = tasks::make_task(task_factories(), n);
    REQUIRE(t);
    CHECK(t->name() == n);
    CHECK(t->default_truncation() == supra::tasks::TruncationPolicy::DocEnd);
  }
  CHECK_THROWS(official_scrolls_spec("squad"));
}
