#pragma once
// Floating-point tolerances derived from the arithmetic under test, shared by every test folder.
//
// Two results of the same computation differ when their sums run in another order (another BLAS kernel picked
// per processor or forced by OPENBLAS_CORETYPE, another thread split, another chunking of a SUPRA prefill).
// Higham (Accuracy and Stability of Numerical Algorithms, 2nd ed., Lemma 3.1 and eq. 3.5) bounds a sum or inner
// product of length k evaluated in ANY order by gamma_k = k u / (1 - k u) relative to sum |x_i y_i|: the bound
// holds for every kernel, so a test comparing against it cannot turn red on another machine. A forward pass is a
// chain of such reductions; to first order their relative errors add along the chain (RMSNorm and the softmax
// keep activations O(1), so no step amplifies them), which gives `forward_chain` below. Comparisons are
// normwise: max |a - b| / max |b|, so the bound scales with the values compared.
//
// Header-only and free of engine types, so tasks/, scrolls/ and reports/ tests can use it too.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace supra::test {

// Unit roundoff u = 2^-p of each storage format (p: significand bits, the implicit bit included).
inline constexpr double kUnitF64 = 0x1p-53;
inline constexpr double kUnitF32 = 0x1p-24;
inline constexpr double kUnitF16 = 0x1p-11;
inline constexpr double kUnitBF16 = 0x1p-8;

// Worst-case relative error of a reduction of length k in any summation order (Higham eq. 3.5).
inline double gamma_k(double k, double u) { return k * u / (1.0 - k * u); }

// Length of the reduction chain from the input tokens to one logit of a decoder layer stack at `tokens` positions
// (first-order sum of the reduction lengths an output depends on in sequence). Per layer: RMSNorm (D), the q/k/v
// projection (D), the attention score (d), the attention sum over at most `tokens` positions (softmax denominator
// and P V; SUPRA's state sums the same positions), the output projection (H d = D), RMSNorm (D), the FFN up
// projection (D) and down projection (F). Then the final RMSNorm and the classifier (D each).
inline double forward_chain(int layers, int dim, int hidden, int head_dim, int64_t tokens) {
  const double per_layer = 2.0 * dim + head_dim + double(tokens) + dim + 2.0 * dim + hidden;
  return layers * per_layer + 2.0 * dim;
}

// Normwise relative difference max |a - b| / max |b| (max |a - b| when b is all zero).
template <typename A, typename B>
double normwise_rel(const std::vector<A>& a, const std::vector<B>& b) {
  double num = 0, den = 0;
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; i++) {
    num = std::max(num, std::abs(double(a[i]) - double(b[i])));
    den = std::max(den, std::abs(double(b[i])));
  }
  return den > 0 ? num / den : num;
}

// max_i |got_i - want_i| / scale_i, where scale_i is the same computation run on the absolute values of its
// inputs (the sum of |terms| that Higham's bounds are relative to): compare it with gamma_k.
template <typename A, typename B, typename C>
double scaled_err(const std::vector<A>& got, const std::vector<B>& want, const std::vector<C>& scale) {
  double worst = 0;
  const size_t n = std::min({got.size(), want.size(), scale.size()});
  for (size_t i = 0; i < n; i++) {
    const double d = std::abs(double(got[i]) - double(want[i]));
    if (d > 0) worst = std::max(worst, d / std::max(double(scale[i]), 1e-300));
  }
  return worst;
}

// Relative difference of two scalars against the larger magnitude: |a - b| / max(|a|, |b|) (0 when both are 0).
inline double scalar_rel(double a, double b) {
  const double den = std::max(std::abs(a), std::abs(b));
  return den > 0 ? std::abs(a - b) / den : 0.0;
}

}  // namespace supra::test
