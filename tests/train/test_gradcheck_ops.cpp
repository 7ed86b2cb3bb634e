// Gradient checks (finite differences, double) of every op's backward, and the SUPRA forward against its
// definition. Tolerance 1e-6 relative: central differences in double with h = 1e-5 reach ~1e-9 on smooth ops.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>

#include "tests/train/gradcheck.h"
#include "train/ops.h"
#include "train/supra_attention_grad.h"

using namespace supra;
using namespace supra::train;
using supra::test::dot;
using supra::test::grad_rel_error;
using supra::test::randn;

namespace {
// Central differences in double with h = 1e-5: truncation h^2 |f'''|/6 plus rounding u|f|/h stay near 1e-10 for
// these O(1) inputs (measured 1.5e-11..7e-10, independent of the BLAS kernel at double precision); a wrong
// gradient is off by O(1).
constexpr double kTol = 1e-6;
void report(const char* what, double e) {
  std::printf("gradcheck %-40s max rel error %.3e\n", what, e);
  CHECK(e < kTol);
}
}  // namespace

TEST_CASE("gradcheck: embedding (repeated tokens add up)", "[gradcheck]") {
  const int V = 7, D = 5, n = 9;
  const std::vector<int32_t> tok = {1, 3, 1, 6, 0, 3, 3, 2, 1};
  auto table = randn(V * D, 1), R = randn(n * D, 2);
  auto loss = [&] {
    std::vector<double> out(n * D);
    embedding_forward(tok.data(), n, table.data(), D, out.data());
    return dot(out, R);
  };
  std::vector<double> dt(V * D, 0.0);
  embedding_backward(tok.data(), n, R.data(), D, dt.data());
  report("embedding dtable", grad_rel_error(table, dt, loss));
}

TEST_CASE("gradcheck: linear with bias (GEMM)", "[gradcheck]") {
  const int n = 6, in = 5, out = 4;
  auto x = randn(n * in, 3), W = randn(out * in, 4), b = randn(out, 5), R = randn(n * out, 6);
  auto loss = [&] {
    std::vector<double> y(n * out);
    linear_forward(x.data(), n, in, W.data(), b.data(), out, y.data());
    return dot(y, R);
  };
  std::vector<double> dx(n * in, 0.0), dW(out * in, 0.0), db(out, 0.0);
  linear_backward(R.data(), x.data(), n, in, W.data(), out, dx.data(), dW.data(), db.data());
  report("linear dx", grad_rel_error(x, dx, loss));
  report("linear dW", grad_rel_error(W, dW, loss));
  report("linear db", grad_rel_error(b, db, loss));
}

TEST_CASE("gradcheck: RMSNorm", "[gradcheck]") {
  const int n = 4, D = 8;
  auto x = randn(n * D, 7), w = randn(D, 8), R = randn(n * D, 9);
  auto loss = [&] {
    std::vector<double> y(n * D), r(n);
    rmsnorm_forward(x.data(), w.data(), n, D, 1e-5f, y.data(), r.data());
    return dot(y, R);
  };
  std::vector<double> y(n * D), r(n), dx(n * D, 0.0), dw(D, 0.0);
  rmsnorm_forward(x.data(), w.data(), n, D, 1e-5f, y.data(), r.data());
  rmsnorm_backward(R.data(), x.data(), w.data(), r.data(), n, D, dx.data(), dw.data());
  report("rmsnorm dx", grad_rel_error(x, dx, loss));
  report("rmsnorm dw", grad_rel_error(w, dw, loss));
}

TEST_CASE("gradcheck: RoPE in both pairings", "[gradcheck]") {
  const int n = 5, heads = 3, d = 8;
  const std::vector<int32_t> pos = {0, 1, 7, 100, 3};
  for (RopePairing pairing : {RopePairing::RotateHalf, RopePairing::Interleaved}) {
    auto x = randn(n * heads * d, 10), R = randn(n * heads * d, 11);
    auto loss = [&] {
      auto y = x;
      rope_apply(y.data(), pos.data(), n, heads, d, 10000.f, pairing, false);
      return dot(y, R);
    };
    auto dx = R;
    rope_apply(dx.data(), pos.data(), n, heads, d, 10000.f, pairing, true);
    report(pairing == RopePairing::RotateHalf ? "rope rotate-half dx" : "rope interleaved dx",
           grad_rel_error(x, dx, loss));
  }
}

TEST_CASE("gradcheck: ReLU feature map (linear with bias, then ReLU)", "[gradcheck]") {
  const int n = 6, Q = 8;
  auto x = randn(n * Q, 12), A = randn(Q * Q, 13, 0.5), b = randn(Q, 14), R = randn(n * Q, 15);
  auto fwd = [&](std::vector<double>& y) {
    y.assign(n * Q, 0.0);
    linear_forward(x.data(), n, Q, A.data(), b.data(), Q, y.data());
    relu_forward(y.data(), n * Q);
  };
  auto loss = [&] {
    std::vector<double> y;
    fwd(y);
    return dot(y, R);
  };
  std::vector<double> y;
  fwd(y);
  int active = 0;
  for (double v : y) active += v > 0;
  REQUIRE(active > 5);  // both sides of the kink are exercised
  REQUIRE(active < n * Q - 5);
  auto dy = R;
  relu_backward(y.data(), n * Q, dy.data());
  std::vector<double> dx(n * Q, 0.0), dA(Q * Q, 0.0), db(Q, 0.0);
  linear_backward(dy.data(), x.data(), n, Q, A.data(), Q, dx.data(), dA.data(), db.data());
  report("feature map dx", grad_rel_error(x, dx, loss));
  report("feature map dA", grad_rel_error(A, dA, loss));
  report("feature map db", grad_rel_error(b, db, loss));
}

TEST_CASE("gradcheck: SwiGLU", "[gradcheck]") {
  const int n = 20;
  auto g = randn(n, 16, 2.0), u = randn(n, 17), R = randn(n, 18);
  auto loss = [&] {
    std::vector<double> y(n);
    swiglu_forward(g.data(), u.data(), n, y.data());
    return dot(y, R);
  };
  std::vector<double> dg(n, 0.0), du(n, 0.0);
  swiglu_backward(R.data(), g.data(), u.data(), n, dg.data(), du.data());
  report("swiglu dgate", grad_rel_error(g, dg, loss));
  report("swiglu dup", grad_rel_error(u, du, loss));
}

TEST_CASE("gradcheck: GroupNorm", "[gradcheck]") {
  const int groups = 6, group = 8;
  auto x = randn(groups * group, 19), R = randn(groups * group, 20);
  auto loss = [&] {
    std::vector<double> y(groups * group), r(groups);
    groupnorm_forward(x.data(), groups, group, 1e-5f, y.data(), r.data());
    return dot(y, R);
  };
  std::vector<double> y(groups * group), r(groups), dx(groups * group, 0.0);
  groupnorm_forward(x.data(), groups, group, 1e-5f, y.data(), r.data());
  groupnorm_backward(R.data(), y.data(), r.data(), groups, group, dx.data());
  report("groupnorm dx", grad_rel_error(x, dx, loss));
}

TEST_CASE("gradcheck: repeat kv heads", "[gradcheck]") {
  const int n = 3, H = 6, Hkv = 2, d = 4;
  auto x = randn(n * Hkv * d, 21), R = randn(n * H * d, 22);
  auto loss = [&] {
    std::vector<double> y(n * H * d);
    repeat_heads_forward(x.data(), n, H, Hkv, d, y.data());
    return dot(y, R);
  };
  std::vector<double> dx(n * Hkv * d, 0.0);
  repeat_heads_backward(R.data(), n, H, Hkv, d, dx.data());
  report("repeat heads dx", grad_rel_error(x, dx, loss));
}

TEST_CASE("gradcheck: causal softmax attention with GQA", "[gradcheck]") {
  const int n = 7, H = 4, Hkv = 2, d = 4;
  auto q = randn(n * H * d, 23), k = randn(n * Hkv * d, 24), v = randn(n * Hkv * d, 25), R = randn(n * H * d, 26);
  auto fwd = [&](std::vector<double>& o, std::vector<double>& lse) {
    o.assign(n * H * d, 0.0);
    lse.assign(n * H, 0.0);
    attention_forward(q.data(), k.data(), v.data(), n, H, Hkv, d, o.data(), lse.data());
  };
  auto loss = [&] {
    std::vector<double> o, lse;
    fwd(o, lse);
    return dot(o, R);
  };
  std::vector<double> o, lse;
  fwd(o, lse);
  // Row 0 attends only to itself: its output is v_0 of its kv head.
  // A softmax over one key is exactly 1 in double, so only the d-long products' rounding remains (~1e-16).
  for (int e = 0; e < d; e++) CHECK(o[3 * d + e] == Approx(v[1 * d + e]).epsilon(1e-12));
  std::vector<double> dq(q.size(), 0.0), dk(k.size(), 0.0), dv(v.size(), 0.0);
  attention_backward(R.data(), q.data(), k.data(), v.data(), o.data(), lse.data(), n, H, Hkv, d, dq.data(), dk.data(),
                     dv.data());
  report("softmax attention dq", grad_rel_error(q, dq, loss));
  report("softmax attention dk", grad_rel_error(k, dk, loss));
  report("softmax attention dv", grad_rel_error(v, dv, loss));
}

namespace {
// o_t = sum_{j<=t} exp(-s(t-j)) (q_t . k_j) v_j, straight from the definition.
std::vector<double> supra_reference(const std::vector<double>& q, const std::vector<double>& k,
                                    const std::vector<double>& v, int n, int H, int d, const float* slopes) {
  std::vector<double> o(size_t(n) * H * d, 0.0);
  for (int h = 0; h < H; h++)
    for (int t = 0; t < n; t++)
      for (int j = 0; j <= t; j++) {
        double a = 0;
        for (int c = 0; c < d; c++) a += q[(t * H + h) * d + c] * k[(j * H + h) * d + c];
        a *= std::exp(-double(slopes[h]) * (t - j));
        for (int e = 0; e < d; e++) o[(t * H + h) * d + e] += a * v[(j * H + h) * d + e];
      }
  return o;
}
}  // namespace

TEST_CASE("SUPRA chunked forward equals the definition for every chunk length", "[gradcheck]") {
  const int n = 10, H = 3, d = 4;
  const float slopes[H] = {0.05f, 0.9f, 2.5f};
  auto q = randn(n * H * d, 27), k = randn(n * H * d, 28), v = randn(n * H * d, 29);
  const auto ref = supra_reference(q, k, v, n, H, d, slopes);
  for (int chunk : {1, 3, 4, 10, 16}) {
    std::vector<double> o(ref.size()), st(size_t(H) * supra_n_chunks(n, chunk) * d * d);
    supra_forward(q.data(), k.data(), v.data(), n, H, d, slopes, chunk, o.data(), st.data());
    double err = 0;
    for (size_t i = 0; i < o.size(); i++) err = std::max(err, std::abs(o[i] - ref[i]));
    INFO("chunk " << chunk);
    // Both sides sum at most n products of d-long dot products of O(1) randn values in double:
    // gamma_{n+2d} u64 times the sum of |terms| (~n d) is ~1e-13.
    CHECK(err < 1e-12);
  }
}

TEST_CASE("gradcheck: SUPRA chunked attention across chunk boundaries, with decay", "[gradcheck]") {
  // n = 10 with chunk 4: two full chunks and a partial one, so dS flows back over two boundaries. Slopes from
  // weak to strong decay (gamma 0.95 .. 0.08).
  const int n = 10, H = 3, d = 4;
  const float slopes[H] = {0.05f, 0.9f, 2.5f};
  for (int chunk : {4, 3}) {
    auto q = randn(n * H * d, 30), k = randn(n * H * d, 31), v = randn(n * H * d, 32), R = randn(n * H * d, 33);
    const int64_t nc = supra_n_chunks(n, chunk);
    auto loss = [&] {
      std::vector<double> o(size_t(n) * H * d), st(size_t(H) * nc * d * d);
      supra_forward(q.data(), k.data(), v.data(), n, H, d, slopes, chunk, o.data(), st.data());
      return dot(o, R);
    };
    std::vector<double> o(size_t(n) * H * d), st(size_t(H) * nc * d * d);
    supra_forward(q.data(), k.data(), v.data(), n, H, d, slopes, chunk, o.data(), st.data());
    std::vector<double> dq(q.size(), 0.0), dk(k.size(), 0.0), dv(v.size(), 0.0);
    supra_backward(R.data(), q.data(), k.data(), v.data(), st.data(), n, H, d, slopes, chunk, dq.data(), dk.data(),
                   dv.data());
    const std::string c = " (chunk " + std::to_string(chunk) + ")";
    report(("supra dq" + c).c_str(), grad_rel_error(q, dq, loss));
    report(("supra dk" + c).c_str(), grad_rel_error(k, dk, loss));
    report(("supra dv" + c).c_str(), grad_rel_error(v, dv, loss));
    // The first key's influence on the last query crosses two chunk boundaries: its gradient is not zero.
    double first = 0;
    for (int c2 = 0; c2 < d; c2++) first += std::abs(dk[c2]);
    CHECK(first > 0);
  }
}

TEST_CASE("gradcheck: cross-entropy", "[gradcheck]") {
  const int n = 5, V = 9;
  const std::vector<int32_t> targets = {0, 8, 3, 3, 5};
  auto logits = randn(n * V, 34, 2.0);
  auto loss = [&] { return cross_entropy_forward_backward(logits.data(), targets.data(), n, V, 1.0, (double*)nullptr); };
  std::vector<double> dl(n * V);
  cross_entropy_forward_backward(logits.data(), targets.data(), n, V, 1.0, dl.data());
  report("cross-entropy dlogits", grad_rel_error(logits, dl, loss));
}
