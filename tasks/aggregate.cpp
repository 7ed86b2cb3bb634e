// Task numbers from per-document values, with lm-eval's aggregations and standard errors (lm_eval/api/metrics.py):
//   Mean                value = mean(v);              stderr = mean_stderr = sample_stddev(v) / sqrt(n)  (ddof = 1)
//   Perplexity          value = exp(-mean(v))
//   WeightedPerplexity  value = exp(-sum(v) / sum(w))
//   BitsPerByte         value = -sum(v) / sum(w) / ln 2
// The last three get a bootstrap stderr, lm-eval's bootstrap_stderr(f, xs, iters) with iters = 1000: one chunk,
// rnd = random.Random(0), each resample rnd.choices(xs, k=len(xs)) (xs are (value, weight) pairs for the weighted
// ones), stderr = sample_stddev of the 1000 resampled aggregates. Our draws are CPython's (tasks/py_random.h), so the
// result equals lm-eval run with --bootstrap_iters 1000 (lm-eval's default is 100000 = 100 such chunks seeded 0..99;
// 1000 keeps this fast). lm-eval bootstraps only `perplexity`; it reports no stderr for word/byte perplexity and
// bits_per_byte, for which ours is an addition.
// Undefined numbers are NaN: the value of no documents (or of zero total weight), the stderr of fewer than 2.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "tasks/py_random.h"
#include "tasks/task.h"

namespace supra::tasks {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kBootstrapIters = 1000;
constexpr uint64_t kBootstrapSeed = 0;

double sample_stddev(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs) sum += x;
  const double mu = sum / static_cast<double>(xs.size());
  double ss = 0;
  for (double x : xs) ss += (x - mu) * (x - mu);
  return std::sqrt(ss / static_cast<double>(xs.size() - 1));
}

// f over the documents picked by `idx` (all documents when idx is null).
double aggregate_value(Aggregation how, const std::vector<MetricValue>& values, const std::vector<size_t>* idx) {
  const size_t n = idx ? idx->size() : values.size();
  if (n == 0) return kNaN;
  double sv = 0, sw = 0;
  for (size_t i = 0; i < n; ++i) {
    const MetricValue& m = values[idx ? (*idx)[i] : i];
    sv += m.value;
    sw += m.weight;
  }
  switch (how) {
    case Aggregation::Mean:
      return sv / static_cast<double>(n);
    case Aggregation::Perplexity:
      return std::exp(-(sv / static_cast<double>(n)));
    case Aggregation::WeightedPerplexity:
      return sw == 0 ? kNaN : std::exp(-sv / sw);
    case Aggregation::BitsPerByte:
      return sw == 0 ? kNaN : -(sv / sw) / std::log(2.0);
  }
  fail("aggregate: unknown aggregation {}", static_cast<int>(how));
}

}  // namespace

double bootstrap_stderr(Aggregation how, const std::vector<MetricValue>& values, int iters, uint64_t seed) {
  if (values.empty()) fail("bootstrap_stderr: no values");
  if (iters < 2) fail("bootstrap_stderr: need at least 2 resamples, got {}", iters);
  const size_t n = values.size();
  const int chunk = std::min(1000, iters);
  std::vector<double> res;
  res.reserve(size_t(iters));
  std::vector<size_t> idx(n);
  for (int c = 0; c < iters / chunk; ++c) {
    PyRandom rnd(seed + uint64_t(c));
    for (int it = 0; it < chunk; ++it) {
      for (size_t i = 0; i < n; ++i) idx[i] = rnd.choice_index(n);
      res.push_back(aggregate_value(how, values, &idx));
    }
  }
  return sample_stddev(res);
}

Aggregate aggregate(Aggregation how, const std::vector<MetricValue>& values) {
  Aggregate out;
  out.n = static_cast<int64_t>(values.size());
  out.value = aggregate_value(how, values, nullptr);
  if (values.size() < 2) {
    out.stderr_ = kNaN;
  } else if (how == Aggregation::Mean) {
    std::vector<double> xs;
    xs.reserve(values.size());
    for (const MetricValue& m : values) xs.push_back(m.value);
    out.stderr_ = sample_stddev(xs) / std::sqrt(static_cast<double>(xs.size()));
  } else {
    out.stderr_ = bootstrap_stderr(how, values, kBootstrapIters, kBootstrapSeed);
  }
  return out;
}

}  // namespace supra::tasks
