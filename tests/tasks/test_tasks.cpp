// Every NLU task on a real record of the bundled data: the exact context and continuation strings (written here by
// hand from EVALUATION.md section 4 and lm-eval's task definitions), the gold index, and acc / acc_norm on
// hand-built responses where the two disagree.
// Tolerances: metrics are double-precision formulas of a few operations on exact hand-built responses; Approx's
// 1e-14 or default (~1.2e-5 relative) is far above their rounding (~1e-16), so a miss is a wrong formula.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tasks/multiple_choice.h"
#include "tasks/task.h"
#include "tasks/task_factory.h"

using namespace supra::tasks;

namespace {

const std::string kData = SUPRA_SOURCE_DIR "/datasets/data";

std::unique_ptr<Task> loaded(const std::string& name) {
  std::unique_ptr<Task> t = make_task(task_factories(), name);
  t->load(kData);
  return t;
}

std::vector<Response> lls(const std::vector<double>& xs) {
  std::vector<Response> out;
  for (double x : xs) out.push_back({x, false, "", 0});
  return out;
}

// The requests of a multiple-choice doc: one per choice, same context, continuation " " + choice.
void check_choice_requests(const std::vector<Request>& rs, const std::string& context,
                           const std::vector<std::string>& continuations) {
  REQUIRE(rs.size() == continuations.size());
  for (size_t i = 0; i < rs.size(); ++i) {
    CHECK(rs[i].type == RequestType::Loglikelihood);
    CHECK(rs[i].context == context);
    CHECK(rs[i].continuation == continuations[i]);
  }
}

double metric(const DocMetrics& m, const std::string& name) {
  const auto it = m.find(name);
  REQUIRE(it != m.end());
  return it->second.value;
}

const TaskSettings kZeroShot{};

}  // namespace

TEST_CASE("hellaswag: ctx_b capitalised, lm-eval preprocess, gold, acc vs acc_norm") {
  const auto t = loaded("hellaswag");
  CHECK(t->size() == 10042);
  CHECK(t->dataset() == "hellaswag");
  CHECK(t->split() == "validation");
  const std::vector<Request> rs = t->requests(0, kZeroShot);
  check_choice_requests(rs, "Roof shingle removal: A man is sitting on a roof. He",
                        {" is using wrap to wrap a pair of skis.", " is ripping level tiles off.",
                         " is holding a rubik's cube.", " starts pulling up roofing on a roof."});
  auto& mc = dynamic_cast<ChoiceTask&>(*t);
  CHECK(mc.doc(0).gold == 3);

  // A multi-word ctx_b ("the child and a different man") becomes "The child and a different man".
  CHECK(t->requests(2, kZeroShot)[0].context ==
        "Canoeing: Two women in a child are shown in a canoe while a man pulls the canoe while standing in the water, "
        "with other individuals visible in the background. The child and a different man");

  // WikiHow: ctx ends with a full sentence (ctx_b empty); lm-eval's re.sub(r"\[.*?\]", "") removes what the
  // extractor left ("[www.kiddio.org]") and the double space closes up.
  CHECK(t->requests(3505, kZeroShot)[0].context ==
        "Family Life: How to entertain a toddler. Ask the toddler what he or she would like to do instead of doing "
        "what you would like to do.. Visit a site like to find loads of creative activities for toddlers and "
        "preschoolers.. Choose small, simple games like candy land or chutes and ladders.");
  CHECK(mc.doc(3505).gold == 1);
  CHECK(t->requests(4016, kZeroShot)[3].continuation ==
        " You can also search the internet for events in your area. Try searching for \" local events in .");
  // A '[' without a closing ']' stays; "  " inside an ending becomes " ".
  CHECK(t->requests(7179, kZeroShot)[2].continuation ==
        " [ now you should have a few people who aren't too careful about their own wikipedia entries and it gives "
        "them lots of expansions to share with friends and create articles as well.. Have a forum, newsletter, and "
        "web page.");
  CHECK(t->requests(4121, kZeroShot)[1].continuation ==
        " Stop when you are not overly tired and give yourself a break before going to bed. Do not be embarrassed by "
        "physical exertion.");

  // Choice lengths 37, 27, 26, 36 characters. Total ll favours choice 2 (wrong); per character the gold choice 3
  // wins: -20/26 = -0.769 < -25/36 = -0.694.
  const DocMetrics m = t->process(0, lls({-40, -40, -20, -25}));
  CHECK(metric(m, "acc") == 0.0);
  CHECK(metric(m, "acc_norm") == 1.0);
  CHECK(metric(m, "acc_bytes") == 1.0);
  const DocMetrics m2 = t->process(0, lls({-40, -40, -30, -25}));
  CHECK(metric(m2, "acc") == 1.0);
  CHECK(metric(m2, "acc_norm") == 1.0);
  CHECK_THROWS_WITH(t->process(0, lls({-1, -2})), Catch::Contains("2 responses for 4 choices"));
  CHECK_THROWS_WITH(t->requests(10042, kZeroShot), Catch::Contains("outside 0..10041"));
}

TEST_CASE("piqa: Question/Answer prompt, solutions as stored") {
  const auto t = loaded("piqa");
  CHECK(t->size() == 1838);
  check_choice_requests(
      t->requests(0, kZeroShot), "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:",
      {" Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips, you will "
       "also need to supply it with a water bottle and a food dish.",
       " Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, you will "
       "also need to supply it with a water bottle and a food dish."});
  auto& mc = dynamic_cast<ChoiceTask&>(*t);
  CHECK(mc.doc(0).gold == 0);
  // Trailing and doubled spaces of the official file are kept.
  check_choice_requests(t->requests(1, kZeroShot), "Question: dresser\nAnswer:",
                        {" replace drawer with bobby pin ", " finish, woodgrain with  bobby pin "});
  CHECK(mc.doc(1).gold == 1);
  // doc 1: choice 0 has 30 characters, choice 1 has 34. ll -6 vs -6.5: acc picks 0 (wrong), per character
  // -0.2 vs -0.191 picks the gold 1.
  const DocMetrics m = t->process(1, lls({-6.0, -6.5}));
  CHECK(metric(m, "acc") == 0.0);
  CHECK(metric(m, "acc_norm") == 1.0);
}

TEST_CASE("arc_easy / arc_challenge: Question/Answer prompt, choice texts") {
  const auto e = loaded("arc_easy");
  CHECK(e->size() == 2376);
  CHECK(e->split() == "test");
  check_choice_requests(
      e->requests(0, kZeroShot),
      "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:",
      {" Sunlight is the source of energy for nearly all ecosystems.",
       " Most ecosystems are found on land instead of in water.",
       " Carbon dioxide is more available than other gases.", " The producers in all ecosystems are plants."});
  CHECK(dynamic_cast<ChoiceTask&>(*e).doc(0).gold == 0);

  const auto c = loaded("arc_challenge");
  CHECK(c->size() == 1172);
  check_choice_requests(c->requests(0, kZeroShot),
                        "Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which "
                        "is the most likely effect of this increase in rotation?\nAnswer:",
                        {" Planetary density will decrease.", " Planetary years will become longer.",
                         " Planetary days will become shorter.", " Planetary gravity will become stronger."});
  CHECK(dynamic_cast<ChoiceTask&>(*c).doc(0).gold == 2);
  // Lengths 32, 35, 35, 39. The gold (2) loses on total ll to choice 0 but wins per character:
  // -7.4/32 = -0.231 vs -7.7/35 = -0.22.
  const DocMetrics m = c->process(0, lls({-7.4, -9.0, -7.7, -12.0}));
  CHECK(metric(m, "acc") == 0.0);
  CHECK(metric(m, "acc_norm") == 1.0);
}

TEST_CASE("winogrande: partial scoring, two contexts, one continuation") {
  const auto t = loaded("winogrande");
  CHECK(t->size() == 1267);
  const std::vector<Request> rs = t->requests(0, kZeroShot);
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].context == "Sarah was a much better surgeon than Maria so Sarah");
  CHECK(rs[1].context == "Sarah was a much better surgeon than Maria so Maria");
  CHECK(rs[0].continuation == " always got the easier cases.");
  CHECK(rs[1].continuation == " always got the easier cases.");
  // gold = 1 (Maria): the larger ll under the second context is right.
  CHECK(metric(t->process(0, lls({-12.0, -11.0})), "acc") == 1.0);
  CHECK(metric(t->process(0, lls({-11.0, -12.0})), "acc") == 0.0);
  CHECK(metric(t->process(1, lls({-11.0, -12.0})), "acc") == 1.0);  // doc 1: "harder cases", gold 0
  CHECK(t->metrics().size() == 1);
}

TEST_CASE("lambada_openai: context without the last word, continuation ' ' + last word, perplexity and acc") {
  const auto t = loaded("lambada_openai");
  CHECK(t->size() == 5153);
  const std::vector<Request> rs = t->requests(3604, kZeroShot);
  REQUIRE(rs.size() == 1);
  CHECK(rs[0].type == RequestType::Loglikelihood);
  CHECK(rs[0].context ==
        "\u201cHappy to comply,\u201d I said.\n\u201cSo, you\u2019re Ben. Ben what?\u201d \n\u201cNo, I\u2019m "
        "Matt\u2026Matt Casale. I live down the street.\u201d\n\u201cWasn\u2019t he just calling you \u2018Ben\u2019 "
        "just now?\u201d\n\u201cNo, \u2018Bean\u2019\u2014it\u2019s a");
  CHECK(rs[0].continuation == " nickname");
  // The record whose last "word" (split on ' ') starts with a blank line.
  CHECK(t->requests(4462, kZeroShot)[0].continuation == " \n\nrecorder");

  // Per doc: perplexity carries the ll, acc the greedy flag; the task number is exp(-mean ll).
  const DocMetrics a = t->process(0, {{-2.0, true, "", 0}});
  const DocMetrics b = t->process(1, {{-4.0, false, "", 0}});
  CHECK(metric(a, "perplexity") == -2.0);
  CHECK(metric(a, "acc") == 1.0);
  CHECK(metric(b, "acc") == 0.0);
  const std::vector<MetricSpec> specs = t->metrics();
  REQUIRE(specs.size() == 2);
  CHECK(specs[0].name == "perplexity");
  CHECK(specs[0].aggregation == Aggregation::Perplexity);
  CHECK_FALSE(specs[0].higher_is_better);
  const Aggregate ppl = aggregate(Aggregation::Perplexity, {a.at("perplexity"), b.at("perplexity")});
  CHECK(ppl.value == Approx(std::exp(3.0)).epsilon(1e-14));
  CHECK(ppl.n == 2);
  const Aggregate acc = aggregate(Aggregation::Mean, {a.at("acc"), b.at("acc")});
  CHECK(acc.value == 0.5);
}

TEST_CASE("boolq: passage, question with '?', Answer:, no/yes") {
  const auto t = loaded("boolq");
  CHECK(t->size() == 3270);
  check_choice_requests(t->requests(2644, kZeroShot),
                        "The season is set for release in 2019.\nQuestion: are they going to make a punisher season "
                        "2?\nAnswer:",
                        {" no", " yes"});
  CHECK(dynamic_cast<ChoiceTask&>(*t).doc(2644).gold == 1);
  CHECK(metric(t->process(2644, lls({-1.0, -0.5})), "acc") == 1.0);
  CHECK(t->metrics().size() == 1);  // acc only
}

TEST_CASE("copa: premise + connector, lower-cased alternatives after two spaces (lm-eval v0.4)") {
  const auto t = loaded("copa");
  CHECK(t->size() == 100);
  check_choice_requests(t->requests(0, kZeroShot), "The man turned on the faucet therefore",
                        {"  the toilet filled with water.", "  water flowed from the spout."});
  CHECK(dynamic_cast<ChoiceTask&>(*t).doc(0).gold == 1);
  check_choice_requests(t->requests(4, kZeroShot), "The hamburger meat browned because",
                        {"  the cook froze it.", "  the cook grilled it."});
  // "I" at the start of an alternative is lower-cased too, as convert_choice does.
  CHECK(t->requests(3, kZeroShot)[0].continuation == "  i swept the floor in the unoccupied room.");
  CHECK(metric(t->process(0, lls({-5.0, -4.0})), "acc") == 1.0);
}

TEST_CASE("openbookqa: question stem, choice texts") {
  const auto t = loaded("openbookqa");
  CHECK(t->size() == 500);
  check_choice_requests(t->requests(0, kZeroShot),
                        "A person wants to start saving money so that they can afford a nice vacation at the end of "
                        "the year. After looking over their budget and expenses, they decide the best way to save "
                        "money is to",
                        {" make more phone calls", " quit eating lunch out", " buy less with monopoly money",
                         " have lunch with friends"});
  CHECK(dynamic_cast<ChoiceTask&>(*t).doc(0).gold == 1);
  // Lengths 21, 21, 28, 23. The short gold (1) has the best total ll; per character the long choice 2 wins:
  // -5.5/28 = -0.196 > -5/21 = -0.238.
  const DocMetrics m = t->process(0, lls({-9.0, -5.0, -5.5, -9.0}));
  CHECK(metric(m, "acc") == 1.0);
  CHECK(metric(m, "acc_norm") == 0.0);
  // Few-shot examples come from the validation split (dev.tsv), nothing excluded: for test doc 7 the dev rows
  // random.Random((7 << 64) | 1234).sample(range(500), 2) = [361, 240], each stem + " " + its correct choice.
  const std::vector<Request> two = t->requests(7, TaskSettings{2, 1234});
  CHECK(two[1].context ==
        "A scale can let you know if the dog needs to lose a few pounds\n\n"
        "What vitamins help heal bones? vitamin D meals\n\n"
        "The middle of the day usually involves the bright star nearest to the earth to be straight overhead why?");
  CHECK(two[1].continuation == " human planet rotation");
}

TEST_CASE("mmlu: 5-shot first_n prompt of a real doc, description once, question stripped") {
  const auto t = loaded("mmlu_world_religions");
  CHECK(t->size() == 171);
  CHECK(t->default_shots() == 5);
  const TaskSettings five{5, 1234};
  const std::string expected =
      "The following are multiple choice questions (with answers) about world religions.\n\n"
      "What is the sign of the covenant for Jewish males?\nA. The rainbow\nB. Circumcision\nC. A son\nD. Bar "
      "mitzvah\nAnswer: B\n\n"
      "What is the Second Gem in Buddhism?\nA. The Dharma\nB. The Sangha\nC. The Buddha\nD. The Bodhisattva\nAnswer: "
      "A\n\n"
      "In which dynasty was the \"Mandate of Heaven\" developed to legitimatize the new rulers?\nA. Shang\nB. "
      "Zhou\nC. Han\nD. Xia\nAnswer: B\n\n"
      "Which Japanese government promoted a kind of national cult based on the emperor and his associations with "
      "kami?\nA. Honen\nB. Tanaka\nC. Tokugawa\nD. Meiji\nAnswer: D\n\n"
      "How can the Upanishads be characterized?\nA. Ritual texts\nB. Philosophical texts\nC. Hymns\nD. Origin "
      "stories\nAnswer: B\n\n"
      "What can murtis be translated as?\nA. Offerings\nB. Prayers\nC. Apparitions\nD. Idols\nAnswer:";
  check_choice_requests(t->requests(0, five), expected, {" A", " B", " C", " D"});
  CHECK(dynamic_cast<ChoiceTask&>(*t).doc(0).gold == 3);
  // 0-shot keeps the description.
  CHECK(t->requests(0, kZeroShot)[0].context ==
        "The following are multiple choice questions (with answers) about world religions.\n\nWhat can murtis be "
        "translated as?\nA. Offerings\nB. Prayers\nC. Apparitions\nD. Idols\nAnswer:");
  CHECK_THROWS_WITH(t->requests(0, TaskSettings{6, 1234}), Catch::Contains("only 5 dev examples"));
  CHECK(metric(t->process(0, lls({-3, -2, -4, -1})), "acc") == 1.0);
  CHECK(t->metrics().size() == 1);

  // The group: every subject's test rows, subjects alphabetical; world_religions comes last.
  const auto g = loaded("mmlu");
  CHECK(g->size() == 14079);
  CHECK(g->requests(14079 - 171, five)[0].context == expected);
  CHECK(g->requests(0, kZeroShot)[0].context.starts_with(
      "The following are multiple choice questions (with answers) about abstract algebra.\n\n"));
  CHECK(g->description().find("PRE-RELEASE") != std::string::npos);
}

TEST_CASE("few-shot prompts: shots joined by blank lines, seeded, never the evaluated doc") {
  const auto t = loaded("copa");
  const TaskSettings two{2, 1234};
  // random.Random((12 << 64) | 1234).sample(range(100), 3) = [82, 27, 49]; 12 is not among them, so the first two.
  // Each shot = text + " " + target, COPA's target being " " + alternative: two spaces, as in lm-eval v0.4.
  const std::vector<Request> rs = t->requests(12, two);
  REQUIRE(rs.size() == 2);
  CHECK(rs[0].context ==
        "The jewelry thieves were caught therefore  the stolen jewelry was returned to its owners.\n\n"
        "The driver turned on the car's headlights because  the sun went down.\n\n"
        "My computer crashed therefore");
  CHECK(rs[1].context == rs[0].context);
  CHECK(t->requests(12, two)[0].context == rs[0].context);  // deterministic
  // Doc 9 draws [9, 2, 90]: itself first, so it is dropped and the third draw is used.
  CHECK(t->requests(9, two)[0].context ==
        "The woman retired therefore  she received her pension.\n\n"
        "I lit the candle therefore  wax dripped off the candle.\n\n"
        "The man drank heavily at the party therefore");
  CHECK(t->requests(13, two)[0].context != rs[0].context);
  CHECK(t->requests(12, TaskSettings{2, 99})[0].context != rs[0].context);
  CHECK_THROWS_WITH(t->requests(0, TaskSettings{100, 1234}), Catch::Contains("only 99 examples"));

  const auto w = loaded("winogrande");
  const std::vector<Request> wr = w->requests(0, TaskSettings{1, 1234});
  REQUIRE(wr.size() == 2);
  const size_t cut = wr[0].context.rfind("\n\n");
  REQUIRE(cut != std::string::npos);
  CHECK(wr[0].context.substr(cut) == "\n\nSarah was a much better surgeon than Maria so Sarah");
  CHECK(wr[1].context.substr(0, cut) == wr[0].context.substr(0, cut));
}

TEST_CASE("choice metrics: characters are code points, bytes are UTF-8 bytes, numpy argmax ties") {
  // "ééé" is 3 characters and 6 bytes; "abcd" 4 and 4. ll -3.3 vs -4.0: per char -1.1 vs -1.0 (choice 1), per
  // byte -0.55 vs -1.0 (choice 0).
  const DocMetrics m = choice_metrics("t", 0, lls({-3.3, -4.0}), {"\u00e9\u00e9\u00e9", "abcd"}, 0, true);
  CHECK(metric(m, "acc") == 1.0);
  CHECK(metric(m, "acc_norm") == 0.0);
  CHECK(metric(m, "acc_bytes") == 1.0);
  CHECK(np_argmax({-1.0, -1.0, -2.0}) == 0);  // first maximum
  CHECK(np_argmax({-1.0, std::nan(""), -0.5, std::nan("")}) == 1);
}
