#pragma once
// The official SCROLLS metrics (tau/scrolls metrics/scrolls.py with its f1.py, exact_match.py and rouge.py; lm-eval's
// SCROLLS tasks call that same metric), reimplemented so our numbers equal theirs.
//
// Per-example scores are fractions in [0, 1]; task aggregates are x 100, as the official metric reports them.
// The official metric rounds every aggregate to 4 decimals; we keep full precision (round when printing).
//
// QA (qasper, narrative_qa): token F1.  Multiple choice (quality, contract_nli): exact match.  Both first apply SQuAD
// normalisation (scrolls/normalize.h) and take, per example, the max over its references; task = 100 * mean.
//
// Summarisation (gov_report, summ_screen_fd, qmsum): ROUGE-1, ROUGE-2, ROUGE-L F-measure from google's rouge_score
// with use_stemmer=False (scrolls.py passes it explicitly). Per example each of the three is maxed over the
// references ON ITS OWN (R1 and RL may come from different references), x 100; task value = mean over examples;
// the task's SCROLLS score = geometric mean of the three task means (not a mean of per-example geometric means).
// SCROLLS's rouge.py first joins nltk.sent_tokenize sentences with "\n"; that only matters for rougeLsum (which the
// score does not use): punkt splits after [.?!] and closing punctuation, never inside a run of [a-z0-9], so the
// tokens below are unchanged by it.
#include <string>
#include <string_view>
#include <vector>

namespace supra::scrolls {

// ---- QA and multiple choice (per reference) ----

// normalize_answer(prediction) == normalize_answer(reference): 1 or 0.
double exact_match(std::string_view prediction, std::string_view reference);

// SQuAD v1.1 f1_score: multiset overlap of normalised whitespace tokens, F1 = 2PR/(P+R). 0 whenever nothing
// overlaps, including when prediction and reference both normalise to nothing (v1.1 returns 0 there; SQuAD v2's
// script would return 1 — SCROLLS uses the v1.1 code).
double token_f1(std::string_view prediction, std::string_view reference);

// ---- ROUGE (rouge_score) ----

// rouge_score tokenize.tokenize(text, stemmer=None): str.lower(), every run of characters outside [a-z0-9] becomes
// a space, split. Letters outside ASCII are therefore DROPPED ("café" -> ["caf"], "Ελλάδα" -> []), exactly as in
// rouge_score; only two non-ASCII characters survive, because Python lowers them into ASCII: U+212A KELVIN SIGN -> k
// and U+0130 -> i (+ a combining dot, which splits the word).
std::vector<std::string> rouge_tokenize(std::string_view text);

struct RougeScore {
  double precision = 0, recall = 0, fmeasure = 0;
};

// _score_ngrams over n-gram multisets: overlap = sum over target n-grams of min(count in target, count in
// prediction); P = overlap / max(#prediction n-grams, 1); R = overlap / max(#target n-grams, 1);
// F = 2PR/(P+R), 0 when P+R = 0. n >= 1.
RougeScore rouge_n(const std::vector<std::string>& target, const std::vector<std::string>& prediction, int n);

// _score_lcs: LCS length of the two token lists; P = lcs/|prediction|, R = lcs/|target|; all 0 when either is empty.
// Its cost is |target| x |prediction| steps: more than kMaxLcsCells (a 32k-token prediction against a 16k-token
// reference, ~1 s) is an error with the two lengths.
inline constexpr long long kMaxLcsCells = 1ll << 29;
RougeScore rouge_l(const std::vector<std::string>& target, const std::vector<std::string>& prediction);

// F-measures of ROUGE-1, ROUGE-2 and ROUGE-L, each in [0, 1].
struct RougeF {
  double rouge1 = 0, rouge2 = 0, rougeL = 0;
};

// RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False).score(target=reference, prediction).
RougeF rouge(std::string_view prediction, std::string_view reference);

// ---- one example: max over its references ----
// metric_max_over_ground_truths. An example with no reference is an error (Python's max([]) raises too): the
// caller must not score test-split rows whose answers are hidden.
double max_exact_match(std::string_view prediction, const std::vector<std::string>& references);
double max_token_f1(std::string_view prediction, const std::vector<std::string>& references);
// Each of rouge1, rouge2, rougeL maxed independently, as scrolls.py's _compute_helper(agg_fn=max) does per key.
RougeF max_rouge(std::string_view prediction, const std::vector<std::string>& references);

// ---- a task ----

// 100 * sum / n, in the order compute_f1 / compute_exact_match accumulate. Error when empty.
double mean_x100(const std::vector<double>& per_example);

struct SummaryScores {
  double rouge1 = 0, rouge2 = 0, rougeL = 0;  // task means, x 100
  double geometric_mean = 0;                  // (rouge1 * rouge2 * rougeL) ** (1/3): the task's SCROLLS score
};
// Aggregates per-example max_rouge results. Error when empty.
SummaryScores summarization_scores(const std::vector<RougeF>& per_example);

// (a * b * c) ** (1/3), computed with pow as Python does (so the last bit agrees).
double geometric_mean3(double a, double b, double c);

// The SCROLLS benchmark score: the arithmetic mean of the tasks' SCROLLS scores (F1 for qasper and narrative_qa,
// EM for quality and contract_nli, ROUGE geometric mean for the summarisation tasks). Error when empty.
double scrolls_average(const std::vector<double>& task_scores);

}  // namespace supra::scrolls
