#pragma once
// The CPU backend's GEMM: oneDNN matmul on weights packed once at load, f32 or bf16 compute, batch invariant
// (a row of y is bitwise the same whatever the other rows of the call; cpu_gemm.cpp says how).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/tensor.h"

namespace supra::cpu {

// W[out, in] (f32, f16 or bf16) converted once to `compute` (F32 or BF16) and reordered into oneDNN's layout,
// in panels of output columns. Opaque; shared by the Tensors that carry it (Tensor::packed).
struct PackedWeight;

// `parts`: the widths of weights stacked in W (q/k/v, gate/up), each written to its own output; empty: one part.
std::shared_ptr<const PackedWeight> pack_weight(const Tensor& w, DType compute, std::span<const int64_t> parts = {});
int64_t packed_out(const PackedWeight& w);
int64_t packed_in(const PackedWeight& w);
DType packed_compute(const PackedWeight& w);
const std::vector<int64_t>& packed_parts(const PackedWeight& w);

// [y_0 | y_1 | ...][n, out] = x[n, in] . W^T (+ bias[out]), y_i[n, parts[i]] row-major: one pass over x for all
// parts. Inputs rounded to bf16 first when W computes in bf16; fp32 accumulation. No allocation once every row
// count has been seen (primitives, memory objects and scratch are cached).
// Whether this CPU gets oneDNN's brgemm (AVX-512): only then are rows bitwise independent of the other rows of a
// call, and only then is bf16 compute available. Asked of a probe matmul once; tests skip what it rules out.
bool gemm_batch_invariant();

void packed_matmul(const float* x, int64_t n, const PackedWeight& w, std::span<float* const> ys, const float* bias);

// Whether calls of a few rows (decode, up to 16 sequences) on this weight run cpu_gemv.h: no oneDNN call and no
// allocation. True on AVX-512 with the oneDNN layouts and kernels that kernel reproduces bitwise; elsewhere every
// call goes through oneDNN.
bool packed_decode_kernel(const PackedWeight& w);

}  // namespace supra::cpu
