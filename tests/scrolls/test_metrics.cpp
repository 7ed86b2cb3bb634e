// SCROLLS metrics against hand-computed values. Each expectation shows its arithmetic.
// Tolerances: every metric is a ratio of token counts computed in double; Approx's default (~1.2e-5 relative) is far
// above its rounding (~1e-16), so a miss is a wrong count, not arithmetic. The one margin(5e-5) is the 4-decimal
// rounding of the printed reference value.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/error.h"
#include "scrolls/metrics.h"

using namespace supra::scrolls;
using Strings = std::vector<std::string>;

TEST_CASE("exact_match after SQuAD normalisation") {
  CHECK(exact_match("The Answer!", "answer") == 1.0);  // both -> "answer"
  CHECK(exact_match("Not mentioned.", "not   mentioned") == 1.0);
  CHECK(exact_match("Entailment", "Contradiction") == 0.0);
  CHECK(exact_match("ΟΔΟΣ", "οδος") == 1.0);  // final sigma: ΟΔΟΣ lowers to οδος, not οδοσ
  CHECK(exact_match("", "the") == 1.0);        // both normalise to ""
  CHECK(max_exact_match("(B) Paris", {"(A) London", "b paris"}) == 1.0);  // "b paris" == "b paris"
  CHECK_THROWS_AS(max_exact_match("x", {}), supra::Error);
}

TEST_CASE("token_f1: SQuAD v1.1 definition") {
  // "the cat sat on the mat" and "a cat sat on a mat" both -> [cat sat on mat]: F1 = 1.
  CHECK(token_f1("the cat sat on the mat", "a cat sat on a mat") == Approx(1.0));

  // Punctuation: [paris france] vs [paris]: common 1, P = 1/2, R = 1/1, F1 = 2(1/2)(1)/(3/2) = 2/3.
  CHECK(token_f1("Paris, France.", "paris") == Approx(2.0 / 3.0));

  // Repeated tokens count as a multiset: [cat cat cat] vs [cat dog]: common = min(3,1) = 1,
  // P = 1/3, R = 1/2, F1 = 2(1/6)/(5/6) = 2/5.
  CHECK(token_f1("cat cat cat", "cat dog") == Approx(0.4));

  // Empty prediction: nothing overlaps -> 0.
  CHECK(token_f1("", "cat") == 0.0);
  // Both normalise to nothing: num_same = 0 -> 0 (SQuAD v1.1, which SCROLLS copies; v2 would say 1).
  CHECK(token_f1("the", "") == 0.0);
  CHECK(token_f1("", "") == 0.0);

  // Non-ASCII: [zürich über] vs [zürich]: P = 1/2, R = 1, F1 = 2/3.
  CHECK(token_f1("Zürich, ÜBER", "zürich") == Approx(2.0 / 3.0));
  // Cyrillic case folds: [москва] vs [москва] -> 1.
  CHECK(token_f1("МОСКВА", "москва") == Approx(1.0));
}

TEST_CASE("max_token_f1 takes the best reference") {
  // pred [blue whale]
  //   vs [whale shark]:      common 1, P = 1/2, R = 1/2, F1 = 1/2
  //   vs [big blue whale]:   common 2, P = 2/2, R = 2/3, F1 = 2(2/3)/(5/3) = 4/5
  CHECK(max_token_f1("blue whale", {"whale shark", "a big blue whale"}) == Approx(0.8));
  CHECK_THROWS_AS(max_token_f1("x", {}), supra::Error);
}

TEST_CASE("rouge_tokenize follows rouge_score's tokenizer") {
  // lower, [^a-z0-9]+ -> " ", split: the apostrophe splits "it's".
  CHECK(rouge_tokenize("Hello, World! It's 2024.") == Strings{"hello", "world", "it", "s", "2024"});
  CHECK(rouge_tokenize("foo_bar\nbaz") == Strings{"foo", "bar", "baz"});
  // Non-ASCII letters are dropped: "café" -> "caf", "Ελλάδα" -> nothing, "naïve" -> "na" "ve".
  CHECK(rouge_tokenize("café Ελλάδα naïve") == Strings{"caf", "na", "ve"});
  // Two characters Python lowers INTO ASCII: KELVIN SIGN -> "k"; U+0130 -> "i" + U+0307, which splits the word.
  CHECK(rouge_tokenize("\u212A İstanbul") == Strings{"k", "i", "stanbul"});
  CHECK(rouge_tokenize("").empty());
  CHECK(rouge_tokenize(" -- ").empty());
}

TEST_CASE("rouge on a near-paraphrase") {
  // target [the cat sat on the mat], prediction [the cat lay on the mat]; 6 tokens each.
  // ROUGE-1: overlap the 2 + cat 1 + on 1 + mat 1 = 5; P = R = 5/6.
  // ROUGE-2: target {the-cat cat-sat sat-on on-the the-mat}, prediction {the-cat cat-lay lay-on on-the the-mat};
  //          overlap 3 of 5 each way: F = 3/5.
  // ROUGE-L: LCS "the cat on the mat" = 5: F = 5/6.
  const RougeF r = rouge("The cat lay on the mat", "The cat sat on the mat.");
  CHECK(r.rouge1 == Approx(5.0 / 6.0));
  CHECK(r.rouge2 == Approx(3.0 / 5.0));
  CHECK(r.rougeL == Approx(5.0 / 6.0));
}

TEST_CASE("rouge: LCS differs from bag-of-words overlap") {
  // Same four words reversed. ROUGE-1: every unigram matches, P = R = 1. ROUGE-2: target {alpha-beta beta-gamma
  // gamma-delta} vs prediction {delta-gamma gamma-beta beta-alpha}: no overlap -> 0. ROUGE-L: the longest common
  // subsequence is one word: P = R = 1/4, F = 1/4.
  const RougeF r = rouge("delta gamma beta alpha", "alpha beta gamma delta");
  CHECK(r.rouge1 == Approx(1.0));
  CHECK(r.rouge2 == 0.0);
  CHECK(r.rougeL == Approx(0.25));
}

TEST_CASE("rouge: repeated tokens use n-gram multisets") {
  // target [the the the cat], prediction [the cat cat].
  // ROUGE-1: overlap min(3,1) + min(1,2) = 2; P = 2/3, R = 2/4; F = 2(1/3)/(7/6) = 4/7.
  // ROUGE-2: target the-the x2, the-cat x1 (3); prediction the-cat, cat-cat (2); overlap 1: P = 1/2, R = 1/3,
  //          F = 2(1/6)/(5/6) = 2/5.
  // ROUGE-L: LCS "the cat" = 2: P = 2/3, R = 2/4: F = 4/7.
  const Strings target{"the", "the", "the", "cat"}, pred{"the", "cat", "cat"};
  const RougeScore r1 = rouge_n(target, pred, 1);
  CHECK(r1.precision == Approx(2.0 / 3.0));
  CHECK(r1.recall == Approx(0.5));
  CHECK(r1.fmeasure == Approx(4.0 / 7.0));
  const RougeScore r2 = rouge_n(target, pred, 2);
  CHECK(r2.precision == Approx(0.5));
  CHECK(r2.recall == Approx(1.0 / 3.0));
  CHECK(r2.fmeasure == Approx(0.4));
  const RougeScore rl = rouge_l(target, pred);
  CHECK(rl.precision == Approx(2.0 / 3.0));
  CHECK(rl.recall == Approx(0.5));
  CHECK(rl.fmeasure == Approx(4.0 / 7.0));
  CHECK_THROWS_AS(rouge_n(target, pred, 0), supra::Error);
}

TEST_CASE("rouge: empty prediction and non-ASCII text") {
  const RougeF empty = rouge("", "the cat");
  CHECK(empty.rouge1 == 0.0);
  CHECK(empty.rouge2 == 0.0);
  CHECK(empty.rougeL == 0.0);
  // prediction [caf au lait] (the é is dropped), target [cafe au lait].
  // ROUGE-1: overlap 2 of 3 -> 2/3. ROUGE-2: {caf-au au-lait} vs {cafe-au au-lait}: 1 of 2 -> 1/2.
  // ROUGE-L: LCS "au lait" = 2 -> 2/3.
  const RougeF r = rouge("café au lait", "cafe au lait");
  CHECK(r.rouge1 == Approx(2.0 / 3.0));
  CHECK(r.rouge2 == Approx(0.5));
  CHECK(r.rougeL == Approx(2.0 / 3.0));
  // A Greek prediction shares no token with anything: it tokenises to nothing.
  CHECK(rouge("Καλημέρα κόσμε", "kalimera kosme").rouge1 == 0.0);
}

TEST_CASE("max_rouge maxes each ROUGE type on its own") {
  // prediction [alpha beta gamma delta]
  //   ref 1 [delta gamma beta alpha]: R1 = 1, R2 = 0, RL = 1/4 (as above)
  //   ref 2 [alpha beta zeta eta]:    R1 overlap 2 of 4 -> 1/2; R2 {alpha-beta} shared, 1 of 3 each way -> 1/3;
  //                                   RL "alpha beta" = 2 of 4 -> 1/2
  // Per type: R1 = 1 (ref 1), R2 = 1/3 (ref 2), RL = 1/2 (ref 2).
  const RougeF r = max_rouge("alpha beta gamma delta", {"delta gamma beta alpha", "alpha beta zeta eta"});
  CHECK(r.rouge1 == Approx(1.0));
  CHECK(r.rouge2 == Approx(1.0 / 3.0));
  CHECK(r.rougeL == Approx(0.5));
  CHECK_THROWS_AS(max_rouge("x", {}), supra::Error);
}

TEST_CASE("task aggregates reproduce the official SCROLLS metric's docstring example") {
  // scrolls.py's own example: predictions ["exact match example", "hello there", "general kenobi"], references
  // [["exact match example"], ["hello", "hi there"], ["commander kenobi"]]. Official output: rouge1 72.2222,
  // rouge2 33.3333, rougeL 72.2222, geometric_mean 55.8136, exact_match 33.3333, f1 72.2222.
  const std::vector<std::string> preds{"exact match example", "hello there", "general kenobi"};
  const std::vector<Strings> refs{{"exact match example"}, {"hello", "hi there"}, {"commander kenobi"}};

  // By hand, per example (R1, R2, RL):
  //   1: identical                                   -> (1, 1, 1)
  //   2: vs "hello": R1 P 1/2 R 1 -> 2/3, no bigram in the reference -> 0, RL 2/3
  //      vs "hi there": R1 1/2, R2 0, RL 1/2                            -> max (2/3, 0, 2/3)
  //   3: vs "commander kenobi": (1/2, 0, 1/2)
  // R1 = 100 (1 + 2/3 + 1/2)/3 = 100 * 13/18 = 72.2222; R2 = 100/3 = 33.3333; RL = 72.2222;
  // geometric mean = (72.2222 * 33.3333 * 72.2222)^(1/3) = 100 (169/972)^(1/3) = 55.8136.
  std::vector<RougeF> per_example;
  for (size_t i = 0; i < preds.size(); ++i) per_example.push_back(max_rouge(preds[i], refs[i]));
  const SummaryScores s = summarization_scores(per_example);
  CHECK(s.rouge1 == Approx(100.0 * 13.0 / 18.0));
  CHECK(s.rouge2 == Approx(100.0 / 3.0));
  CHECK(s.rougeL == Approx(100.0 * 13.0 / 18.0));
  CHECK(s.geometric_mean == Approx(55.8136).margin(5e-5));
  CHECK(s.geometric_mean == Approx(100.0 * std::cbrt(169.0 / 972.0)));

  // EM: 1, 0, 0 -> 33.3333. F1: 1; "hello there" vs "hello" P 1/2 R 1 -> 2/3; 1/2 -> 100 * 13/18 = 72.2222.
  std::vector<double> em, f1;
  for (size_t i = 0; i < preds.size(); ++i) {
    em.push_back(max_exact_match(preds[i], refs[i]));
    f1.push_back(max_token_f1(preds[i], refs[i]));
  }
  CHECK(mean_x100(em) == Approx(100.0 / 3.0));
  CHECK(mean_x100(f1) == Approx(100.0 * 13.0 / 18.0));
}

TEST_CASE("geometric mean, task means and the SCROLLS average") {
  // Two examples (0.5, 0.2, 0.4) and (0.3, 0.1, 0.2): means x 100 = (40, 15, 30); 40 * 15 * 30 = 18000;
  // 18000^(1/3) = 10 * 18^(1/3) = 26.2074...
  const SummaryScores s = summarization_scores({{0.5, 0.2, 0.4}, {0.3, 0.1, 0.2}});
  CHECK(s.rouge1 == Approx(40.0));
  CHECK(s.rouge2 == Approx(15.0));
  CHECK(s.rougeL == Approx(30.0));
  CHECK(s.geometric_mean == Approx(10.0 * std::cbrt(18.0)));
  CHECK(geometric_mean3(2, 4, 8) == Approx(4.0));  // 64^(1/3)
  CHECK(geometric_mean3(10, 0, 50) == 0.0);        // one zero ROUGE zeroes the score
  CHECK(mean_x100({1.0, 0.0, 0.5, 0.5}) == Approx(50.0));  // 100 * 2 / 4
  CHECK(scrolls_average({30.0, 40.0, 20.0}) == Approx(30.0));
  CHECK_THROWS_AS(mean_x100({}), supra::Error);
  CHECK_THROWS_AS(summarization_scores({}), supra::Error);
  CHECK_THROWS_AS(scrolls_average({}), supra::Error);
}

TEST_CASE("rougeL refuses a pair past its bound with both lengths") {
  // kMaxLcsCells = 2^29 LCS steps: 2^15 x 2^14 tokens is at the bound; one more prediction token is over it (refused
  // before any step, so this test is instant). Summary-sized pairs are far below it.
  static_assert(kMaxLcsCells == (1ll << 15) * (1ll << 14));
  const Strings ref(size_t(1) << 14, "a");
  Strings pred((size_t(1) << 15) + 1, "b");
  CHECK_THROWS_WITH(rouge_l(ref, pred), Catch::Contains("32769-token prediction") &&
                                             Catch::Contains("16384-token reference") &&
                                             Catch::Contains("over the limit"));
  const Strings summary(2000, "a");
  CHECK(rouge_l(summary, Strings(4000, "a")).recall == 1.0);
}
