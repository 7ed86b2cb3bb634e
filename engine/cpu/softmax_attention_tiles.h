#pragma once
// The tiled (flash-style) softmax attention of one (head, query block), written once over a SIMD traits type V and
// compiled by each cpu_softmax_attention_<isa>.cpp with that ISA's flags. Everything here has internal linkage
// (anonymous namespace) and calls no inline library template: no function compiled for AVX-512 can be merged by
// the linker into the portable path.
//
// Per key tile [t0, t0 + kAttnBk) and per query row (online softmax, fp32):
//   s_j = (scale q) . k_j;  m' = max(m, max_j s_j);  alpha = exp(m - m');  p_j = exp(s_j - m')
//   l = alpha l + sum_j p_j;  acc = alpha acc + sum_j p_j v_j;  at the end out = acc / l
// with j over the keys the row sees (causal, window). A tile a row sees none of is skipped for that row; the
// masked keys of a partly visible tile get p_j = 0 exactly, and adding p_j v_j = 0 to acc leaves it unchanged.
// So a row's result depends only on its position, q and the keys, never on which other rows share the call.
//
// The register tiles (acc[R][CV]) must stay in registers: their loops are fully unrolled (GCC unroll) at any -O.
//
// V provides: reg, L (lanes), kScoreCV/kPvCV (vectors per row in the score and P.V panels), zero, load, store,
// set1, add, sub, mul, fmadd(a, b, c) = a*b + c, max, reduce_add, reduce_max, exp (over arguments <= 0 or -inf).
#include <math.h>

#include <cstdint>

#include "engine/cpu/softmax_attention_isa.h"

namespace supra::cpu {
namespace {

inline int64_t tmin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t tmax(int64_t a, int64_t b) { return a > b ? a : b; }

// s[r, col0 .. col0 + CV*L) = q[r] . kt[:, same columns] for R rows (q stride dp, s stride kAttnBk).
template <class V, int R, int CV>
inline void score_panel(const float* q, int64_t dp, const float* kt, int d, int64_t col0, float* s) {
  typename V::reg acc[R][CV];
  for (int r = 0; r < R; r++)
    for (int v = 0; v < CV; v++) acc[r][v] = V::zero();
  for (int c = 0; c < d; c++) {
    typename V::reg kv[CV];
#pragma GCC unroll 8
    for (int v = 0; v < CV; v++) kv[v] = V::load(kt + c * kAttnBk + col0 + v * V::L);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const typename V::reg b = V::set1(q[r * dp + c]);
#pragma GCC unroll 8
      for (int v = 0; v < CV; v++) acc[r][v] = V::fmadd(b, kv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < CV; v++) V::store(s + r * kAttnBk + col0 + v * V::L, acc[r][v]);
}

template <class V, int R>
inline void score_rows(const float* q, int64_t dp, const float* kt, int d, float* s) {
  for (int64_t col0 = 0; col0 < kAttnBk; col0 += V::kScoreCV * V::L) score_panel<V, R, V::kScoreCV>(q, dp, kt, d, col0, s);
}

// acc[r, e0 .. e0 + CV*L) = alpha[r] acc[r, ...] + sum_{j < jv} p[r, j] vp[j, ...] for R rows.
template <class V, int R, int CV>
inline void pv_panel(const float* p, const float* alpha, const float* vp, int64_t jv, int64_t dp, int64_t e0,
                     float* acc) {
  typename V::reg o[R][CV];
  for (int r = 0; r < R; r++) {
    const typename V::reg a = V::set1(alpha[r]);
    for (int v = 0; v < CV; v++) o[r][v] = V::mul(V::load(acc + r * dp + e0 + v * V::L), a);
  }
  for (int64_t j = 0; j < jv; j++) {
    typename V::reg vv[CV];
#pragma GCC unroll 8
    for (int v = 0; v < CV; v++) vv[v] = V::load(vp + j * dp + e0 + v * V::L);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const typename V::reg b = V::set1(p[r * kAttnBk + j]);
#pragma GCC unroll 8
      for (int v = 0; v < CV; v++) o[r][v] = V::fmadd(b, vv[v], o[r][v]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < CV; v++) V::store(acc + r * dp + e0 + v * V::L, o[r][v]);
}

// The columns left after the full panels: rem vectors, rem < kPvCV (dp is a multiple of 16, so of L).
template <class V, int R, int CV>
inline void pv_rest(const float* p, const float* alpha, const float* vp, int64_t jv, int64_t dp, int64_t e0,
                    float* acc, int rem) {
  if constexpr (CV > 0) {
    if (rem == CV)
      pv_panel<V, R, CV>(p, alpha, vp, jv, dp, e0, acc);
    else
      pv_rest<V, R, CV - 1>(p, alpha, vp, jv, dp, e0, acc, rem);
  }
}

template <class V, int R>
inline void pv_rows(const float* p, const float* alpha, const float* vp, int64_t jv, int64_t dp, float* acc) {
  constexpr int64_t W = V::kPvCV * V::L;
  int64_t e0 = 0;
  for (; e0 + W <= dp; e0 += W) pv_panel<V, R, V::kPvCV>(p, alpha, vp, jv, dp, e0, acc);
  pv_rest<V, R, V::kPvCV - 1>(p, alpha, vp, jv, dp, e0, acc, int((dp - e0) / V::L));
}

// Rows [ra, rb) in groups of 4, then the 1-3 left: the same per-row arithmetic whatever the group.
template <class V>
inline void scores(const float* q, int64_t dp, const float* kt, int d, float* s, int64_t ra, int64_t rb) {
  int64_t r = ra;
  for (; r + 4 <= rb; r += 4) score_rows<V, 4>(q + r * dp, dp, kt, d, s + r * kAttnBk);
  for (; r < rb; r++) score_rows<V, 1>(q + r * dp, dp, kt, d, s + r * kAttnBk);
}

template <class V>
inline void pv(const float* p, const float* alpha, const float* vp, int64_t jv, int64_t dp, float* acc, int64_t ra,
               int64_t rb) {
  int64_t r = ra;
  for (; r + 4 <= rb; r += 4) pv_rows<V, 4>(p + r * kAttnBk, alpha + r, vp, jv, dp, acc + r * dp);
  for (; r < rb; r++) pv_rows<V, 1>(p + r * kAttnBk, alpha + r, vp, jv, dp, acc + r * dp);
}

// One row's online-softmax step on its scores s[0, kAttnBk), visible lanes [lo, hi]: s becomes p.
template <class V>
inline void softmax_step(float* s, int64_t lo, int64_t hi, float& m, float& l, float& alpha) {
  constexpr int NV = int(kAttnBk / V::L);
  const bool partial = lo > 0 || hi < kAttnBk - 1;
  if (partial) {
    for (int64_t j = 0; j < lo; j++) s[j] = -INFINITY;
    for (int64_t j = hi + 1; j < kAttnBk; j++) s[j] = -INFINITY;
  }
  typename V::reg mx = V::load(s);
  for (int v = 1; v < NV; v++) mx = V::max(mx, V::load(s + v * V::L));
  const float tile_max = V::reduce_max(mx);
  const float m_new = m > tile_max ? m : tile_max;
  alpha = m == m_new ? 1.f : m == -INFINITY ? 0.f : expf(m - m_new);  // expf(0) is 1: skipping it changes nothing
  m = m_new;
  const typename V::reg mv = V::set1(m_new);
  for (int v = 0; v < NV; v++) V::store(s + v * V::L, V::exp(V::sub(V::load(s + v * V::L), mv)));
  if (partial) {  // exactly 0 for the keys this row does not see
    for (int64_t j = 0; j < lo; j++) s[j] = 0.f;
    for (int64_t j = hi + 1; j < kAttnBk; j++) s[j] = 0.f;
  }
  typename V::reg sum = V::load(s);
  for (int v = 1; v < NV; v++) sum = V::add(sum, V::load(s + v * V::L));
  l = alpha * l + V::reduce_add(sum);
}

template <class V>
void attention_block(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w) {
  const int d = a.d;
  const int64_t dp = attn_padded_dim(d);
  const int64_t qs = int64_t(a.H) * d, ks = int64_t(a.Hkv) * d;  // row strides
  const int kvh = h / (a.H / a.Hkv);
  const int64_t i0 = blk * kAttnBq, rows = tmin(kAttnBq, a.n - i0);
  const int64_t first = a.n_past + i0, last = first + rows - 1;  // positions of the block's rows
  const int64_t win = a.window;

  for (int64_t r = 0; r < rows; r++) {
    const float* qr = a.q + (i0 + r) * qs + int64_t(h) * d;
    for (int64_t c = 0; c < dp; c++) {
      w.q[r * dp + c] = c < d ? qr[c] * a.scale : 0.f;
      w.acc[r * dp + c] = 0.f;
    }
    w.m[r] = -INFINITY;
    w.l[r] = 0.f;
  }
  const int64_t kstart = win ? tmax(0, first - win + 1) : 0;
  for (int64_t t0 = kstart / kAttnBk * kAttnBk; t0 <= last; t0 += kAttnBk) {
    // Rows that see some key of this tile: pos >= t0 and (window) pos - win + 1 <= t0 + kAttnBk - 1.
    const int64_t ra = tmax(0, t0 - first);
    const int64_t rb = win ? tmin(rows, t0 + kAttnBk + win - 1 - first) : rows;
    if (ra >= rb) continue;
    const int64_t jv = tmin(kAttnBk, last + 1 - t0);  // keys of the tile that exist for this block
    const float* kb = a.k + t0 * ks + int64_t(kvh) * d;
    const float* vb = a.v + t0 * ks + int64_t(kvh) * d;
    for (int64_t j = 0; j < kAttnBk; j++)
      for (int c = 0; c < d; c++) w.kt[c * kAttnBk + j] = j < jv ? kb[j * ks + c] : 0.f;
    for (int64_t j = 0; j < jv; j++)
      for (int64_t c = 0; c < dp; c++) w.vp[j * dp + c] = c < d ? vb[j * ks + c] : 0.f;

    scores<V>(w.q, dp, w.kt, d, w.s, ra, rb);
    for (int64_t r = ra; r < rb; r++) {
      const int64_t pos = first + r;
      const int64_t lo = win ? tmax(0, pos - win + 1) : 0;
      softmax_step<V>(w.s + r * kAttnBk, tmax(lo - t0, 0), tmin(pos - t0, kAttnBk - 1), w.m[r], w.l[r],
                      w.alpha[r]);
    }
    pv<V>(w.s, w.alpha, w.vp, jv, dp, w.acc, ra, rb);
  }
  for (int64_t r = 0; r < rows; r++) {
    float* o = a.out + (i0 + r) * qs + int64_t(h) * d;
    for (int c = 0; c < d; c++) o[c] = w.acc[r * dp + c] / w.l[r];
  }
}

}  // namespace
}  // namespace supra::cpu
