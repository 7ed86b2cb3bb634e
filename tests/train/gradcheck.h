#pragma once
// Finite-difference gradient checks in double precision. An op is checked through the scalar
// loss = sum(out * R) for a fixed random R, so every output element's gradient path is exercised.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

namespace supra::test {

inline std::vector<double> randn(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += a[i] * b[i];
  return s;
}

// max |analytic - numeric| / max |numeric| over the entries of x, where numeric is the central difference of
// loss() with step h. loss() reads x (which is perturbed in place and restored).
inline double grad_rel_error(std::vector<double>& x, const std::vector<double>& analytic,
                             const std::function<double()>& loss, double h = 1e-5) {
  double num_max = 0, err_max = 0;
  for (size_t i = 0; i < x.size(); i++) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double lp = loss();
    x[i] = x0 - h;
    const double lm = loss();
    x[i] = x0;
    const double g = (lp - lm) / (2 * h);
    num_max = std::max(num_max, std::abs(g));
    err_max = std::max(err_max, std::abs(g - analytic[i]));
  }
  return num_max > 0 ? err_max / num_max : err_max;
}

}  // namespace supra::test
