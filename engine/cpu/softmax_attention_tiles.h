#pragma once
// The tiled (flash-style) softmax attention of one (head, query block), written once over a SIMD traits type V and
// compiled by each cpu_softmax_attention_<isa>.cpp with that ISA's flags. Everything here has internal linkage
// (anonymous namespace) and calls no inline library template: no function compiled for AVX-512 can be merged by
// the linker into the portable path.
//
// Scores are held transposed, st[key, row], so that the online softmax runs across rows in the vector lanes (no
// horizontal reductions) and the keys are read in place. Per key tile [t0, t0 + kAttnBk) and per query row
// (online softmax, fp32):
//   s_j = (scale q) . k_j;  m' = max(m, max_j s_j);  alpha = exp(m - m');  p_j = exp(s_j - m')
//   l = alpha l + sum_j p_j;  acc = alpha acc + sum_j p_j v_j;  at the end out = acc / l
// with j over the keys the row sees (causal, window). Keys a row does not see score -inf, so p_j = 0 exactly and
// adding p_j v_j = 0 to acc leaves it unchanged (acc is never -0); a tile a row sees none of leaves m, l (alpha = 1)
// and acc bitwise as they were.
// So a row's result depends only on its position, q and the keys, never on which other rows share the call.
//
// The register tiles (acc[R][CV]) must stay in registers: their loops are fully unrolled (GCC unroll) at any -O.
//
// V provides: reg, L (lanes), kScoreCV/kPvCV (vectors per row in the score and P.V panels), zero, load, store,
// set1, add, sub, mul, fmadd(a, b, c) = a*b + c, max, eq_select(a, b, x, y) = a == b ? x : y per lane, exp (over
// arguments <= 0; exp(-inf) = 0 exactly), transpose(reg (&r)[L]) (an L x L block, in registers).
#include <math.h>

#include <cstdint>

#include "engine/cpu/softmax_attention_isa.h"

namespace supra::cpu {
namespace {

inline int64_t tmin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t tmax(int64_t a, int64_t b) { return a > b ? a : b; }

// st[j, r0 .. r0 + CV*L) = k_{t0+j} . qt[:, same rows] for KJ keys (k rows at stride ks, qt and st stride kAttnBq).
template <class V, int KJ, int CV>
inline void score_panel(const float* qt, const float* k, int64_t ks, int d, int64_t r0, float* st) {
  typename V::reg acc[KJ][CV];
  for (int j = 0; j < KJ; j++)
    for (int v = 0; v < CV; v++) acc[j][v] = V::zero();
  for (int c = 0; c < d; c++) {
    typename V::reg qv[CV];
#pragma GCC unroll 8
    for (int v = 0; v < CV; v++) qv[v] = V::load(qt + c * kAttnBq + r0 + v * V::L);
#pragma GCC unroll 8
    for (int j = 0; j < KJ; j++) {
      const typename V::reg b = V::set1(k[j * ks + c]);
#pragma GCC unroll 8
      for (int v = 0; v < CV; v++) acc[j][v] = V::fmadd(b, qv[v], acc[j][v]);
    }
  }
  for (int j = 0; j < KJ; j++)
    for (int v = 0; v < CV; v++) V::store(st + j * kAttnBq + r0 + v * V::L, acc[j][v]);
}

// The rows' last vectors (rem < kScoreCV of them) for KJ keys.
template <class V, int KJ, int CV>
inline void score_rest(const float* qt, const float* k, int64_t ks, int d, int64_t r0, float* st, int rem) {
  if constexpr (CV > 0) {
    if (rem == CV)
      score_panel<V, KJ, CV>(qt, k, ks, d, r0, st);
    else
      score_rest<V, KJ, CV - 1>(qt, k, ks, d, r0, st, rem);
  }
}

template <class V, int KJ>
inline void score_keys(const float* qt, const float* k, int64_t ks, int d, int64_t v0, int64_t v1, float* st) {
  constexpr int64_t W = V::kScoreCV;
  int64_t v = v0;
  for (; v + W <= v1; v += W) score_panel<V, KJ, V::kScoreCV>(qt, k, ks, d, v * V::L, st);
  score_rest<V, KJ, V::kScoreCV - 1>(qt, k, ks, d, v * V::L, st, int(v1 - v));
}

// st[j, rows of vectors v0 .. v1) for the keys j < jv (k: the tile's first key row): 4 keys at a time, then 1-3.
template <class V>
inline void scores(const float* qt, const float* k, int64_t ks, int d, int64_t jv, int64_t v0, int64_t v1,
                   float* st) {
  int64_t j = 0;
  for (; j + 4 <= jv; j += 4) score_keys<V, 4>(qt, k + j * ks, ks, d, v0, v1, st + j * kAttnBq);
  for (; j < jv; j++) score_keys<V, 1>(qt, k + j * ks, ks, d, v0, v1, st + j * kAttnBq);
}

// acc[r, e0 .. e0 + CV*L) = alpha[r] acc[r, ...] + sum_{j < jv} pt[j, r] vp[j, ...] for R rows (acc rows at
// stride dp, value rows at stride vs).
template <class V, int R, int CV>
inline void pv_panel(const float* pt, const float* alpha, const float* vp, int64_t vs, int64_t jv, int64_t dp,
                     int64_t e0, float* acc) {
  typename V::reg o[R][CV];
  for (int r = 0; r < R; r++) {
    const typename V::reg a = V::set1(alpha[r]);
    for (int v = 0; v < CV; v++) o[r][v] = V::mul(V::load(acc + r * dp + e0 + v * V::L), a);
  }
  for (int64_t j = 0; j < jv; j++) {
    typename V::reg vv[CV];
#pragma GCC unroll 8
    for (int v = 0; v < CV; v++) vv[v] = V::load(vp + j * vs + e0 + v * V::L);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      const typename V::reg b = V::set1(pt[j * kAttnBq + r]);
#pragma GCC unroll 8
      for (int v = 0; v < CV; v++) o[r][v] = V::fmadd(b, vv[v], o[r][v]);
    }
  }
  for (int r = 0; r < R; r++)
    for (int v = 0; v < CV; v++) V::store(acc + r * dp + e0 + v * V::L, o[r][v]);
}

// The columns left after the full panels: rem vectors, rem < kPvCV (dp is a multiple of 16, so of L).
template <class V, int R, int CV>
inline void pv_rest(const float* pt, const float* alpha, const float* vp, int64_t vs, int64_t jv, int64_t dp,
                    int64_t e0, float* acc, int rem) {
  if constexpr (CV > 0) {
    if (rem == CV)
      pv_panel<V, R, CV>(pt, alpha, vp, vs, jv, dp, e0, acc);
    else
      pv_rest<V, R, CV - 1>(pt, alpha, vp, vs, jv, dp, e0, acc, rem);
  }
}

template <class V, int R>
inline void pv_rows(const float* pt, const float* alpha, const float* vp, int64_t vs, int64_t jv, int64_t dp,
                    float* acc) {
  constexpr int64_t W = V::kPvCV * V::L;
  int64_t e0 = 0;
  for (; e0 + W <= dp; e0 += W) pv_panel<V, R, V::kPvCV>(pt, alpha, vp, vs, jv, dp, e0, acc);
  pv_rest<V, R, V::kPvCV - 1>(pt, alpha, vp, vs, jv, dp, e0, acc, int((dp - e0) / V::L));
}

// Rows [ra, rb) in groups of 4, then the 1-3 left: the same per-row arithmetic whatever the group.
template <class V>
inline void pv(const float* pt, const float* alpha, const float* vp, int64_t vs, int64_t jv, int64_t dp, float* acc,
               int64_t ra, int64_t rb) {
  int64_t r = ra;
  for (; r + 4 <= rb; r += 4) pv_rows<V, 4>(pt + r, alpha + r, vp, vs, jv, dp, acc + r * dp);
  for (; r < rb; r++) pv_rows<V, 1>(pt + r, alpha + r, vp, vs, jv, dp, acc + r * dp);
}

// One step of the online softmax from the old running max and the tile's max: the new max, the rescale factor a of
// the old sum and accumulator, and what the scores subtract. Written once for softmax_step (rows in lanes) and
// same_position_tile (keys in lanes), so both compute every value by the same operations.
template <class V>
inline void online_max(typename V::reg m_old, typename V::reg mx, typename V::reg& m_new, typename V::reg& a,
                       typename V::reg& m_sub) {
  m_new = V::max(m_old, mx);
  // exp(-inf) is 0 (a first tile); equal maxima give exactly 1, also when both are still -inf.
  a = V::eq_select(m_old, m_new, V::set1(1.f), V::exp(V::sub(m_old, m_new)));
  // A lane that has seen no key yet (m' = -inf) subtracts 0, not -inf: its p = exp(-inf) = 0, not NaN.
  m_sub = V::eq_select(m_new, V::set1(-INFINITY), V::zero(), m_new);
}

// l' = a l + sum, as one place for both layouts.
template <class V>
inline typename V::reg rescaled_sum(typename V::reg a, typename V::reg l, typename V::reg sum) {
  return V::add(V::mul(a, l), sum);
}

// The online-softmax step of L rows (lanes) at offset r0 over the tile's scores st[j, r0 ..] for j < jv (keys a
// row does not see already -inf): st becomes p. A lane that sees no key of the tile keeps m, gets alpha = 1 and
// p = 0, which leaves its l and acc bitwise as they were.
template <class V>
inline void softmax_step(float* st, int64_t jv, int64_t r0, float* m, float* l, float* alpha) {
  typename V::reg mx = V::set1(-INFINITY);
  for (int64_t j = 0; j < jv; j++) mx = V::max(mx, V::load(st + j * kAttnBq + r0));
  typename V::reg m_new, a, m_sub;
  online_max<V>(V::load(m + r0), mx, m_new, a, m_sub);
  typename V::reg sum = V::zero();
  for (int64_t j = 0; j < jv; j++) {
    const typename V::reg p = V::exp(V::sub(V::load(st + j * kAttnBq + r0), m_sub));
    V::store(st + j * kAttnBq + r0, p);
    sum = V::add(sum, p);
  }
  V::store(m + r0, m_new);
  V::store(l + r0, rescaled_sum<V>(a, V::load(l + r0), sum));
  V::store(alpha + r0, a);
}

// Scores of RC rows against keys [j0, j0 + L) with the keys in the lanes: s[r][j0 ..] = the same FMA chain over c
// as score_panel's, on L x L blocks of K transposed in registers (one transpose serves all RC rows). nk keys exist.
template <class V, int RC>
inline void keys_in_lanes_scores(const float* qt, const float* k, int64_t ks, int d, int64_t j0, int64_t nk,
                                 float (*s)[kAttnBk]) {
  constexpr int L = V::L;
  typename V::reg acc[RC];
  for (int r = 0; r < RC; r++) acc[r] = V::zero();
  int c0 = 0;
  for (; c0 + L <= d; c0 += L) {
    typename V::reg t[L];
#pragma GCC unroll 16
    for (int i = 0; i < L; i++) t[i] = i < nk ? V::load(k + (j0 + i) * ks + c0) : V::zero();
    V::transpose(t);
#pragma GCC unroll 16
    for (int c = 0; c < L; c++)
#pragma GCC unroll 4
      for (int r = 0; r < RC; r++) acc[r] = V::fmadd(t[c], V::set1(qt[(c0 + c) * kAttnBq + r]), acc[r]);
  }
  for (; c0 < d; c0++) {  // a head dim that is not a multiple of L: the last columns one at a time
    float col[L] = {};
    for (int64_t i = 0; i < nk; i++) col[i] = k[(j0 + i) * ks + c0];
    const typename V::reg kc = V::load(col);
    for (int r = 0; r < RC; r++) acc[r] = V::fmadd(kc, V::set1(qt[c0 * kAttnBq + r]), acc[r]);
  }
  for (int r = 0; r < RC; r++) V::store(s[r] + j0, acc[r]);
}

// A block of `rows` rows that all sit at one position (a decode step: one row, or the query heads of a GQA group)
// against one key tile: scores, online softmax and p into st[j, r], with the keys in the lanes instead of the rows,
// so the vectors are full and each key tile is read once for the group. Bitwise the same as scores + softmax_step
// for each row: each score is the same FMA chain over c, exp and max act per lane, the sum of p runs over j in the
// same order, and m, l and a go through online_max/rescaled_sum. qt: the rows' scaled q at stride kAttnBq; keys
// j < j_lo are outside the window; m, l, alpha: per row.
template <class V>
inline void same_position_tile(const float* qt, const float* k, int64_t ks, int d, int64_t jv, int64_t j_lo,
                               int64_t rows, float* st, float* m, float* l, float* alpha) {
  constexpr int L = V::L;
  float s[4][kAttnBk];  // kAttnBk is a multiple of every L
  const int64_t groups = (jv + L - 1) / L;
  for (int64_t r0 = 0; r0 < rows; r0 += 4) {
    const int64_t rc = tmin(4, rows - r0);
    for (int64_t g = 0; g < groups; g++) {
      if (rc == 1)
        keys_in_lanes_scores<V, 1>(qt + r0, k, ks, d, g * L, tmin(L, jv - g * L), s);
      else  // rows past the block's end have q = 0 in qt: computed, never used
        keys_in_lanes_scores<V, 4>(qt + r0, k, ks, d, g * L, tmin(L, jv - g * L), s);
    }
    for (int64_t i = 0; i < rc; i++) {
      const int64_t r = r0 + i;
      float* sr = s[i];
      for (int64_t j = 0; j < j_lo; j++) sr[j] = -INFINITY;
      for (int64_t j = jv; j < groups * L; j++) sr[j] = -INFINITY;  // lanes past the tile's last key
      typename V::reg mxv = V::set1(-INFINITY);
      for (int64_t g = 0; g < groups; g++) mxv = V::max(mxv, V::load(sr + g * L));
      float lanes[L];
      V::store(lanes, mxv);
      float mx = -INFINITY;
      for (int j = 0; j < L; j++) mx = lanes[j] > mx ? lanes[j] : mx;  // a max is exact in any order
      typename V::reg m_new, a, m_sub;
      online_max<V>(V::set1(m[r]), V::set1(mx), m_new, a, m_sub);
      for (int64_t g = 0; g < groups; g++) V::store(sr + g * L, V::exp(V::sub(V::load(sr + g * L), m_sub)));
      float sum = 0.f;
      for (int64_t j = 0; j < jv; j++) {
        sum += sr[j];  // in order of j, as softmax_step's lane does
        st[j * kAttnBq + r] = sr[j];
      }
      V::store(lanes, m_new);
      m[r] = lanes[0];
      V::store(lanes, rescaled_sum<V>(a, V::set1(l[r]), V::set1(sum)));
      l[r] = lanes[0];
      V::store(lanes, a);
      alpha[r] = lanes[0];
    }
  }
}

template <class V>
void attention_block(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w) {
  const int d = a.d;
  const int64_t dp = attn_padded_dim(d);
  const int64_t qs = int64_t(a.H) * d, ks = int64_t(a.Hkv) * d;  // row strides
  // A GQA decode step (a.group_heads) makes the G query heads of KV head h the block's rows, all at one position:
  // the key tiles are read once for the group. Otherwise the rows are positions of head h.
  const int G = a.H / a.Hkv;
  const bool group = a.group_heads;
  const int kvh = group ? h : h / G;
  const int64_t i0 = group ? 0 : blk * kAttnBq, rows = group ? G : tmin(kAttnBq, a.n - i0);
  const int64_t first = a.n_past + i0, last = group ? first : first + rows - 1;  // positions of the block's rows
  // Where row r's q is read and its output written.
  auto row_at = [&](int64_t r) { return group ? (int64_t(kvh) * G + r) * d : (i0 + r) * qs + int64_t(h) * d; };
  const int64_t win = a.window;

  // Lanes the vectors touch: rows rounded up to whole vectors (a decode row fills one vector, not a whole block).
  const int64_t lanes = (rows + V::L - 1) / V::L * V::L;
  // qt[c, r] = scale q[r, c]; rows past the block's end are 0 (computed, never written out).
  for (int64_t c = 0; c < d; c++)
    for (int64_t r = 0; r < lanes; r++)
      w.q[c * kAttnBq + r] = r < rows ? a.q[row_at(r) + c] * a.scale : 0.f;
  for (int64_t r = 0; r < lanes; r++) {
    for (int64_t c = 0; c < dp; c++) w.acc[r * dp + c] = 0.f;
    w.m[r] = -INFINITY;
    w.l[r] = 0.f;
  }
  // A head dim of whole vectors reads the values in place; another is copied, zero-padded, per tile.
  const bool v_in_place = dp == d;
  const int64_t kstart = win ? tmax(0, first - win + 1) : 0;
  for (int64_t t0 = kstart / kAttnBk * kAttnBk; t0 <= last; t0 += kAttnBk) {
    // Rows that see some key of this tile: pos >= t0 and (window) pos - win + 1 <= t0 + kAttnBk - 1.
    const int64_t ra = group ? 0 : tmax(0, t0 - first);
    const int64_t rb = group ? rows : win ? tmin(rows, t0 + kAttnBk + win - 1 - first) : rows;
    if (ra >= rb) continue;
    const int64_t jv = tmin(kAttnBk, last + 1 - t0);  // keys of the tile that exist for this block
    const int64_t v0 = ra / V::L, v1 = (rb + V::L - 1) / V::L;  // the lane vectors holding rows [ra, rb)
    const float* kb = a.k + t0 * ks + int64_t(kvh) * d;
    const float* vb = a.v + t0 * ks + int64_t(kvh) * d;
    // The head's keys and values are rows of d floats at a stride of Hkv*d: ask for the next tile's while this
    // one computes, or a decode row (little arithmetic per byte) waits on each row in turn.
    for (int64_t j = kAttnBk; j < tmin(2 * kAttnBk, last + 1 - t0); j++)
      for (int64_t c = 0; c < d; c += 16) {
        __builtin_prefetch(kb + j * ks + c, 0, 2);
        __builtin_prefetch(vb + j * ks + c, 0, 2);
      }
    const float* vp = vb;
    int64_t vs = ks;
    if (!v_in_place) {
      for (int64_t j = 0; j < jv; j++)
        for (int64_t c = 0; c < dp; c++) w.vp[j * dp + c] = c < d ? vb[j * ks + c] : 0.f;
      vp = w.vp;
      vs = dp;
    }

    if (rows == 1 || group) {
      // Decode: the rows see keys [first - win + 1, first] of the tile (all jv of them without a window).
      same_position_tile<V>(w.q, kb, ks, d, jv, win ? tmax(0, first - win + 1 - t0) : 0, rows, w.s, w.m, w.l,
                            w.alpha);
    } else {
      scores<V>(w.q, kb, ks, d, jv, v0, v1, w.s);
      // Key t0 + j is seen by rows [t0 + j - first, t0 + j + win - 1 - first]: -inf for the others in the vectors.
      for (int64_t j = 0; j < jv; j++) {
        const int64_t lo = tmax(v0 * V::L, t0 + j - first);
        const int64_t hi = win ? tmin(v1 * V::L, t0 + j + win - first) : v1 * V::L;  // exclusive
        float* sj = w.s + j * kAttnBq;
        for (int64_t r = v0 * V::L; r < tmin(lo, v1 * V::L); r++) sj[r] = -INFINITY;
        for (int64_t r = tmax(hi, v0 * V::L); r < v1 * V::L; r++) sj[r] = -INFINITY;
      }
      for (int64_t v = v0; v < v1; v++) softmax_step<V>(w.s, jv, v * V::L, w.m, w.l, w.alpha);
    }
    pv<V>(w.s, w.alpha, vp, vs, jv, dp, w.acc, ra, rb);
  }
  for (int64_t r = 0; r < rows; r++) {
    float* o = a.out + row_at(r);
    for (int c = 0; c < d; c++) o[c] = w.acc[r * dp + c] / w.l[r];
  }
}

// y[i] = exp(x[i]) with V's vector exp, the last n % L values through one padded vector (tests hold it to its ulps).
template <class V>
void exp_array(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + V::L <= n; i += V::L) V::store(y + i, V::exp(V::load(x + i)));
  for (; i < n; i++) {
    float in[V::L] = {}, res[V::L];
    in[0] = x[i];
    V::store(res, V::exp(V::load(in)));
    y[i] = res[0];
  }
}

}  // namespace
}  // namespace supra::cpu
