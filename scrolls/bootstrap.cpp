#include "scrolls/bootstrap.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "tasks/py_random.h"

namespace supra::scrolls {
namespace {

// lm-eval's mean(): sum(arr) / len(arr), summed left to right.
double mean_of(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / double(v.size());
}

}  // namespace

double bootstrap_stderr_of_mean(const std::vector<double>& xs, int iters, uint64_t seed) {
  if (xs.empty()) fail("bootstrap_stderr_of_mean: no per-example scores");
  if (iters < 2) fail("bootstrap_stderr_of_mean: need at least 2 resamples, got {}", iters);
  const int chunk = std::min(1000, iters);
  const int chunks = iters / chunk;

  std::vector<double> means;
  means.reserve(size_t(chunks) * size_t(chunk));
  std::vector<double> resample(xs.size());
  for (int c = 0; c < chunks; ++c) {
    tasks::PyRandom rnd(seed + uint64_t(c));  // the same Python-compatible generator the NLU tasks use
    for (int r = 0; r < chunk; ++r) {
      for (double& x : resample) x = xs[rnd.choice_index(xs.size())];
      means.push_back(mean_of(resample));
    }
  }
  // lm-eval's sample_stddev: sqrt(sum((x - mu) ** 2) / (n - 1)).
  const double mu = mean_of(means);
  double ss = 0;
  for (double m : means) ss += (m - mu) * (m - mu);
  return std::sqrt(ss / double(means.size() - 1));
}

}  // namespace supra::scrolls
