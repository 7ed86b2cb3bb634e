#pragma once
// Shared memory of every CUDA kernel as constexpr functions of the head dim and the tile sizes, and the choice of
// tiles for a device's per-block opt-in limit. The kernels lay out their shared memory with these functions (and
// static_assert their static arrays against them), so this table is their declaration; it has no CUDA include, so
// the CPU build's tests (tests/cuda/test_kernel_smem.cpp) check that every architecture we build for has a
// configuration that fits every supported head dim. The backend plans each launch at the op call (a clear error
// naming the kernel, the need and the limit when nothing fits) and raises a kernel's limit at its first launch that
// needs more than 48 KiB, to exactly what that head dim needs (allow_dynamic_smem in cuda_kernels.h).
#include <cstddef>

#if defined(__CUDACC__)
#define SUPRA_HD __host__ __device__  // the kernels compute their layouts with the same functions
#else
#define SUPRA_HD
#endif

namespace supra::cuda::smem {

// The architectures built by default (cmake/Cuda.cmake, checked by the test) and their opt-in shared memory per
// block (cudaDevAttrMaxSharedMemoryPerBlockOptin), from the CUDA C++ Programming Guide's table of technical
// specifications per compute capability.
struct Arch {
  int sm;  // compute capability x10
  const char* gpus;
  size_t optin_bytes;
};
inline constexpr Arch kArchs[] = {
    {80, "A100, A800, A30", 163 * 1024},
    {86, "RTX 30xx, A10, A40, A6000", 99 * 1024},
    {89, "L4, L40, L40S, RTX 40xx, RTX 6000 Ada", 99 * 1024},
    {90, "H100, H200, GH200", 227 * 1024},
};

inline constexpr size_t kDefaultLimit = 48 * 1024;  // dynamic shared memory a launch gets without opting in
inline constexpr int kMaxHeadDim = 256;             // d <= 256 in every attention kernel
inline constexpr int kSupraMaxChunk = 64;           // SUPRA chunk kernels hold chunks of at most 64 rows

SUPRA_HD constexpr size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }
SUPRA_HD constexpr size_t max_of(size_t a, size_t b) { return a > b ? a : b; }

// ------------------------------------------------------------------ softmax attention (cuda_softmax_attention.cu)
// Split-K decode: static arrays (per-warp max, sum, and output of kDecHeads query heads); lanes hold 32 * DT dims.
inline constexpr int kDecWarps = 4, kDecHeads = 8;
SUPRA_HD constexpr int decode_dt(int d) { return d <= 32 ? 1 : d <= 64 ? 2 : d <= 128 ? 4 : 8; }
SUPRA_HD constexpr size_t attn_decode_bytes(int d) {
  return (size_t(2) * kDecWarps * kDecHeads + size_t(kDecWarps) * kDecHeads * 32 * decode_dt(d)) * sizeof(float);
}

// fp32 flash (CUDA cores): Q, K, V tiles of 32 rows, odd row stride d + 1.
inline constexpr int kFBQ = 32, kFBK = 32;
SUPRA_HD constexpr size_t attn_flash_f32_bytes(int d) {
  return size_t(kFBQ + 2 * kFBK) * size_t(d + 1) * sizeof(float);
}

// Tensor-core flash (WMMA, f16 or bf16 fragments): 64 x 64 tiles, 4 warps of 16 query rows.
inline constexpr int kTBQ = 64, kTBK = 64;
SUPRA_HD constexpr bool attn_wmma_head_dim(int d) { return d == 64 || d == 128; }  // the instantiated head dims
struct WmmaFlashLayout {
  int ldh, ldp, lds, ldo, ldw;  // strides: 16-bit Q, K, V; 16-bit P; fp32 S; fp32 P V; per-warp scratch
  size_t q_off, k_off, v_off, p_off, w_off, bytes;
};
SUPRA_HD constexpr WmmaFlashLayout attn_wmma_layout(int d) {
  WmmaFlashLayout L{};
  L.ldh = d + 8;  // multiple of 8, rows 32-byte aligned
  L.ldp = kTBK + 8;
  L.lds = kTBK + 4;
  L.ldo = d + 4;
  L.ldw = L.lds > L.ldo ? L.lds : L.ldo;
  L.q_off = 0;
  L.k_off = L.q_off + size_t(kTBQ) * L.ldh * 2;
  L.v_off = L.k_off + size_t(kTBK) * L.ldh * 2;
  L.p_off = L.v_off + size_t(kTBK) * L.ldh * 2;
  L.w_off = L.p_off + size_t(kTBQ) * L.ldp * 2;
  L.bytes = L.w_off + size_t(4) * 16 * L.ldw * 4;
  return L;
}

// ------------------------------------------------------------------ SUPRA (cuda_supra_attention.cu)
inline constexpr int kSupraCols = 32;  // fp32 kernels: value columns per block
inline constexpr int kSupraThreads = 256;

// fp32 chunked (CUDA cores, the reference path): Q, K chunk (odd stride), V slice, A, S slice, decays.
SUPRA_HD constexpr size_t supra_f32_chunked_floats(int d, int C) {
  return size_t(2) * C * (d + 1) + size_t(C) * kSupraCols + size_t(C) * (C + 1) + size_t(d) * kSupraCols + (C + 1);
}
SUPRA_HD constexpr size_t supra_f32_chunked_bytes(int d, int C) {
  return supra_f32_chunked_floats(d, C) * sizeof(float);
}
// Recurrent (decode): static q, k (kMaxHeadDim each), v slice, per-warp partial sums.
SUPRA_HD constexpr size_t supra_recurrent_bytes() {
  return (size_t(2) * kMaxHeadDim + kSupraCols + size_t(kSupraThreads / 32) * kSupraCols) * sizeof(float);
}
// Parallel reference (tests): static q row and one score per thread.
SUPRA_HD constexpr size_t supra_parallel_bytes() { return size_t(kMaxHeadDim + kSupraThreads) * sizeof(float); }

// Tensor-core chunked (bf16 fragments, fp32 accumulation, fp32 state), three kernels per segment of chunks:
//  state:  U_c = sum_j exp(-s(m-1-j)) k_j v_j^T per chunk c (parallel over chunks and heads)
//  scan:   S_in(c) = the state entering chunk c; S = exp(-s m) S + U_c (sequential over chunks, no shared memory)
//  output: o = (mask(Q K^T) V) + exp(-s(i+1)) Q S_in(c), for a slice of `et` value columns (parallel over chunks)
// Chunks of C rows, C a multiple of 16; head dims multiples of 16.
inline constexpr int kSupraTcWarps = 4;
SUPRA_HD constexpr bool supra_tc_head_dim(int d) { return d % 16 == 0 && d >= 16 && d <= kMaxHeadDim; }
SUPRA_HD constexpr int supra_tc_chunk(int chunk) { return chunk >= 64 ? 64 : chunk >= 32 ? 32 : 16; }
struct SupraTcStateLayout {
  int ld;  // bf16 stride of the K_w and V chunks
  size_t k_off, v_off, bytes;
};
SUPRA_HD constexpr SupraTcStateLayout supra_tc_state_layout(int d, int C) {
  SupraTcStateLayout L{};
  L.ld = d + 8;
  L.k_off = 0;
  L.v_off = round_up(size_t(C) * L.ld * 2, 128);
  L.bytes = L.v_off + round_up(size_t(C) * L.ld * 2, 128);
  return L;
}
struct SupraTcOutLayout {
  int ldq, lde, lda, ldw;  // bf16 Q and K; bf16 S slice and V slice; bf16 A; fp32 per-warp scratch
  size_t q_off, r_off, v_off, a_off, w_off, dec_off, bytes;  // r: K, then (once A is built) the S slice
};
SUPRA_HD constexpr SupraTcOutLayout supra_tc_out_layout(int d, int C, int et) {
  SupraTcOutLayout L{};
  L.ldq = d + 8;
  L.lde = et + 8;
  L.lda = C + 8;
  L.ldw = C + 4;  // holds a 16 x C strip of Q K^T, then 16 x 16 output tiles
  L.q_off = 0;
  L.r_off = L.q_off + round_up(size_t(C) * L.ldq * 2, 128);
  L.v_off = L.r_off + round_up(max_of(size_t(C) * L.ldq * 2, size_t(d) * L.lde * 2), 128);
  L.a_off = L.v_off + round_up(size_t(C) * L.lde * 2, 128);
  L.w_off = L.a_off + round_up(size_t(C) * L.lda * 2, 128);
  L.dec_off = L.w_off + round_up(size_t(kSupraTcWarps) * 16 * L.ldw * 4, 128);
  L.bytes = L.dec_off + round_up(size_t(C + 1) * 4, 128);
  return L;
}

// ------------------------------------------------------------------ plans for one device
// A plan names the kernel it launches and what that needs; fits is false when no configuration fits `limit`.
struct Plan {
  const char* kernel;
  size_t bytes;  // shared memory per block of the chosen (or, when nothing fits, the smallest) configuration
  bool fits;
  int tile;  // kernel-specific: the chunk of the fp32 SUPRA kernel, the value-column slice of the SUPRA TC output
};

// Softmax prefill: tensor cores when asked for and the head dim has an instance that fits, else fp32 tiles.
constexpr Plan plan_attention_prefill(int d, bool tensor_cores, size_t limit) {
  if (tensor_cores && attn_wmma_head_dim(d) && attn_wmma_layout(d).bytes <= limit)
    return {"attn_flash_wmma", attn_wmma_layout(d).bytes, true, kTBQ};
  const size_t b = attn_flash_f32_bytes(d);
  return {"attn_flash_f32", b, b <= limit, kFBQ};
}
constexpr Plan plan_attention_decode(int d, size_t limit) {
  return {"attn_decode", attn_decode_bytes(d), attn_decode_bytes(d) <= limit, 0};
}
// fp32 SUPRA chunked: the requested chunk (at most 64) if it fits, else the largest half of it that does. The
// result is the same function of the inputs for every chunk.
constexpr Plan plan_supra_f32_chunked(int d, int chunk, size_t limit) {
  int C = chunk < 1 ? 1 : chunk > kSupraMaxChunk ? kSupraMaxChunk : chunk;
  while (C > 1 && supra_f32_chunked_bytes(d, C) > limit) C /= 2;
  return {"supra_chunked_f32", supra_f32_chunked_bytes(d, C), supra_f32_chunked_bytes(d, C) <= limit, C};
}
// Tensor-core SUPRA: the whole value width per block when it fits (Q K^T computed once per chunk), else slices
// of 64, 32, 16 columns (each slice recomputes Q K^T). bytes: the larger of the state and output kernels.
constexpr Plan plan_supra_tc(int d, int chunk, size_t limit) {
  const int C = supra_tc_chunk(chunk);
  const size_t st = supra_tc_state_layout(d, C).bytes;
  const int tiles[] = {d, 64, 32, 16};
  size_t smallest = 0;
  for (int et : tiles) {
    if (et > d) continue;
    const size_t b = max_of(st, supra_tc_out_layout(d, C, et).bytes);
    smallest = b;
    if (b <= limit) return {"supra_chunked_tc", b, true, et};
  }
  return {"supra_chunked_tc", smallest, false, 16};
}
constexpr Plan plan_supra_recurrent(size_t limit) {
  return {"supra_recurrent", supra_recurrent_bytes(), supra_recurrent_bytes() <= limit, 0};
}

}  // namespace supra::cuda::smem
