// The tiled softmax attention with AVX2 + FMA (8 lanes). This file alone is compiled with -mavx2 -mfma -mf16c
// (CMakeLists.txt); cpu_softmax_attention.cpp calls it only when cpu_isa() is Avx2 or above.
#include "engine/cpu/softmax_attention_isa.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

namespace supra::cpu {
namespace {

struct Avx2 {
  using reg = __m256;
  static constexpr int L = 8, kScoreCV = 2, kPvCV = 2;
  static reg zero() { return _mm256_setzero_ps(); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg set1(float x) { return _mm256_set1_ps(x); }
  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg eq_select(reg a, reg b, reg x, reg y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_EQ_OQ)); }
  // r[i][j] becomes r[j][i] (8 x 8): pairs, then 64-bit pairs, then the two 128-bit lanes.
  static void transpose(reg (&r)[L]) {
    reg t[L];
    for (int i = 0; i < L; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < L; i += 4) {
      r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
      t[i] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x20);
      t[i + 4] = _mm256_permute2f128_ps(r[i], r[i + 4], 0x31);
    }
    for (int i = 0; i < L; i++) r[i] = t[i];
  }
  // exp(x) = 2^t e^r with t = round(x log2 e), r = x - t ln 2 (ln 2 split in two so r is exact to ~1 ulp), e^r by
  // its Taylor polynomial of degree 7 (truncation < 6e-9 relative on |r| <= ln2/2). Clamped to [-87, 88] so 2^t
  // stays a normal number; a NaN stays NaN (max/min return their second operand on NaN); exactly 0 at -inf.
  static reg exp(reg x) {
    const reg neg_inf = _mm256_cmp_ps(x, _mm256_set1_ps(-INFINITY), _CMP_EQ_OQ);
    x = _mm256_min_ps(_mm256_set1_ps(88.f), _mm256_max_ps(_mm256_set1_ps(-87.f), x));
    const reg t = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    reg r = _mm256_fnmadd_ps(t, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(t, _mm256_set1_ps(-2.12194440e-4f), r);
    reg p = _mm256_set1_ps(1.f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(t), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(neg_inf, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
  }
};

}  // namespace
}  // namespace supra::cpu

#include "engine/cpu/softmax_attention_tiles.h"

namespace supra::cpu {

void softmax_attention_block_avx2(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w) {
  attention_block<Avx2>(a, h, blk, w);
}

void attn_exp_avx2(const float* x, float* y, int64_t n) { exp_array<Avx2>(x, y, n); }

}  // namespace supra::cpu

#else  // not x86-64: cpu_isa() is always Portable there
namespace supra::cpu {
void softmax_attention_block_avx2(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w) {
  softmax_attention_block_portable(a, h, blk, w);
}
void attn_exp_avx2(const float*, float*, int64_t) {}
}  // namespace supra::cpu
#endif
