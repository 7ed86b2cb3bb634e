#pragma once
// One row (or a few) times a packed weight panel (decode) with AVX-512, reading oneDNN's packed layout directly: no
// primitive call, no allocation. cpu_gemm.cpp uses it only where it gives the same bits as oneDNN's brgemm on
// the same panel (an f32 or bf16 brgemm kernel at avx512_core(_bf16) with the layouts below), so a row computed
// alone equals the same row computed among others (tests/engine/test_cpu_gemm.cpp checks rows bitwise).
//
// Layouts of one panel (what oneDNN 2.6 picks for brgemm; cpu_gemm.cpp checks before using these):
//   f32  "BA16a64b":   [cols/64 blocks][Kp = K rounded up to 16][64 columns]
//   bf16 "BA16a64b2a": [cols/64 blocks][Kp/2 pairs, Kp = K rounded up to 32][64 columns][2 consecutive k]
// brgemm sums each output in blocks of k (f32: one FMA per k; bf16: one vdpbf16ps per pair of k), each block from
// zero, and adds the blocks' sums in order. Its block length depends on K by a heuristic of its own (measured with
// 2.6: all of K up to 512, then 512 or 1024), so cpu_gemm.cpp finds it by probing each layout once.
#include <cstdint>

namespace supra::cpu {

// y[r, 0 .. cols) = x[r, 0 .. K) . W[:, 0 .. cols) (+ bias) for r < rows (a decode step's sequences), x rows at
// stride ldx and y rows at stride ldy, W one panel in the layout above with `block_stride` elements between
// 64-column blocks, each sum in blocks of kblock k (K: one sum). One row streams two blocks at once; more rows go
// 4 at a time, each weight vector loaded once for them. A row's bits do not depend on the others.
void gemv_rows_f32_avx512(const float* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock, const float* w,
                          int64_t block_stride, int64_t cols, const float* bias, float* y, int64_t ldy);
// x in bf16 (K values a row; an odd K's last pair is completed with 0, as the packed weight is); kblock even.
void gemv_rows_bf16_avx512(const uint16_t* x, int64_t ldx, int64_t rows, int64_t K, int64_t kblock,
                           const uint16_t* w, int64_t block_stride, int64_t cols, const float* bias, float* y,
                           int64_t ldy);

}  // namespace supra::cpu
