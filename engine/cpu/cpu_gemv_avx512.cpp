// The decode kernels of cpu_gemv.h. This file alone is compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq
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

// The two element types, as one step of brgemm's sum: f32 adds one k per FMA; bf16 adds a pair of k per vdpbf16ps
// (an odd K's last pair completed with 0, as the packed weight is). A unit is one k (f32) or one pair (bf16); a
// 64-column block holds kUnit elements per unit, a vector kVec of them.
struct F32 {
  using T = float;
  static constexpr int kPerUnit = 1;
  static constexpr int64_t kUnit = 64, kVec = 16;
  static __m512 x_unit(const float* x, int64_t u, int64_t) { return _mm512_set1_ps(x[u]); }
  static __m512 step(__m512 acc, __m512 xu, const float* w) { return _mm512_fmadd_ps(xu, _mm512_loadu_ps(w), acc); }
};
struct Bf16 {
  using T = uint16_t;
  static constexpr int kPerUnit = 2;
  static constexpr int64_t kUnit = 128, kVec = 32;
  static __m512 x_unit(const uint16_t* x, int64_t p, int64_t K) {
    const uint32_t lo = x[2 * p], hi = 2 * p + 1 < K ? x[2 * p + 1] : 0;
    return _mm512_castsi512_ps(_mm512_set1_epi32(int(lo | hi << 16)));
  }
  static __m512 step(__m512 acc, __m512 xu, const uint16_t* w) {
    return _mm512_dpbf16_ps(acc, (__m512bh)xu, (__m512bh)_mm512_loadu_si512(w));
  }
};

// One row against NB blocks of 64 columns at once (NB * 4 independent chains, NB streams of weights).
template <class D, int NB>
void one_row_blocks(const typename D::T* x, int64_t K, int64_t kblock, const typename D::T* w, int64_t bs,
                    const float* bias, int64_t cols, float* y) {
  __m512 tot[NB][4];
  for (int64_t k0 = 0; k0 < K; k0 += kblock) {  // kblock is a whole number of units
    __m512 acc[NB][4];
    for (int b = 0; b < NB; b++)
      for (int i = 0; i < 4; i++) acc[b][i] = _mm512_setzero_ps();
    const int64_t k1 = k0 + kblock < K ? k0 + kblock : K;
    for (int64_t u = k0 / D::kPerUnit; u < (k1 + D::kPerUnit - 1) / D::kPerUnit; u++) {
      const __m512 xu = D::x_unit(x, u, K);
      for (int b = 0; b < NB; b++)
        for (int i = 0; i < 4; i++) acc[b][i] = D::step(acc[b][i], xu, w + b * bs + u * D::kUnit + i * D::kVec);
    }
    fold<NB>(tot, acc, k0 == 0);
  }
  for (int b = 0; b < NB; b++) store_block(tot[b], bias ? bias + 64 * b : nullptr, cols - 64 * b, y + 64 * b);
}

// R rows (1..4) against one block of 64 columns: each weight vector loaded once serves the R rows. Per row the same
// sums as one_row_blocks (block sums from zero, added in order); the running totals stay in memory (exact f32
// either way): 4 rows' accumulators fill the registers.
template <class D, int R>
void rows_block(const typename D::T* x, int64_t ldx, int64_t K, int64_t kblock, const typename D::T* w,
                const float* bias, int64_t n, float* y, int64_t ldy) {
  alignas(64) float tot[R][64];
  for (int64_t k0 = 0; k0 < K; k0 += kblock) {
    __m512 acc[R][4];
    for (int r = 0; r < R; r++)
      for (int i = 0; i < 4; i++) acc[r][i] = _mm512_setzero_ps();
    const int64_t k1 = k0 + kblock < K ? k0 + kblock : K;
    for (int64_t u = k0 / D::kPerUnit; u < (k1 + D::kPerUnit - 1) / D::kPerUnit; u++)
      for (int r = 0; r < R; r++) {
        const __m512 xu = D::x_unit(x + r * ldx, u, K);
        for (int i = 0; i < 4; i++) acc[r][i] = D::step(acc[r][i], xu, w + u * D::kUnit + i * D::kVec);
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
template <class D>
void rows_panel(const typename D::T* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock, const typename D::T* w,
                int64_t block_stride, int64_t cols, const float* bias, float* y, int64_t ldy) {
  static constexpr decltype(&rows_block<D, 1>) block[4] = {rows_block<D, 1>, rows_block<D, 2>, rows_block<D, 3>,
                                                           rows_block<D, 4>};
  for (int64_t c = 0; c < cols; c += 64)
    for (int64_t r = 0; r < rows;) {
      const int64_t take = rows - r < 4 ? rows - r : 4;
      block[take - 1](x + r * ldx, ldx, K, kblock, w + c / 64 * block_stride, bias ? bias + c : nullptr, cols - c,
                      y + r * ldy + c, ldy);
      r += take;
    }
}

// One row: two blocks (128 columns, a whole panel) at a time, for two weight streams in flight.
template <class D>
void one_row_panel(const typename D::T* x, int64_t K, int64_t kblock, const typename D::T* w, int64_t block_stride,
                   int64_t cols, const float* bias, float* y) {
  int64_t c = 0;
  for (; c + 64 < cols; c += 128)
    one_row_blocks<D, 2>(x, K, kblock, w + c / 64 * block_stride, block_stride, bias ? bias + c : nullptr, cols - c,
                         y + c);
  if (c < cols)
    one_row_blocks<D, 1>(x, K, kblock, w + c / 64 * block_stride, block_stride, bias ? bias + c : nullptr, cols - c,
                         y + c);
}

}  // namespace

void gemv_rows_f32_avx512(const float* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock, const float* w,
                          int64_t block_stride, int64_t cols, const float* bias, float* y, int64_t ldy) {
  if (rows == 1) return one_row_panel<F32>(x, K, kblock, w, block_stride, cols, bias, y);
  rows_panel<F32>(x, ldx, rows, K, kblock, w, block_stride, cols, bias, y, ldy);
}

void gemv_rows_bf16_avx512(const uint16_t* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock,
                           const uint16_t* w, int64_t block_stride, int64_t cols, const float* bias, float* y,
                           int64_t ldy) {
  if (rows == 1) return one_row_panel<Bf16>(x, K, kblock, w, block_stride, cols, bias, y);
  rows_panel<Bf16>(x, ldx, rows, K, kblock, w, block_stride, cols, bias, y, ldy);
}

}  // namespace supra::cpu

#else  // not x86-64: cpu_gemm.cpp never calls these there
#include "core/error.h"
namespace supra::cpu {
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
