// The M = 1 kernels of cpu_gemv.h. This file alone is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq
// -mavx512bf16 (CMakeLists.txt); cpu_gemm.cpp calls it only when cpu_isa() is Avx512 (and the CPU has AVX512-BF16
// for the bf16 kernel). Plain functions over intrinsics: no inline library template is compiled here.
#include "engine/cpu/cpu_gemv.h"

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

namespace supra::cpu {
namespace {

// Columns [c0, c0 + 64) of y from the block's four accumulators; a short last block stores only its columns.
inline void store_block(const __m512 acc[4], const float* bias, int64_t n, float* y) {
  for (int i = 0; i < 4; i++) {
    const int64_t left = n - 16 * i;
    if (left <= 0) return;
    const __mmask16 m = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    __m512 v = acc[i];
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + 16 * i));
    _mm512_mask_storeu_ps(y + 16 * i, m, v);
  }
}

// Sums of kblock k each, from zero, added in order (brgemm's K blocking; the first block's sum is the total so far).
template <int NB>
inline void fold(__m512 (&tot)[NB][4], const __m512 (&acc)[NB][4], bool first) {
  for (int b = 0; b < NB; b++)
    for (int i = 0; i < 4; i++) tot[b][i] = first ? acc[b][i] : _mm512_add_ps(tot[b][i], acc[b][i]);
}

// fold with the totals in memory.
template <int R>
inline void fold_to_memory(float (&tot)[R][64], const __m512 (&acc)[R][4], bool first) {
  for (int r = 0; r < R; r++)
    for (int i = 0; i < 4; i++)
      _mm512_store_ps(tot[r] + 16 * i, first ? acc[r][i] : _mm512_add_ps(_mm512_load_ps(tot[r] + 16 * i), acc[r][i]));
}

// NB blocks of 64 columns at once (NB * 4 independent FMA chains, NB streams of weights).
template <int NB>
void f32_blocks(const float* x, int64_t K, int64_t kblock, const float* w, int64_t bs, const float* bias,
                int64_t cols, float* y) {
  __m512 tot[NB][4];
  for (int64_t k0 = 0; k0 < K; k0 += kblock) {
    __m512 acc[NB][4];
    for (int b = 0; b < NB; b++)
      for (int i = 0; i < 4; i++) acc[b][i] = _mm512_setzero_ps();
    const int64_t k1 = k0 + kblock < K ? k0 + kblock : K;
    for (int64_t k = k0; k < k1; k++) {
      const __m512 xk = _mm512_set1_ps(x[k]);
      for (int b = 0; b < NB; b++) {
        const float* wk = w + b * bs + k * 64;
        for (int i = 0; i < 4; i++) acc[b][i] = _mm512_fmadd_ps(xk, _mm512_loadu_ps(wk + 16 * i), acc[b][i]);
      }
    }
    fold<NB>(tot, acc, k0 == 0);
  }
  for (int b = 0; b < NB; b++) store_block(tot[b], bias ? bias + 64 * b : nullptr, cols - 64 * b, y + 64 * b);
}

// kblock is even: blocks hold whole pairs.
template <int NB>
void bf16_blocks(const uint16_t* x, int64_t K, int64_t kblock, const uint16_t* w, int64_t bs, const float* bias,
                 int64_t cols, float* y) {
  __m512 tot[NB][4];
  for (int64_t k0 = 0; k0 < K; k0 += kblock) {
    __m512 acc[NB][4];
    for (int b = 0; b < NB; b++)
      for (int i = 0; i < 4; i++) acc[b][i] = _mm512_setzero_ps();
    const int64_t k1 = k0 + kblock < K ? k0 + kblock : K;
    for (int64_t p = k0 / 2; p < (k1 + 1) / 2; p++) {
      const uint32_t lo = x[2 * p], hi = 2 * p + 1 < K ? x[2 * p + 1] : 0;
      const __m512bh xp = (__m512bh)_mm512_set1_epi32(int(lo | hi << 16));
      for (int b = 0; b < NB; b++) {
        const uint16_t* wp = w + b * bs + p * 128;
        for (int i = 0; i < 4; i++)
          acc[b][i] = _mm512_dpbf16_ps(acc[b][i], xp, (__m512bh)_mm512_loadu_si512(wp + 32 * i));
      }
    }
    fold<NB>(tot, acc, k0 == 0);
  }
  for (int b = 0; b < NB; b++) store_block(tot[b], bias ? bias + 64 * b : nullptr, cols - 64 * b, y + 64 * b);
}

// R rows (1..4) against one block of 64 columns: each weight vector loaded once serves the R rows. Per row the same
// sums as f32_blocks/bf16_blocks (block sums from zero, added in order); the running totals live in tot.
template <int R>
void f32_rows_block(const float* x, int64_t ldx, int64_t K, int64_t kblock, const float* w, const float* bias,
                    int64_t n, float* y, int64_t ldy) {
  // The running totals stay in memory (exact f32 either way): 4 rows' accumulators fill the registers.
  alignas(64) float tot[R][64];
  for (int64_t k0 = 0; k0 < K; k0 += kblock) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
      for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_ps();
    const int64_t k1 = k0 + kblock < K ? k0 + kblock : K;
    for (int64_t k = k0; k < k1; k++) {
      __m512 wv[4];
      for (int i = 0; i < 4; i++) wv[i] = _mm512_loadu_ps(w + k * 64 + 16 * i);
      for (int r = 0; r < R; r++) {
        const __m512 xk = _mm512_set1_ps(x[r * ldx + k]);
        for (int i = 0; i < 4; i++) acc[r][i] = _mm512_fmadd_ps(xk, wv[i], acc[r][i]);
      }
    }
    fold_to_memory<R>(tot, acc, k0 == 0);
  }
  for (int r = 0; r < R; r++) {
    __m512 t[4];
    for (int i = 0; i < 4; i++) t[i] = _mm512_load_ps(tot[r] + 16 * i);
    store_block(t, bias, n, y + r * ldy);
  }
}

template <int R>
void bf16_rows_block(const uint16_t* x, int64_t ldx, int64_t K, int64_t kblock, const uint16_t* w, const float* bias,
                     int64_t n, float* y, int64_t ldy) {
  alignas(64) float tot[R][64];  // as in f32_rows_block
  for (int64_t k0 = 0; k0 < K; k0 += kblock) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
      for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_ps();
    const int64_t k1 = k0 + kblock < K ? k0 + kblock : K;
    for (int64_t p = k0 / 2; p < (k1 + 1) / 2; p++) {
      __m512bh wv[4];
      for (int i = 0; i < 4; i++) wv[i] = (__m512bh)_mm512_loadu_si512(w + p * 128 + 32 * i);
      for (int r = 0; r < R; r++) {
        const uint32_t lo = x[r * ldx + 2 * p], hi = 2 * p + 1 < K ? x[r * ldx + 2 * p + 1] : 0;
        const __m512bh xp = (__m512bh)_mm512_set1_epi32(int(lo | hi << 16));
        for (int i = 0; i < 4; i++) acc[r][i] = _mm512_dpbf16_ps(acc[r][i], xp, wv[i]);
      }
    }
    fold_to_memory<R>(tot, acc, k0 == 0);
  }
  for (int r = 0; r < R; r++) {
    __m512 t[4];
    for (int i = 0; i < 4; i++) t[i] = _mm512_load_ps(tot[r] + 16 * i);
    store_block(t, bias, n, y + r * ldy);
  }
}

// Rows in groups of 4, then the 1-3 left, per 64-column block.
template <class T, class Block>
void rows_panel(const T* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock, const T* w, int64_t block_stride,
                int64_t cols, const float* bias, float* y, int64_t ldy, const Block (&block)[4]) {
  for (int64_t c = 0; c < cols; c += 64)
    for (int64_t r = 0; r < rows;) {
      const int64_t take = rows - r < 4 ? rows - r : 4;
      block[take - 1](x + r * ldx, ldx, K, kblock, w + c / 64 * block_stride, bias ? bias + c : nullptr, cols - c,
                      y + r * ldy + c, ldy);
      r += take;
    }
}

}  // namespace

void gemv_rows_f32_avx512(const float* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock, const float* w,
                          int64_t block_stride, int64_t cols, const float* bias, float* y, int64_t ldy) {
  if (rows == 1) return gemv_panel_f32_avx512(x, K, kblock, w, block_stride, cols, bias, y);
  static constexpr decltype(&f32_rows_block<1>) blocks[4] = {f32_rows_block<1>, f32_rows_block<2>, f32_rows_block<3>,
                                                              f32_rows_block<4>};
  rows_panel(x, ldx, rows, K, kblock, w, block_stride, cols, bias, y, ldy, blocks);
}

void gemv_rows_bf16_avx512(const uint16_t* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock,
                           const uint16_t* w, int64_t block_stride, int64_t cols, const float* bias, float* y,
                           int64_t ldy) {
  if (rows == 1) return gemv_panel_bf16_avx512(x, K, kblock, w, block_stride, cols, bias, y);
  static constexpr decltype(&bf16_rows_block<1>) blocks[4] = {bf16_rows_block<1>, bf16_rows_block<2>,
                                                               bf16_rows_block<3>, bf16_rows_block<4>};
  rows_panel(x, ldx, rows, K, kblock, w, block_stride, cols, bias, y, ldy, blocks);
}

void gemv_panel_f32_avx512(const float* x, int64_t K, int64_t kblock, const float* w, int64_t block_stride,
                           int64_t cols, const float* bias, float* y) {
  int64_t c = 0;
  for (; c + 64 < cols; c += 128)
    f32_blocks<2>(x, K, kblock, w + c / 64 * block_stride, block_stride, bias ? bias + c : nullptr, cols - c, y + c);
  if (c < cols) f32_blocks<1>(x, K, kblock, w + c / 64 * block_stride, block_stride, bias ? bias + c : nullptr, cols - c, y + c);
}

void gemv_panel_bf16_avx512(const uint16_t* x, int64_t K, int64_t kblock, const uint16_t* w,
                            int64_t block_stride, int64_t cols, const float* bias, float* y) {
  int64_t c = 0;
  for (; c + 64 < cols; c += 128)
    bf16_blocks<2>(x, K, kblock, w + c / 64 * block_stride, block_stride, bias ? bias + c : nullptr, cols - c, y + c);
  if (c < cols)
    bf16_blocks<1>(x, K, kblock, w + c / 64 * block_stride, block_stride, bias ? bias + c : nullptr, cols - c, y + c);
}

}  // namespace supra::cpu

#else  // not x86-64: cpu_gemm.cpp never calls these there
#include "core/error.h"
namespace supra::cpu {
void gemv_panel_f32_avx512(const float*, int64_t, int64_t, const float*, int64_t, int64_t, const float*, float*) {
  fail("gemv_panel_f32_avx512 called on a processor without AVX-512");
}
void gemv_panel_bf16_avx512(const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t, int64_t, const float*,
                            float*) {
  fail("gemv_panel_bf16_avx512 called on a processor without AVX-512");
}
void gemv_rows_f32_avx512(const float*, int64_t, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                          const float*, float*, int64_t) {
  fail("gemv_rows_f32_avx512 called on a processor without AVX-512");
}
void gemv_rows_bf16_avx512(const uint16_t*, int64_t, int64_t, int64_t, int64_t, const uint16_t*, int64_t, int64_t,
                           const float*, float*, int64_t) {
  fail("gemv_rows_bf16_avx512 called on a processor without AVX-512");
}
}  // namespace supra::cpu
#endif
