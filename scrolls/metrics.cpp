#include "scrolls/metrics.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "core/error.h"
#include "scrolls/normalize.h"
#include "scrolls/unicode.h"

namespace supra::scrolls {
namespace {

// scoring.fmeasure in rouge_score; also the SQuAD F1 once precision and recall are known.
double fmeasure(double precision, double recall) {
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

void require_references(const std::vector<std::string>& references, const char* metric) {
  if (references.empty()) fail("{}: an example has no reference to score against (hidden test answers?)", metric);
}

// Tokens are [a-z0-9]+, so joining with a space names each n-gram unambiguously.
std::unordered_map<std::string, int> ngram_counts(const std::vector<std::string>& tokens, int n) {
  std::unordered_map<std::string, int> counts;
  if (tokens.size() < size_t(n)) return counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    std::string key = tokens[i];
    for (int k = 1; k < n; ++k) key.append(" ").append(tokens[i + k]);
    ++counts[key];
  }
  return counts;
}

}  // namespace

double exact_match(std::string_view prediction, std::string_view reference) {
  return squad_normalize(prediction) == squad_normalize(reference) ? 1.0 : 0.0;
}

double token_f1(std::string_view prediction, std::string_view reference) {
  const std::vector<std::string> pred = squad_tokens(prediction);
  const std::vector<std::string> ref = squad_tokens(reference);
  // sum((Counter(pred) & Counter(ref)).values())
  std::unordered_map<std::string_view, int> ref_counts;
  for (const std::string& t : ref) ++ref_counts[t];
  int num_same = 0;
  for (const std::string& t : pred) {
    auto it = ref_counts.find(t);
    if (it != ref_counts.end() && it->second > 0) {
      --it->second;
      ++num_same;
    }
  }
  if (num_same == 0) return 0.0;  // also covers empty prediction and/or empty reference
  const double precision = 1.0 * num_same / double(pred.size());
  const double recall = 1.0 * num_same / double(ref.size());
  return (2 * precision * recall) / (precision + recall);
}

std::vector<std::string> rouge_tokenize(std::string_view text) {
  const std::u32string lowered = unicode::lower(unicode::decode_utf8(text));
  std::vector<std::string> tokens;
  std::string current;
  for (char32_t cp : lowered) {
    if ((cp >= U'a' && cp <= U'z') || (cp >= U'0' && cp <= U'9')) {
      current.push_back(char(cp));
    } else if (!current.empty()) {
      tokens.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) tokens.push_back(std::move(current));
  return tokens;
}

RougeScore rouge_n(const std::vector<std::string>& target, const std::vector<std::string>& prediction, int n) {
  if (n < 1) fail("rouge_n: n must be >= 1, got {}", n);
  const auto target_ngrams = ngram_counts(target, n);
  const auto prediction_ngrams = ngram_counts(prediction, n);
  long long overlap = 0, target_total = 0, prediction_total = 0;
  for (const auto& [gram, count] : target_ngrams) {
    target_total += count;
    auto it = prediction_ngrams.find(gram);
    if (it != prediction_ngrams.end()) overlap += std::min(count, it->second);
  }
  for (const auto& [gram, count] : prediction_ngrams) prediction_total += count;
  RougeScore s;
  s.precision = double(overlap) / double(std::max(prediction_total, 1LL));
  s.recall = double(overlap) / double(std::max(target_total, 1LL));
  s.fmeasure = fmeasure(s.precision, s.recall);
  return s;
}

RougeScore rouge_l(const std::vector<std::string>& target, const std::vector<std::string>& prediction) {
  if (target.empty() || prediction.empty()) return {};
  // Time grows with the product of the lengths: a pair far past any summary (a megabyte each) is refused rather
  // than run for hours.
  if (double(target.size()) * double(prediction.size()) > double(kMaxLcsCells))
    fail("rougeL: a {}-token prediction against a {}-token reference needs {:.3g} LCS steps, over the limit of {:.3g} "
         "(about {} tokens each); SCROLLS summaries are a few thousand tokens",
         prediction.size(), target.size(), double(target.size()) * double(prediction.size()), double(kMaxLcsCells),
         size_t(std::sqrt(double(kMaxLcsCells))));
  // Classic LCS dynamic programme, kept to two rows: summaries reach ~1000 tokens, a full table would be ~1M cells.
  std::vector<size_t> prev(prediction.size() + 1, 0), cur(prediction.size() + 1, 0);
  for (size_t i = 1; i <= target.size(); ++i) {
    for (size_t j = 1; j <= prediction.size(); ++j) {
      cur[j] = target[i - 1] == prediction[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    }
    std::swap(prev, cur);
  }
  const double lcs = double(prev[prediction.size()]);
  RougeScore s;
  s.precision = lcs / double(prediction.size());
  s.recall = lcs / double(target.size());
  s.fmeasure = fmeasure(s.precision, s.recall);
  return s;
}

RougeF rouge(std::string_view prediction, std::string_view reference) {
  const std::vector<std::string> target = rouge_tokenize(reference);
  const std::vector<std::string> pred = rouge_tokenize(prediction);
  return {rouge_n(target, pred, 1).fmeasure, rouge_n(target, pred, 2).fmeasure, rouge_l(target, pred).fmeasure};
}

double max_exact_match(std::string_view prediction, const std::vector<std::string>& references) {
  require_references(references, "exact_match");
  double best = 0;
  for (const std::string& r : references) best = std::max(best, exact_match(prediction, r));
  return best;
}

double max_token_f1(std::string_view prediction, const std::vector<std::string>& references) {
  require_references(references, "f1");
  double best = 0;
  for (const std::string& r : references) best = std::max(best, token_f1(prediction, r));
  return best;
}

RougeF max_rouge(std::string_view prediction, const std::vector<std::string>& references) {
  require_references(references, "rouge");
  RougeF best;
  for (const std::string& r : references) {
    const RougeF s = rouge(prediction, r);
    best.rouge1 = std::max(best.rouge1, s.rouge1);
    best.rouge2 = std::max(best.rouge2, s.rouge2);
    best.rougeL = std::max(best.rougeL, s.rougeL);
  }
  return best;
}

double mean_x100(const std::vector<double>& per_example) {
  if (per_example.empty()) fail("mean_x100: no examples to average");
  double sum = 0;
  for (double x : per_example) sum += x;
  return 100.0 * sum / double(per_example.size());
}

SummaryScores summarization_scores(const std::vector<RougeF>& per_example) {
  if (per_example.empty()) fail("summarization_scores: no examples to average");
  // scrolls.py scales each example's F-measure by 100 first, then takes sum / len.
  SummaryScores s;
  for (const RougeF& r : per_example) {
    s.rouge1 += r.rouge1 * 100;
    s.rouge2 += r.rouge2 * 100;
    s.rougeL += r.rougeL * 100;
  }
  const double n = double(per_example.size());
  s.rouge1 /= n;
  s.rouge2 /= n;
  s.rougeL /= n;
  s.geometric_mean = geometric_mean3(s.rouge1, s.rouge2, s.rougeL);
  return s;
}

double geometric_mean3(double a, double b, double c) { return std::pow(a * b * c, 1.0 / 3.0); }

double scrolls_average(const std::vector<double>& task_scores) {
  if (task_scores.empty()) fail("scrolls_average: no task scores to average");
  double sum = 0;
  for (double x : task_scores) sum += x;
  return sum / double(task_scores.size());
}

}  // namespace supra::scrolls
