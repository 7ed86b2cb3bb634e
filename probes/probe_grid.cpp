#include "probes/probe_grid.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace supra::probes {

ProbeCell probe_cell(int64_t doc, const std::string& task) {
  if (doc < 0 || doc >= kProbeDocs) fail("task {}: doc {} is outside 0..{}", task, doc, kProbeDocs - 1);
  return {kProbeDepths[size_t(doc % int64_t(kProbeDepths.size()))], doc / int64_t(kProbeDepths.size())};
}

std::string depth_metric(const std::string& metric, int depth) { return fmt::format("{}_d{}", metric, depth); }

int64_t items_before(int64_t n, int depth) { return int64_t(std::llround(double(n) * depth / 100.0)); }

int64_t largest_fitting(int64_t n_max, int64_t budget, const std::function<int64_t(int64_t)>& tokens) {
  int64_t lo = 0, hi = n_max;  // invariant: answer in [lo, hi]; tokens(lo) <= budget unless lo == 0
  if (tokens(hi) <= budget) return hi;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (tokens(mid) <= budget)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

}  // namespace supra::probes
