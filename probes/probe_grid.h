#pragma once
// What the synthetic needle probes (passkey, kv_retrieval) share: the depth grid, and sizing a haystack to the
// context length with the model's own tokenizer (EVALUATION.md section 7).
#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace supra::probes {

// Depths of the needle, in percent of the haystack placed before it.
inline constexpr std::array<int, 5> kProbeDepths = {0, 25, 50, 75, 100};
// Documents per depth: 25 documents per run, enough for a 20%-step accuracy per depth cell and cheap at 16k.
inline constexpr int64_t kProbeSamplesPerDepth = 5;
inline constexpr int64_t kProbeDocs = int64_t(kProbeDepths.size()) * kProbeSamplesPerDepth;

// Document d has depth kProbeDepths[d % 5] and sample index d / 5, so `--limit` keeps every depth.
struct ProbeCell {
  int depth = 0;
  int64_t sample = 0;
};
ProbeCell probe_cell(int64_t doc, const std::string& task);  // error naming the task when doc is out of range

// Metric name of a depth cell: "acc_d25" (read by the reports' v_passkey view).
std::string depth_metric(const std::string& metric, int depth);

// Haystack items before the needle when `n` items surround it: round(n * depth / 100).
int64_t items_before(int64_t n, int depth);

// The largest n in [0, n_max] with tokens(n) <= budget, by bisection (tokens(n) grows with n). 0 when even n = 0
// does not fit: the prompt is then cut by the harness and the sample records what was dropped.
int64_t largest_fitting(int64_t n_max, int64_t budget, const std::function<int64_t(int64_t)>& tokens);

}  // namespace supra::probes
