#pragma once
// Bootstrap standard error of a task score that is a mean of per-example scores (F1, EM, ROUGE).
//
// It follows lm-eval's bootstrap_stderr(f=mean, xs, iters): resamples are drawn in chunks of min(1000, iters);
// chunk c uses random.Random(seed + c) and draws each resample with rnd.choices(xs, k=len(xs)); the estimate is
// the sample standard deviation (n - 1) of the resampled means. With seed = 0 (lm-eval's chunk seeds are 0, 1, ...)
// our value equals lm-eval's for the same xs and iters; like lm-eval, iters that are not a multiple of the chunk
// size are rounded down to whole chunks.
#include <cstdint>
#include <vector>

namespace supra::scrolls {

// Standard error of mean(xs), in the units of xs (pass per-example scores x 100 to get a stderr for a x 100 score).
// Errors: fewer than 2 resamples; empty xs.
double bootstrap_stderr_of_mean(const std::vector<double>& xs, int iters = 1000, uint64_t seed = 0);

}  // namespace supra::scrolls
