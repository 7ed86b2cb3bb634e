// The tiled softmax attention with AVX-512 (16 lanes). This file alone is compiled with -mavx512f -mavx512bw
// -mavx512vl -mavx512dq -mavx2 -mfma -mf16c (CMakeLists.txt); cpu_softmax_attention.cpp calls it only when
// cpu_isa() is Avx512.
#include "engine/cpu/softmax_attention_isa.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_ps(), which -Wmaybe-uninitialized flags at every use.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>
#include <math.h>

namespace supra::cpu {
namespace {

struct Avx512 {
  using reg = __m512;
  static constexpr int L = 16, kScoreCV = 4, kPvCV = 4;
  static reg zero() { return _mm512_setzero_ps(); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg set1(float x) { return _mm512_set1_ps(x); }
  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg eq_select(reg a, reg b, reg x, reg y) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ), y, x);
  }
  // r[i][j] becomes r[j][i] (16 x 16): pairs, then 64-bit pairs, then 128-bit lanes twice.
  static void transpose(reg (&r)[L]) {
    reg t[L];
    for (int i = 0; i < L; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < L; i += 4) {
      const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
      const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
      r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
      r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
      r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
      r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // Each 128-bit lane now holds a 4 x 4 block transposed; move the blocks into place.
    for (int i = 0; i < 4; i++) {
      t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
      t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
      t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
      t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 8; i++) {
      r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
      r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd);
    }
  }
  // As Avx2::exp (cpu_softmax_attention_avx2.cpp): 2^t e^r, Taylor degree 7, clamped to [-87, 88]; scalef
  // applies 2^t; exactly 0 at -inf.
  static reg exp(reg x) {
    const __mmask16 neg_inf = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-INFINITY), _CMP_EQ_OQ);
    x = _mm512_min_ps(_mm512_set1_ps(88.f), _mm512_max_ps(_mm512_set1_ps(-87.f), x));
    const reg t = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg r = _mm512_fnmadd_ps(t, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(t, _mm512_set1_ps(-2.12194440e-4f), r);
    reg p = _mm512_set1_ps(1.f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
    return _mm512_maskz_mov_ps(_knot_mask16(neg_inf), _mm512_scalef_ps(p, t));
  }
};

}  // namespace
}  // namespace supra::cpu

#include "engine/cpu/softmax_attention_tiles.h"

namespace supra::cpu {

void softmax_attention_block_avx512(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w) {
  attention_block<Avx512>(a, h, blk, w);
}

void attn_exp_avx512(const float* x, float* y, int64_t n) { exp_array<Avx512>(x, y, n); }

}  // namespace supra::cpu

#else  // not x86-64: cpu_isa() is always Portable there
namespace supra::cpu {
void softmax_attention_block_avx512(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w) {
  softmax_attention_block_portable(a, h, blk, w);
}
void attn_exp_avx512(const float*, float*, int64_t) {}
}  // namespace supra::cpu
#endif
