// The CPU softmax attention kernel at every ISA level this processor has (portable always, so CI always tests it;
// AVX2 and AVX-512 where present), against a double-precision reference, with a bound derived from the kernel's
// arithmetic; a row's output bitwise independent of the other rows in the call; the vectorised exp's accuracy.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "engine/cpu/cpu_ops.h"
#include "engine/cpu/softmax_attention_isa.h"
#include "tests/common/isa_cap.h"
#include "tests/common/tolerance.h"

using namespace supra;
using namespace supra::test;

namespace {

struct AttnShape {
  int H, Hkv, d;
  int64_t n_past, n;
  std::optional<int> window;
};

// GQA and MHA; head dims 64, 128, 80 (a part panel at AVX-512), 20 and 5 (odd, below one vector); prefill from 0,
// chunks after a prefix, decode (n = 1); windows; lengths off the block (128) and tile (64) sizes.
const AttnShape kShapes[] = {
    {4, 2, 64, 0, 200, std::nullopt}, {2, 2, 128, 70, 131, std::nullopt}, {3, 1, 5, 0, 150, 37},
    {4, 2, 64, 300, 1, 100},          {2, 1, 20, 129, 65, 64},            {2, 2, 80, 5, 70, std::nullopt},
    {4, 4, 64, 0, 1, std::nullopt},   {2, 1, 64, 190, 300, 129},
};

struct Inputs {
  std::vector<float> q, k, v;
};

Inputs random_inputs(const AttnShape& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  Inputs in;
  in.q.resize(size_t(s.n * s.H * s.d));
  in.k.resize(size_t((s.n_past + s.n) * s.Hkv * s.d));
  in.v.resize(in.k.size());
  // q scaled by 3 so that rows peak and the running max moves between tiles.
  for (float& x : in.q) x = 3.f * nd(rng);
  for (float& x : in.k) x = nd(rng);
  for (float& x : in.v) x = nd(rng);
  return in;
}

std::vector<float> run(const AttnShape& s, const Inputs& in) {
  std::vector<float> out(in.q.size(), -1.f);
  cpu::attention(in.q.data(), in.k.data(), in.v.data(), s.n, s.n_past, s.H, s.Hkv, s.d, s.window, out.data());
  return out;
}

// Worst over rows and heads of max_e |got - ref| / (sum_j p_j |v_je| / sum_j p_j) divided by that row's bound:
// <= 1 when the kernel is within its arithmetic's error. A row's bound (first order, Higham's gamma_k):
//   scores s_j = (scale q) . k_j: |ds_j| <= gamma_{d+1} S with S = max_j scale sum_c |q_c k_jc|; s_j - m rounds
//   once more (|s_j - m| <= 2 S); exp within kAttnExpUlps ulp; each of the nt tiles rescales acc and l once by the
//   same alpha (its own error cancels in acc / l, one rounding each remains); a p_j error moves numerator and
//   denominator alike, so twice; the sums over nk keys of l and of p v: gamma_nk each; the final division: u.
double worst_error_over_bound(const AttnShape& s, const Inputs& in, const std::vector<float>& got) {
  const double u = kUnitF32, scale = 1.0 / std::sqrt(double(s.d));
  const int64_t qs = int64_t(s.H) * s.d, ks = int64_t(s.Hkv) * s.d;
  double worst = 0;
  for (int h = 0; h < s.H; h++) {
    const int kvh = h / (s.H / s.Hkv);
    for (int64_t i = 0; i < s.n; i++) {
      const int64_t pos = s.n_past + i;
      const int64_t lo = s.window ? std::max<int64_t>(0, pos - *s.window + 1) : 0;
      const float* q = in.q.data() + i * qs + h * s.d;
      std::vector<double> sc(size_t(pos - lo + 1));
      double mx = -INFINITY, S = 0;
      for (int64_t j = lo; j <= pos; j++) {
        const float* k = in.k.data() + j * ks + kvh * s.d;
        double a = 0, b = 0;
        for (int c = 0; c < s.d; c++) {
          a += double(q[c]) * k[c];
          b += std::abs(double(q[c]) * k[c]);
        }
        sc[size_t(j - lo)] = a * scale;
        mx = std::max(mx, a * scale);
        S = std::max(S, b * scale);
      }
      double l = 0;
      std::vector<double> o(size_t(s.d), 0.0), oabs(size_t(s.d), 0.0);
      for (int64_t j = lo; j <= pos; j++) {
        const double p = std::exp(sc[size_t(j - lo)] - mx);
        l += p;
        const float* v = in.v.data() + j * ks + kvh * s.d;
        for (int e = 0; e < s.d; e++) {
          o[size_t(e)] += p * v[e];
          oabs[size_t(e)] += p * std::abs(double(v[e]));
        }
      }
      const int64_t nk = pos - lo + 1;
      const double nt = double((pos / cpu::kAttnBk) - (lo / cpu::kAttnBk) + 1);
      const double bound = 2.0 * (gamma_k(s.d + 1, u) * S + 2.0 * u * S + (cpu::kAttnExpUlps + nt + 1) * u) +
                           2.0 * gamma_k(double(nk), u) + u;
      for (int e = 0; e < s.d; e++) {
        const double err = std::abs(double(got[size_t(i * qs + h * s.d + e)]) - o[size_t(e)] / l);
        const double ratio = err / (oabs[size_t(e)] / l) / bound;
        if (std::isnan(ratio)) return INFINITY;  // a NaN output fails the check
        worst = std::max(worst, ratio);
      }
    }
  }
  return worst;
}

std::string describe(CpuIsa isa, const AttnShape& s) {
  return "isa " + std::string(cpu_isa_name(isa)) + " H=" + std::to_string(s.H) + " Hkv=" + std::to_string(s.Hkv) +
         " d=" + std::to_string(s.d) + " n_past=" + std::to_string(s.n_past) + " n=" + std::to_string(s.n) +
         " window=" + std::to_string(s.window ? *s.window : 0);
}

}  // namespace

TEST_CASE("softmax attention at every ISA level matches a double reference within its arithmetic's bound",
          "[softmax][isa]") {
  for (CpuIsa isa : isas_here()) {
    IsaCap cap(isa);
    for (size_t si = 0; si < std::size(kShapes); si++) {
      const AttnShape& s = kShapes[si];
      INFO(describe(isa, s));
      const Inputs in = random_inputs(s, 100 + si);
      const std::vector<float> out = run(s, in);
      CHECK(worst_error_over_bound(s, in, out) <= 1.0);
    }
  }
}

TEST_CASE("softmax attention: a query row's output is bitwise the same whatever other rows share the call",
          "[softmax][isa]") {
  for (CpuIsa isa : isas_here()) {
    IsaCap cap(isa);
    for (size_t si = 0; si < std::size(kShapes); si++) {
      const AttnShape& s = kShapes[si];
      INFO(describe(isa, s));
      const Inputs in = random_inputs(s, 200 + si);
      const std::vector<float> whole = run(s, in);
      const int64_t qs = int64_t(s.H) * s.d;
      // The same rows in chunks of 1 (decode), 37 and 129 tokens, each chunk at its own n_past.
      for (int64_t chunk : {int64_t(1), int64_t(37), int64_t(129)}) {
        INFO("chunk " << chunk);
        std::vector<float> pieces(whole.size(), -1.f);
        for (int64_t i0 = 0; i0 < s.n; i0 += chunk) {
          const int64_t m = std::min(chunk, s.n - i0);
          cpu::attention(in.q.data() + i0 * qs, in.k.data(), in.v.data(), m, s.n_past + i0, s.H, s.Hkv, s.d,
                         s.window, pieces.data() + i0 * qs);
        }
        CHECK(std::memcmp(pieces.data(), whole.data(), whole.size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("the softmax kernel's vectorised exp is within kAttnExpUlps ulp on [-87, 0] and 0 at -inf", "[softmax][isa]") {
  std::vector<float> x;
  for (int i = 0; i <= 200000; i++) x.push_back(-87.f * float(i) / 200000.f);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> ud(-87.f, 0.f);
  for (int i = 0; i < 100000; i++) x.push_back(ud(rng));
  for (float t : {-1e-30f, -0.f, 0.f, -0.34657359f, -0.34657360f, -0.6931472f}) x.push_back(t);
  std::vector<float> y(x.size());
  const auto ulp_err = [&] {
    double worst = 0;
    for (size_t i = 0; i < x.size(); i++) {
      const double want = std::exp(double(x[i]));
      const double ulp = std::ldexp(1.0, std::ilogb(float(want)) - 23);  // spacing of floats at the result
      worst = std::max(worst, std::abs(double(y[i]) - want) / ulp);
    }
    return worst;
  };
  // exp(-inf) is exactly 0: the kernel relies on it for keys a row does not see.
  const float neg_inf = -INFINITY;
  float zero = 1.f;
  bool tested = false;
  if (cpu_isa_supported() >= CpuIsa::Avx2) {
    cpu::attn_exp_avx2(x.data(), y.data(), int64_t(x.size()));
    INFO("avx2");
    CHECK(ulp_err() <= cpu::kAttnExpUlps);
    cpu::attn_exp_avx2(&neg_inf, &zero, 1);
    CHECK(zero == 0.f);
    tested = true;
  }
  if (cpu_isa_supported() >= CpuIsa::Avx512) {
    cpu::attn_exp_avx512(x.data(), y.data(), int64_t(x.size()));
    INFO("avx512");
    CHECK(ulp_err() <= cpu::kAttnExpUlps);
    zero = 1.f;
    cpu::attn_exp_avx512(&neg_inf, &zero, 1);
    CHECK(zero == 0.f);
    tested = true;
  }
  if (!tested) WARN("SKIPPED: no AVX2 on this processor; the portable kernel uses libm's expf");
}
