// datasets/: every reader on its real bundled file (record counts and first records as the folders' PROVENANCE.md
// state them), the registry and its sha256 verification, and the errors for malformed inputs (file, line, field).
// Over 600 lines: one short test per bundled dataset and per refusal, all against the same registry and data root.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>

#include <fmt/format.h>

#include "datasets/csv.h"
#include "datasets/hellaswag.h"
#include "datasets/jsonl.h"
#include "datasets/llmfoundry.h"
#include "datasets/load.h"
#include "datasets/long_context.h"
#include "datasets/mmlu.h"
#include "datasets/openbookqa.h"
#include "datasets/piqa.h"
#include "datasets/registry.h"
#include "datasets/text_file.h"
#include "core/error.h"
#include "core/sha256.h"

namespace fs = std::filesystem;
namespace ds = supra::datasets;

namespace {

// The bundled data, named explicitly so a developer's SUPRA_DATA_DIR cannot change what these tests read.
const fs::path kRoot = fs::path(SUPRA_SOURCE_DIR) / "datasets" / "data";

// A fresh directory under the system temp dir, removed with everything in it when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() / ("supra_datasets_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path write(const std::string& name, const std::string& content) const {
    const fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
};

// The message of the supra::Error that `f` throws; fails the test when it throws nothing.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const supra::Error& e) {
    return e.what();
  }
  FAIL("expected a supra::Error, nothing was thrown");
  return {};
}

// Sets an environment variable for one scope and restores the previous state afterwards.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const char* value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    if (value)
      ::setenv(name.c_str(), value, 1);
    else
      ::unsetenv(name.c_str());
  }
  ~ScopedEnv() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Registry

TEST_CASE("registry: names are unique, counts add up, every bundled file is registered with provenance and license") {
  std::set<std::string> names, registered;
  for (const ds::DatasetInfo& d : ds::all_datasets()) {
    INFO(d.name);
    CHECK(names.insert(d.name).second);
    CHECK_FALSE(d.benchmark.empty());
    CHECK_FALSE(d.split.empty());
    CHECK_FALSE(d.license.empty());
    CHECK(fs::is_regular_file(kRoot / d.provenance));
    CHECK(fs::is_regular_file((kRoot / d.provenance).parent_path() / "LICENSE"));
    REQUIRE_FALSE(d.files.empty());
    std::size_t sum = 0;
    for (const ds::DataFile& f : d.files) {
      INFO(f.path);
      CHECK(f.sha256.size() == 64);
      CHECK(f.sha256.find_first_not_of("0123456789abcdef") == std::string::npos);
      CHECK(fs::is_regular_file(kRoot / f.path));
      registered.insert(f.path);
      sum += f.records;
      if (d.format == ds::Format::PiqaOfficial) CHECK(f.records == d.records);  // records and labels pair up
    }
    if (d.format != ds::Format::PiqaOfficial) CHECK(sum == d.records);
  }
  // Nothing is bundled without a checksum.
  for (const auto& entry : fs::recursive_directory_iterator(kRoot)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().filename().string();
    if (name == "LICENSE" || name == "PROVENANCE.md" || name == "README.md") continue;
    const std::string rel = fs::relative(entry.path(), kRoot).generic_string();
    INFO(rel);
    CHECK(registered.count(rel) == 1);
  }
}

TEST_CASE("registry: the documented record counts") {
  const std::map<std::string, std::size_t> expected = {
      {"hellaswag", 10042},    {"piqa", 1838},       {"piqa_llmfoundry", 1838}, {"arc_easy", 2376},
      {"arc_challenge", 1172}, {"winogrande", 1267}, {"lambada_openai", 5153},  {"boolq", 3270},
      {"copa", 100},           {"openbookqa", 500},  {"openbookqa_dev", 500},   {"openbookqa_llmfoundry", 500},
      {"mmlu_test", 14079},    {"mmlu_dev", 285},    {"mmlu_val", 1542},        {"wikiqa_2k", 428},
      {"quality_example", 2}};
  for (const auto& [name, n] : expected) {
    INFO(name);
    CHECK(ds::find_dataset(name).records == n);
  }
  for (const char* pos : {"beginning", "middle", "end"})
    for (int len : {2048, 4096}) CHECK(ds::find_dataset(fmt::format("kv_pairs_{}_{}", pos, len)).records == 300);
  CHECK(ds::find_dataset("kv_pairs_middle_8192").records == 300);
  CHECK(ds::find_dataset("mmlu_test").files.size() == 57);
  CHECK(ds::find_dataset("hellaswag").files.size() == 3);
}

TEST_CASE("registry: an unknown dataset is an error listing the known ones") {
  const std::string msg = error_of([] { ds::find_dataset("hellaswagg"); });
  CHECK_THAT(msg, Contains("unknown dataset \"hellaswagg\"") && Contains("hellaswag, piqa"));
}

TEST_CASE("registry: data root from the argument, SUPRA_DATA_DIR, or the bundled default") {
  TempDir tmp;
  {
    ScopedEnv env("SUPRA_DATA_DIR", nullptr);
    CHECK(fs::equivalent(ds::data_root(), kRoot));
    CHECK(ds::data_root(tmp.path) == tmp.path);
  }
  {
    ScopedEnv env("SUPRA_DATA_DIR", tmp.path.c_str());
    CHECK(ds::data_root() == tmp.path);
    CHECK(fs::equivalent(ds::data_root(kRoot), kRoot));  // the argument wins over the environment
  }
  {
    const std::string missing = (tmp.path / "nope").string();
    ScopedEnv env("SUPRA_DATA_DIR", missing.c_str());
    CHECK_THAT(error_of([] { ds::data_root(); }), Contains(missing) && Contains("SUPRA_DATA_DIR"));
  }
}

TEST_CASE("registry: sha256 of every bundled file matches") {
  for (const ds::DatasetInfo& d : ds::all_datasets()) {
    INFO(d.name);
    CHECK_NOTHROW(ds::verify(d, kRoot));
  }
}

TEST_CASE("registry: a changed file fails verification naming the file and both checksums") {
  const ds::DatasetInfo& copa = ds::find_dataset("copa");
  TempDir tmp;
  std::string text = ds::read_text_file(kRoot / copa.files[0].path);
  text[10] = text[10] == 'x' ? 'y' : 'x';
  const fs::path changed = tmp.write(copa.files[0].path, text);
  const std::string actual = supra::sha256_file(changed.string());
  REQUIRE(actual != copa.files[0].sha256);

  const std::string msg = error_of([&] { ds::verify("copa", tmp.path); });
  CHECK_THAT(msg, Contains("dataset copa") && Contains(changed.string()) && Contains(copa.files[0].sha256) &&
                      Contains(actual));
  // Loading verifies first, so the changed data is never read.
  CHECK_THAT(error_of([&] { ds::load_choices("copa", tmp.path); }), Contains(changed.string()));
}

TEST_CASE("registry: a missing file fails verification naming its path") {
  TempDir tmp;
  const ds::DatasetInfo& hs = ds::find_dataset("hellaswag");
  // Two of three parts present and intact: the error names only the missing one.
  for (int i = 0; i < 2; ++i) fs::create_directories((tmp.path / hs.files[i].path).parent_path());
  for (int i = 0; i < 2; ++i) fs::copy_file(kRoot / hs.files[i].path, tmp.path / hs.files[i].path);
  const std::string msg = error_of([&] { ds::verify(hs, tmp.path); });
  CHECK_THAT(msg, Contains("missing file " + (tmp.path / hs.files[2].path).string()) && Contains("1 of 3 files"));
}

// ---------------------------------------------------------------------------------------------------------------
// Each reader on its real file

TEST_CASE("hellaswag: 10042 tasks in three parts - first task as in PROVENANCE.md (ctx_b not capitalised)") {
  const auto records = ds::load_hellaswag(kRoot);
  REQUIRE(records.size() == 10042);
  const ds::HellaswagRecord& r = records[0];
  CHECK(r.activity_label == "Roof shingle removal");
  CHECK(r.ctx == "A man is sitting on a roof. he");
  CHECK(r.gold == 3);
  CHECK(r.endings[0] == "is using wrap to wrap a pair of skis.");
  CHECK(r.endings[1] == "is ripping level tiles off.");
  CHECK(r.endings[2] == "is holding a rubik's cube.");
  CHECK(r.endings[3] == "starts pulling up roofing on a roof.");
  // The parts end at task boundaries: each holds whole tasks, as many as the registry says.
  for (const ds::DataFile& f : ds::find_dataset("hellaswag").files)
    CHECK(ds::read_hellaswag_6line(kRoot / f.path).size() == f.records);
}

TEST_CASE("piqa: official valid.jsonl + valid-labels.lst, 1838 - first record as in PROVENANCE.md") {
  const auto records = ds::load_piqa(kRoot);
  REQUIRE(records.size() == 1838);
  CHECK(records[0].goal == "How do I ready a guinea pig cage for it's new occupants?");
  CHECK_THAT(records[0].sol1, StartsWith("Provide the guinea pig with a cage full of a few inches of bedding made "
                                         "of ripped paper strips,"));
  CHECK_THAT(records[0].sol2, Contains("ripped jeans material,"));
  CHECK(records[0].label == 0);

  // The llm-foundry copy is the same data: same order and gold, "Question: <goal>\n", solutions stripped of surrounding
  // whitespace.
  const auto converted = ds::load_choices("piqa_llmfoundry", kRoot);
  REQUIRE(converted.size() == records.size());
  auto strip = [](std::string s) {
    s.erase(s.find_last_not_of(" \t\n") + 1);
    return s.erase(0, s.find_first_not_of(" \t\n"));
  };
  for (std::size_t i = 0; i < records.size(); ++i) {
    INFO("record " << i);
    CHECK(converted[i].query == "Question: " + records[i].goal + "\n");
    CHECK(converted[i].choices == std::vector<std::string>{strip(records[i].sol1), strip(records[i].sol2)});
    CHECK(converted[i].gold == records[i].label);
  }
}

TEST_CASE("arc_easy and arc_challenge: 2376 and 1172 - first records as in PROVENANCE.md") {
  const auto easy = ds::load_choices("arc_easy", kRoot);
  REQUIRE(easy.size() == 2376);
  CHECK(easy[0].query ==
        "Question: Which statement best explains why photosynthesis is the foundation of most food webs?");
  CHECK(easy[0].choices == std::vector<std::string>{"Sunlight is the source of energy for nearly all ecosystems.",
                                                    "Most ecosystems are found on land instead of in water.",
                                                    "Carbon dioxide is more available than other gases.",
                                                    "The producers in all ecosystems are plants."});
  CHECK(easy[0].gold == 0);

  const auto challenge = ds::load_choices("arc_challenge", kRoot);
  REQUIRE(challenge.size() == 1172);
  CHECK(challenge[0].query ==
        "Question: An astronomer observes that a planet rotates faster after a meteorite "
        "impact. Which is the most likely effect of this increase in rotation?");
  CHECK(challenge[0].choices ==
        std::vector<std::string>{"Planetary density will decrease.", "Planetary years will become longer.",
                                 "Planetary days will become shorter.", "Planetary gravity will become stronger."});
  CHECK(challenge[0].gold == 2);
}

TEST_CASE("winogrande: 1267 - first record as in PROVENANCE.md") {
  const auto records = ds::load_winogrande(kRoot);
  REQUIRE(records.size() == 1267);
  CHECK(records[0].context_options[0] == "Sarah was a much better surgeon than Maria so Sarah");
  CHECK(records[0].context_options[1] == "Sarah was a much better surgeon than Maria so Maria");
  CHECK(records[0].continuation == "always got the easier cases.");
  CHECK(records[0].gold == 1);
}

TEST_CASE("lambada_openai: 5153 - first record as in PROVENANCE.md") {
  const auto records = ds::load_lambada_openai(kRoot);
  REQUIRE(records.size() == 5153);
  CHECK_THAT(records[0].context, StartsWith("In my palm is a clear stone, and inside it is a small ivory statuette."));
  CHECK_THAT(records[0].context, EndsWith("his mouth curved in a confident grin, I don't care about"));
  CHECK(records[0].continuation == "signs");
  // Stored as is: the one continuation that does not follow a plain space (see llmfoundry.h).
  CHECK(records[4462].continuation == "\n\nrecorder");
  CHECK_THAT(records[4462].context, EndsWith("when she returned and saw the"));
}

TEST_CASE("boolq: 3270 - first record as in PROVENANCE.md") {
  const auto records = ds::load_choices("boolq", kRoot);
  REQUIRE(records.size() == 3270);
  CHECK_THAT(records[0].query, StartsWith("Passage: All biomass goes through at least some of these steps:"));
  CHECK_THAT(records[0].query, EndsWith("\nQuestion: does ethanol take more energy make that produces?"));
  CHECK(records[0].choices == std::vector<std::string>{"no", "yes"});
  CHECK(records[0].gold == 0);
}

TEST_CASE("copa: 100 - first record as in PROVENANCE.md") {
  const auto records = ds::load_choices("copa", kRoot);
  REQUIRE(records.size() == 100);
  CHECK(records[0].query == "The man turned on the faucet, therefore");
  CHECK(records[0].choices ==
        std::vector<std::string>{"the toilet filled with water.", "water flowed from the spout."});
  CHECK(records[0].gold == 1);
}

TEST_CASE("openbookqa: official test and dev TSV, 500 + 500 - first rows as in PROVENANCE.md") {
  const auto test = ds::load_openbookqa("openbookqa", kRoot);
  REQUIRE(test.size() == 500);
  CHECK(test[0].id == "8-343");
  CHECK(test[0].question_stem ==
        "A person wants to start saving money so that they can afford a nice vacation at the end of the year. After "
        "looking over their budget and expenses, they decide the best way to save money is to");
  CHECK(test[0].choices == std::array<std::string, 4>{"make more phone calls", "quit eating lunch out",
                                                      "buy less with monopoly money", "have lunch with friends"});
  CHECK(test[0].answer == 1);

  const auto dev = ds::load_openbookqa("openbookqa_dev", kRoot);
  REQUIRE(dev.size() == 500);
  CHECK(dev[0].id == "8-376");
  CHECK(dev[0].choices[0] == "Deep sea animals");
  CHECK(dev[0].answer == 0);

  // PROVENANCE.md: all 500 test stems and answer keys agree with the llm-foundry copy.
  const auto converted = ds::load_choices("openbookqa_llmfoundry", kRoot);
  REQUIRE(converted.size() == 500);
  for (std::size_t i = 0; i < 500; ++i) {
    INFO("record " << i);
    CHECK(converted[i].query == test[i].question_stem);
    CHECK(converted[i].gold == test[i].answer);
    CHECK(converted[i].choices == std::vector<std::string>(test[i].choices.begin(), test[i].choices.end()));
  }
}

TEST_CASE("mmlu: test 14079 / dev 285 / val 1542 over 57 subjects - first dev row as in PROVENANCE.md") {
  const auto dev = ds::load_mmlu("dev", kRoot);
  REQUIRE(dev.size() == 285);
  CHECK(dev[0].subject == "abstract_algebra");
  CHECK(dev[0].question == "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.");
  CHECK(dev[0].choices == std::array<std::string, 4>{"0", "1", "2", "3"});
  CHECK(dev[0].answer == 1);
  std::map<std::string, int> dev_per_subject;
  for (const auto& r : dev) ++dev_per_subject[r.subject];
  CHECK(dev_per_subject.size() == 57);
  for (const auto& [subject, n] : dev_per_subject) CHECK(n == 5);  // the 5-shot exemplars
  // A quoted field spanning lines keeps its bytes, "\r\n" included (college_mathematics_dev.csv row 2).
  bool crlf_kept = false;
  for (const auto& r : dev)
    crlf_kept = crlf_kept ||
                (r.subject == "college_mathematics" && r.question.find("must be true?\r\nI. All") != std::string::npos);
  CHECK(crlf_kept);

  const auto val = ds::load_mmlu("val", kRoot);
  CHECK(val.size() == 1542);

  const auto test = ds::load_mmlu("test", kRoot);
  REQUIRE(test.size() == 14079);
  std::map<std::string, int> per_subject;
  for (const auto& r : test) ++per_subject[r.subject];
  CHECK(per_subject.size() == 57);
  // The pre-release counts PROVENANCE.md lists against the final release.
  CHECK(per_subject["high_school_macroeconomics"] == 391);
  CHECK(per_subject["machine_learning"] == 105);
  CHECK(per_subject["miscellaneous"] == 791);
  CHECK(per_subject["professional_psychology"] == 624);
  CHECK(per_subject["public_relations"] == 112);
  CHECK(per_subject["college_physics"] == 102);
  // Per-file counts in the registry are per-subject counts.
  for (const ds::DataFile& f : ds::find_dataset("mmlu_test").files)
    CHECK(per_subject[ds::mmlu_subject(f.path, "test")] == int(f.records));
}

TEST_CASE("wikiqa_2k: 428 - first record as in PROVENANCE.md") {
  const auto records = ds::load_wikiqa_2k(kRoot);
  REQUIRE(records.size() == 428);
  CHECK_THAT(records[0].context, StartsWith("Answer the question based on the information provided in the document "
                                            "given below. The answer should be a number\n\nDocument:\n"));
  CHECK_THAT(records[0].context, EndsWith("\nQuestion: when was the two child policy introduced in china? \nAnswer: "));
  CHECK(records[0].answer == "2016");
}

TEST_CASE("kv_pairs: 7 files of 300 - first record as in PROVENANCE.md") {
  for (const ds::DatasetInfo& d : ds::all_datasets()) {
    if (d.benchmark != "kv_pairs") continue;
    INFO(d.name);
    CHECK(ds::load_kv_pairs(d.name, kRoot).size() == 300);
  }
  const auto records = ds::load_kv_pairs("kv_pairs_beginning_2048", kRoot);
  CHECK_THAT(records[0].context, StartsWith("Extract the value corresponding to the specified key in the JSON object"));
  CHECK_THAT(records[0].context, Contains("Key: \"bfe757f6-28a2-45e2-acf4-716848d8571d\""));
  CHECK(records[0].answer == "afd038c9-c6e5-4846-87c8-11f612e47f04");
  CHECK(records[0].answer_location == 10);
}

TEST_CASE("quality_example: one article twice, 5 questions - fields as in PROVENANCE.md") {
  const auto records = ds::load_quality_example(kRoot);
  REQUIRE(records.size() == 2);
  const ds::QualityArticle& a = records[0];
  CHECK(a.article_id == 52845);
  CHECK(a.title == "The Girl in His Mind");
  CHECK(a.author == "Young, Robert F.");
  CHECK(a.year == 1950);
  CHECK(a.source == "Gutenberg");
  CHECK_FALSE(a.article_html.empty());
  REQUIRE(a.questions.size() == 5);
  const int gold_1_based[5] = {2, 3, 4, 1, 4};
  for (int i = 0; i < 5; ++i) CHECK(a.questions[i].gold == gold_1_based[i] - 1);
  CHECK(a.questions[3].question == "Sabrina York is ");
  CHECK(a.questions[3].options[0] == "a criminal that Blake is hunting");
  CHECK(records[1].unique_id == a.unique_id);
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed inputs: errors name the file, the line and (for records) the field

TEST_CASE("text files: missing file, invalid UTF-8, BOM, carriage returns") {
  TempDir tmp;
  const fs::path missing = tmp.path / "absent.jsonl";
  CHECK_THAT(error_of([&] { ds::read_jsonl(missing); }), Contains(missing.string()) && Contains("not found"));
  const fs::path bad = tmp.write("bad.txt",
                                 "ok\nab\xff"
                                 "c\n");
  CHECK_THAT(error_of([&] { ds::read_text_file(bad); }), Contains(bad.string() + ":2:3: invalid UTF-8"));
  const fs::path overlong = tmp.write("overlong.txt", "\xC0\xAF");
  CHECK_THAT(error_of([&] { ds::read_text_file(overlong); }), Contains(":1:1: invalid UTF-8"));
  const fs::path bom = tmp.write("bom.csv", "\xEF\xBB\xBFq,a\n");
  CHECK_THAT(error_of([&] { ds::read_text_file(bom); }), Contains(bom.string() + ":1:1") && Contains("byte-order"));
  CHECK(ds::read_text_file(tmp.write("utf8.txt", "caf\xC3\xA9 \xF0\x9F\x98\x80\n")) ==
        "caf\xC3\xA9 \xF0\x9F\x98\x80\n");

  const std::string crlf = "a\r\nb\r\n";
  CHECK_THAT(error_of([&] { ds::split_lines(crlf, "x.txt", ds::LineEnding::LfOnly); }),
             Contains("x.txt:1:2: carriage return"));
  const auto lines = ds::split_lines(crlf, "x.txt", ds::LineEnding::LfOrCrlf);
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].text == "b");
  CHECK(lines[1].number == 2);
  CHECK(ds::split_lines("a\nb", "x.txt", ds::LineEnding::LfOnly).size() == 2);  // no final newline
}

TEST_CASE("jsonl: a malformed line, a blank line, a non-object record") {
  TempDir tmp;
  const fs::path f = tmp.write("broken.jsonl", "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3,,}\n");
  const std::string msg = error_of([&] { ds::read_jsonl(f); });
  CHECK_THAT(msg, StartsWith(f.string() + ":3:") && Contains("malformed JSON"));

  // A number too large for a double is a malformed line too, not a library exception (found by fuzz_datasets).
  const fs::path huge = tmp.write("huge.jsonl", "{\"a\": 1}\n{\"a\": 1e999}\n");
  CHECK_THAT(error_of([&] { ds::read_jsonl(huge); }), StartsWith(huge.string() + ":2:") && Contains("malformed JSON"));

  const fs::path blank = tmp.write("blank.jsonl", "{\"a\": 1}\n\n{\"a\": 2}\n");
  CHECK_THAT(error_of([&] { ds::read_jsonl(blank); }), Contains(blank.string() + ":2: blank line"));

  const fs::path array =
      tmp.write("array.jsonl", "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 0}\n[1]\n");
  CHECK_THAT(error_of([&] { ds::read_choice_jsonl(array, 2); }),
             Contains(array.string() + ":2: expected a JSON object, found array of 1"));

  const fs::path ok = tmp.write("ok.jsonl", "{\"a\": 1}\r\n{\"a\": 2}");  // CRLF and no final newline are fine
  const auto records = ds::read_jsonl(ok);
  REQUIRE(records.size() == 2);
  CHECK(records[1].line == 2);
  CHECK(records[1].value["a"] == 2);
}

TEST_CASE("jsonl typed records: missing field, wrong type, out of range, unexpected field, wrong choice count") {
  TempDir tmp;
  const std::string good = "{\"query\": \"q\", \"choices\": [\"a\", \"b\"], \"gold\": 1}\n";
  auto check = [&](const std::string& second_line, std::optional<std::size_t> n, const std::string& expected) {
    const fs::path f = tmp.write("mc.jsonl", good + second_line + "\n");
    const std::string msg = error_of([&] { ds::read_choice_jsonl(f, n); });
    INFO(msg);
    CHECK_THAT(msg, StartsWith(f.string() + ":2: ") && Contains(expected));
  };
  check(R"({"query": "q", "choices": ["a", "b"]})", 2, "field \"gold\": missing");
  check(R"({"query": "q", "choices": ["a", "b"], "gold": "1"})", 2,
        "field \"gold\": expected an integer, found string \"1\"");
  check(R"({"query": "q", "choices": ["a", "b"], "gold": 1.0})", 2, "field \"gold\": expected an integer");
  check(R"({"query": "q", "choices": ["a", "b"], "gold": 2})", 2, "field \"gold\": expected an integer in [0, 1]");
  check(R"({"query": 7, "choices": ["a", "b"], "gold": 0})", 2, "field \"query\": expected a string, found number");
  check(R"({"query": "q", "choices": ["a", 3], "gold": 0})", 2, "field \"choices\": element 1: expected a string");
  check(R"({"query": "q", "choices": ["a", "b", "c"], "gold": 0})", 2,
        "field \"choices\": expected 2 choices, found 3");
  check(R"({"query": "q", "choices": ["a"], "gold": 0})", std::nullopt, "expected at least 2 choices");
  check(R"({"query": "q", "choices": ["a", "b"], "gold": 0, "label": 1})", 2,
        "field \"label\": unexpected field; expected only query, choices, gold");

  const fs::path wino = tmp.write("w.jsonl", R"({"context_options": ["a"], "continuation": "c", "gold": 0})");
  CHECK_THAT(error_of([&] { ds::read_winogrande_jsonl(wino); }),
             Contains(wino.string() + ":1: field \"context_options\": expected 2 options, found 1"));
  const fs::path lambada = tmp.write("l.jsonl", R"({"context": "a b", "continuation": ""})");
  CHECK_THAT(error_of([&] { ds::read_lambada_jsonl(lambada); }),
             Contains(lambada.string() + ":1: field \"continuation\": expected the last word, found an empty string"));
  const fs::path kv = tmp.write("kv.jsonl", R"({"context": "k: v1", "answer": "v2", "answer_location": 0})");
  CHECK_THAT(error_of([&] { ds::read_kv_retrieval_jsonl(kv); }),
             Contains(kv.string() + ":1: field \"answer\": the answer does not occur in the context"));
}

TEST_CASE("piqa official: label count mismatch and a bad label") {
  TempDir tmp;
  const fs::path jsonl = tmp.write("valid.jsonl",
                                   "{\"goal\": \"g\", \"sol1\": \"a\", \"sol2\": \"b\"}\n"
                                   "{\"goal\": \"h\", \"sol1\": \"c\", \"sol2\": \"d\"}\n");
  const fs::path short_labels = tmp.write("short.lst", "0\n");
  CHECK_THAT(error_of([&] { ds::read_piqa_official(jsonl, short_labels); }),
             Contains(short_labels.string() + " has 1 labels but " + jsonl.string() + " has 2 records"));
  const fs::path bad_labels = tmp.write("bad.lst", "0\n2\n");
  CHECK_THAT(error_of([&] { ds::read_piqa_official(jsonl, bad_labels); }),
             Contains(bad_labels.string() + ":2: expected a label \"0\" or \"1\", found \"2\""));
  const fs::path labels = tmp.write("ok.lst", "1\n0\n");
  const auto records = ds::read_piqa_official(jsonl, labels);
  REQUIRE(records.size() == 2);
  CHECK(records[0].label == 1);
  CHECK(records[1].sol2 == "d");
}

TEST_CASE("hellaswag 6-line: bad gold line, missing label, empty ending, truncated task, CRLF") {
  TempDir tmp;
  const std::string task = "Label: some ctx. he\n2\ne0\ne1\ne2\ne3\n";
  const fs::path ok = tmp.write("ok.txt", task + task);
  const auto records = ds::read_hellaswag_6line(ok);
  REQUIRE(records.size() == 2);
  CHECK(records[1].activity_label == "Label");
  CHECK(records[1].ctx == "some ctx. he");
  CHECK(records[1].gold == 2);
  CHECK(records[1].endings[3] == "e3");

  const fs::path gold = tmp.write("gold.txt", task + "Label: c\n4\ne0\ne1\ne2\ne3\n");
  CHECK_THAT(error_of([&] { ds::read_hellaswag_6line(gold); }),
             Contains(gold.string() + ":8: expected the gold ending index, one digit 0..3") && Contains("\"4\""));
  // A lost line shifts the tasks after it: reported at the first line that no longer fits (here the gold line of
  // task 1 became the context line of task 2).
  const fs::path lost = tmp.write("lost.txt", "Label: c\n1\ne0\ne1\ne2\n" + task + task);
  CHECK_THAT(error_of([&] { ds::read_hellaswag_6line(lost); }),
             Contains(lost.string() + ":7: expected the context line"));
  const fs::path label = tmp.write("label.txt", "no label here\n0\ne0\ne1\ne2\ne3\n");
  CHECK_THAT(error_of([&] { ds::read_hellaswag_6line(label); }),
             Contains(label.string() + ":1: expected the context line \"<activity_label>: <ctx>\""));
  const fs::path empty = tmp.write("empty.txt", "L: c\n0\ne0\n\ne2\ne3\n");
  CHECK_THAT(error_of([&] { ds::read_hellaswag_6line(empty); }), Contains(empty.string() + ":4: ending 1"));
  const fs::path cut = tmp.write("cut.txt", task + "L: c\n0\n");
  CHECK_THAT(error_of([&] { ds::read_hellaswag_6line(cut); }),
             Contains(cut.string() + ":7: file ends inside a task") && Contains("2 of its 6 lines"));
  const fs::path crlf = tmp.write("crlf.txt", "L: c\r\n0\r\ne0\r\ne1\r\ne2\r\ne3\r\n");
  CHECK_THAT(error_of([&] { ds::read_hellaswag_6line(crlf); }), Contains(crlf.string() + ":1:5: carriage return"));
}

TEST_CASE("csv: quoting with embedded commas, quotes and newlines - malformed quoting names line and column") {
  const std::string text =
      "plain,\"with, comma\",\"say \"\"hi\"\"\",\"two\nlines\",\"crlf\r\nkept\"\r\n"
      "next,,\"\",end\n";
  const auto rows = ds::parse_csv(text, "t.csv");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].line == 1);
  CHECK(rows[0].fields == std::vector<std::string>{"plain", "with, comma", "say \"hi\"", "two\nlines", "crlf\r\nkept"});
  CHECK(rows[1].line == 4);  // the first row spans lines 1-3
  CHECK(rows[1].fields == std::vector<std::string>{"next", "", "", "end"});
  CHECK(ds::parse_csv("a,b", "t.csv")[0].fields == std::vector<std::string>{"a", "b"});  // no final newline

  CHECK_THAT(error_of([] { ds::parse_csv("a,b\nc,\"open\nstill open\n", "t.csv"); }),
             Contains("t.csv:2:3: quoted field is not closed before the end of the file"));
  CHECK(ds::parse_csv("a,b\nc,d\"e\n", "t.csv")[1].fields == std::vector<std::string>{"c", "d\"e"});  // as Python
  CHECK_THAT(error_of([] { ds::parse_csv("\"a\"x,b\n", "t.csv"); }),
             Contains("t.csv:1:4: expected ',' or a line break after a closing quote, found 'x'"));
  CHECK_THAT(error_of([] { ds::parse_csv("a\rb\n", "t.csv"); }), Contains("t.csv:1:2: bare carriage return"));
}

TEST_CASE("mmlu csv: column count, answer letter and file name errors name file and line") {
  TempDir tmp;
  const fs::path ok = tmp.write("dev/some_subject_dev.csv", "\"Q, with comma\",a,b,c,d,C\n\"multi\nline\",1,2,3,4,A\n");
  const auto records = ds::read_mmlu_csv(ok, "dev");
  REQUIRE(records.size() == 2);
  CHECK(records[0].subject == "some_subject");
  CHECK(records[0].question == "Q, with comma");
  CHECK(records[0].answer == 2);
  CHECK(records[1].question == "multi\nline");

  const fs::path cols = tmp.write("dev/x_dev.csv", "q,a,b,c,d,A\n\"multi\nline\",a,b,c,D\n");
  CHECK_THAT(error_of([&] { ds::read_mmlu_csv(cols, "dev"); }),
             Contains(cols.string() + ":2: expected 6 columns (question, A, B, C, D, answer), found 5"));
  const fs::path answer = tmp.write("dev/y_dev.csv", "q,a,b,c,d,A\nq,a,b,c,d,E\n");
  CHECK_THAT(error_of([&] { ds::read_mmlu_csv(answer, "dev"); }),
             Contains(answer.string() + ":2: column \"answer\" (6th): expected one of A, B, C, D, found \"E\""));
  CHECK_THAT(error_of([&] { ds::read_mmlu_csv(ok, "test"); }),
             Contains(ok.string() + ": expected an MMLU file named <subject>_test.csv"));
  const fs::path empty = tmp.write("dev/z_dev.csv", "");
  CHECK_THAT(error_of([&] { ds::read_mmlu_csv(empty, "dev"); }), Contains(empty.string() + ": empty file"));
}

TEST_CASE("openbookqa tsv: header, column count, choices and answer key errors name file and line") {
  TempDir tmp;
  const std::string header = "ID\tQuestion Stem\tChoices\tComplete Question\tAnswer Key\n";
  const std::string row = "1-1\tStem (x) is\t(A) a (1) (B) b (C) c (D) d\tStem (x) is (A) a (1) (B) b (C) c (D) d\tD\n";
  const fs::path ok = tmp.write("ok.tsv", header + row);
  const auto records = ds::read_openbookqa_tsv(ok);
  REQUIRE(records.size() == 1);
  CHECK(records[0].question_stem == "Stem (x) is");
  CHECK(records[0].choices == std::array<std::string, 4>{"a (1)", "b", "c", "d"});
  CHECK(records[0].answer == 3);

  const fs::path hdr = tmp.write("hdr.tsv", "ID,Question\n" + row);
  CHECK_THAT(error_of([&] { ds::read_openbookqa_tsv(hdr); }), Contains(hdr.string() + ":1: expected the header"));
  const fs::path cols = tmp.write("cols.tsv", header + row + "1-2\tstem\t(A) a (B) b (C) c (D) d\tB\n");
  CHECK_THAT(error_of([&] { ds::read_openbookqa_tsv(cols); }),
             Contains(cols.string() + ":3: expected 5 tab-separated columns") && Contains("found 4"));
  const fs::path choices = tmp.write("choices.tsv", header + "1-2\tstem\t(A) a (B) b (D) d\tx\tB\n");
  CHECK_THAT(error_of([&] { ds::read_openbookqa_tsv(choices); }),
             Contains(choices.string() + ":2: column \"Choices\": marker \"(C)\" not found"));
  const fs::path key = tmp.write("key.tsv", header + "1-2\tstem\t(A) a (B) b (C) c (D) d\tx\tb\n");
  CHECK_THAT(error_of([&] { ds::read_openbookqa_tsv(key); }),
             Contains(key.string() + ":2: column \"Answer Key\": expected one of A, B, C, D, found \"b\""));
}

TEST_CASE("loaders refuse a dataset of another format or kind") {
  CHECK_THAT(error_of([] { ds::load_choices("hellaswag", kRoot); }), Contains("not a query/choices/gold JSONL"));
  CHECK_THAT(error_of([] { ds::load_mmlu("train", kRoot); }), Contains("expected split \"test\", \"dev\" or \"val\""));
  CHECK_THAT(error_of([] { ds::load_openbookqa("openbookqa_llmfoundry", kRoot); }),
             Contains("expected \"openbookqa\" (test) or \"openbookqa_dev\""));
  CHECK_THAT(error_of([] { ds::load_kv_pairs("kv_pairs_end_8192", kRoot); }), Contains("unknown dataset"));
}
