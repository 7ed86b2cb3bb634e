// The bundled SCROLLS-layout fixtures: the committed files equal a fresh conversion of the bundled sources, the
// conversions on crafted records, and the fixture tasks on the bundled files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/registry.h"
#include "core/error.h"
#include "scrolls/fixtures.h"
#include "scrolls/registry.h"
#include "scrolls/scrolls_reader.h"
#include "scrolls/scrolls_tasks.h"

using namespace supra;
using namespace supra::scrolls;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the committed fixtures equal a fresh conversion of the bundled sources, byte for byte") {
  const fs::path root = fs::path(SUPRA_SOURCE_DIR) / "datasets" / "data";
  const auto files = build_fixtures(root);
  REQUIRE(files.size() == 3);
  const std::vector<std::pair<std::string, size_t>> expected = {{"wikiqa", 179}, {"kv_retrieval", 50}, {"quality_example", 5}};
  for (size_t i = 0; i < files.size(); ++i) {
    INFO(files[i].name);
    CHECK(files[i].name == expected[i].first);
    CHECK(files[i].rows == expected[i].second);
    const std::string committed = slurp(root / kFixturesFolder / files[i].name / "validation.jsonl");
    CHECK(committed.size() == files[i].text.size());
    CHECK(committed == files[i].text);  // regenerate with `supra-eval scrolls-fixtures --out datasets/data/scrolls_fixtures`
    // Registered, and the registry's checksum holds.
    const auto examples = load_bundled_scrolls("scrolls_fixture_" + files[i].name, root);
    CHECK(examples.size() == files[i].rows);
  }
}

TEST_CASE("wikiqa rows: question, blank line, document, the instruction dropped, both source layouts, duplicates once") {
  const std::string after = "Answer the question.\n\nDocument:\n<P> Body one . </P>\n\nmore\nQuestion: when was it? \nAnswer: ";
  const std::string before = "Answer the question.\nQuestion: when was it\n\nDocument:\n<P> Body one . </P>\n\nmore? \nAnswer: ";
  const auto rows = wikiqa_rows({{after, "2016"}, {before, "2016"}, {before, "in 2016"}, {after, "1999"}});
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].id == "wikiqa_1");
  CHECK(rows[0].pid == "wikiqa_1_0");
  CHECK(rows[0].input == "when was it?\n\n<P> Body one . </P>\n\nmore");
  CHECK(rows[0].output == "2016");
  // Line 2 is line 1 in the other layout: dropped. Lines 3 and 4 add references to the same example.
  CHECK(rows[1].id == "wikiqa_1");
  CHECK(rows[1].pid == "wikiqa_1_1");
  CHECK(rows[1].output == "in 2016");
  CHECK(rows[2].pid == "wikiqa_1_2");
  CHECK(rows[2].input == rows[0].input);
  CHECK_THROWS_WITH(wikiqa_rows({{"no markers", "1"}}), Catch::Contains("wikiqa_2k line 1"));
  CHECK_THROWS_WITH(wikiqa_rows({{after, "1"}, {"I\nQuestion: q\n\nDocument:\ndoc\nAnswer: ", "1"}}),
                    Catch::Contains("wikiqa_2k line 2"));
}

TEST_CASE("kv_retrieval rows keep the JSON object exactly and check the answer's place in it") {
  const std::string object = R"({"k1": "v1", "k2": "v2", "k3": "v3"})";
  const std::string context =
      "Extract the value. \n JSON data:\n" + object + "\n\nKey: \"k2\"\nCorresponding Value: ";
  const auto rows = kv_retrieval_rows({{context, "v2", 1}}, 1);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].id == "kv_1");
  CHECK(rows[0].input == "Key: \"k2\"\n\n" + object);
  CHECK(rows[0].output == "v2");
  CHECK_THROWS_WITH(kv_retrieval_rows({{context, "v2", 2}}, 1), Catch::Contains("answer_location"));
  CHECK_THROWS_WITH(kv_retrieval_rows({{context, "v3", 1}}, 1), Catch::Contains("not the answer"));
  CHECK_THROWS_WITH(kv_retrieval_rows({{context, "v2", 1}}, 2), Catch::Contains("2 records asked"));
}

TEST_CASE("html_to_text: paragraphs, line breaks, prettified inline tags, entities") {
  const std::vector<std::string> html = {
      "<!DOCTYPE html PUBLIC \"x\"\n", "    \"y.dtd\">\n", "<html>\n", "<head><title>T</title></head>\n",
      " <h1>\n", "  THE TITLE\n", " </h1>\n", " <p>\n", "  Line one\n", "  <br/>\n", "  Line two\n", " </p>\n",
      " <hr class=\"chap\"/>\n", " <p>\n", "  He read\n", "  <i>\n", "   Anabasis\n", "  </i>\n",
      "  . Then &amp; &#65; <!-- note --> wrapped\n", "text.\n", " </p>\n", "</html>\n"};
  CHECK(html_to_text(html) == "THE TITLE\n\nLine one\nLine two\n\nHe read Anabasis. Then & A wrapped text.");
}

TEST_CASE("quality rows: one per question, options between question and article, the duplicate line skipped") {
  datasets::QualityArticle a;
  a.article_id = 7;
  a.unique_id = "u7";
  a.article_html = {"<p>\n", " Story text.\n", "</p>\n"};
  a.questions = {{"Why? ", {"One ", "Two\n", "Three", " Four "}, 2}, {"How?", {"a", "b", "c", "d"}, 0}};
  const auto rows = quality_rows({a, a});
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].id == "7_q1");
  CHECK(rows[0].input == "Why?\n\n(A) One\n(B) Two\n(C) Three\n(D) Four\n\nStory text.");
  CHECK(rows[0].output == "Three");
  CHECK(rows[1].id == "7_q2");
  CHECK(rows[1].output == "a");
  // The task parses the row back to the same options and gold.
  const QualityOptions q = parse_quality_options(std::string_view(rows[0].input).substr(6), "row");
  CHECK(q.choices == std::vector<std::string>{"One", "Two", "Three", "Four"});
  CHECK(q.article == "Story text.");
  datasets::QualityArticle b = a;
  b.article_html = {"<p>other</p>\n"};
  CHECK_THROWS_WITH(quality_rows({a, b}), Catch::Contains("article 7"));
}

TEST_CASE("fixture tasks: wikiqa (QA, budget 32) and quality_example (quality's scoring) on the bundled files") {
  auto w = tasks::make_task(task_factories(), "wikiqa");
  REQUIRE(w);
  w->load("");
  CHECK(w->size() == 179);
  CHECK(w->data_sha256().empty());  // bundled: fixed by the registry
  CHECK(w->default_truncation() == supra::tasks::TruncationPolicy::DocEnd);
  CHECK(w->dataset() == "scrolls_fixture_wikiqa");
  const auto r = w->requests(0, {});
  REQUIRE(r.size() == 1);
  CHECK(r[0].type == tasks::RequestType::GenerateUntil);
  CHECK(r[0].max_gen_toks == 32);
  CHECK(r[0].parts->suffix == "\n\nQuestion: when was the two child policy introduced in china?\nAnswer:");
  CHECK(r[0].parts->document.rfind("mit ( although it was not mandated by law )", 0) == 0);
  CHECK(w->process(0, {[] {
                     tasks::Response x;
                     x.text = " 2016";
                     return x;
                   }()})
            .at("em")
            .value == 100.0);

  auto q = tasks::make_task(task_factories(), "quality_example");
  REQUIRE(q);
  q->load("");
  REQUIRE(q->size() == 5);
  const auto qr = q->requests(0, {});
  REQUIRE(qr.size() == 4);
  CHECK(qr[0].parts->suffix ==
        "\n\nQuestion: Why does Deirdre get so upset when Blake Past suggests she go to prom with the young man?\nAnswer:");
  CHECK(qr[0].parts->document.rfind("THE GIRL IN HIS MIND\n\nBy ROBERT F. YOUNG\n\n", 0) == 0);
  // Gold of question 1 is option 2 (1-based): only its loglikelihood is high.
  std::vector<tasks::Response> resp(4);
  for (size_t i = 0; i < 4; ++i) resp[i].logprob = i == 1 ? -1.0 : -100.0;
  CHECK(q->process(0, resp).at("acc").value == 1.0);
  // A fixture is its bundled file: it takes no path.
  CHECK_THROWS_WITH(tasks::make_task(task_factories(), "wikiqa:/some/file.jsonl"),
                    Catch::Contains("unknown task \"wikiqa:/some/file.jsonl\""));
}
