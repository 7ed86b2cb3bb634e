// SUPRA linear attention on the GPU (SUPRA.md section 3), continuing from and updating state[H, d, d] (fp32):
//   S_t = sum_{j<=t} exp(-s(t-j)) k_j v_j^T,  o_t = S_t^T q_t.
// Every decay factor is exp(-s * non-negative distance); nothing divides by a power of gamma. Chunk of C rows at
// position p, local rows i, j:
//   A[i][j] = exp(-s(i-j)) q_i.k_j (j <= i),  o_i = sum_j A[i][j] v_j + exp(-s(i+1)) S^T q_i,
//   S = exp(-sC) S + sum_j exp(-s(C-1-j)) k_j v_j^T  (C = rows of this chunk).
// Four kernels compute it (shared memory of each: kernel_smem.h):
//  - chunked, tensor cores (prefill and scoring with 16-bit weights): bf16 fragments, fp32 accumulation, fp32
//    state. Per segment of chunks: (1) every chunk's own state U_c = sum_j exp(-s(C-1-j)) k_j v_j^T, one block
//    per (chunk, head); (2) a scan over the chunks of the segment, one thread per state element, giving the state
//    entering each chunk; (3) every chunk's outputs from its Q, K, V and entering state, one block per (chunk,
//    head, value slice). All of a 7B prefill's SMs are busy in (1) and (3), where the FLOPs are.
//  - chunked, fp32 on CUDA cores (the reference path, and the f32 backend's): columns e of S are independent, so
//    each block owns one head and a slice of 32 value columns, grid (H, ceil(d/32)), and walks the chunks.
//  - recurrent (decode): S = gamma S + k v^T, o = S^T q, token after token; S stays in registers.
//  - parallel: the O(n^2) reference, for tests.
#include <mma.h>

#include <algorithm>

#include "engine/cuda/cuda_device.cuh"

namespace supra::cuda {

namespace {

constexpr int kCols = smem::kSupraCols;     // value columns per block
constexpr int kThreads = smem::kSupraThreads;  // 8 warps

// Chunks of a.chunk rows (the layout is sized for it: smem::supra_f32_chunked_floats).
__global__ void __launch_bounds__(kThreads) supra_chunked_kernel(SupraArgs a) {
  extern __shared__ float sm[];
  const int h = blockIdx.x, e0 = blockIdx.y * kCols;
  const int d = a.d, ld = d + 1, C = a.chunk, lda = C + 1;  // odd strides
  const int ES = min(kCols, d - e0);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  float* Qs = sm;
  float* Ks = Qs + C * ld;
  float* Vs = Ks + C * ld;
  float* As = Vs + C * kCols;
  float* Ss = As + C * lda;
  float* dec = Ss + d * kCols;
  const int64_t rs = int64_t(a.H) * d;
  const float s = a.slopes[h];
  float* state = a.state + int64_t(h) * d * d;

  for (int t = threadIdx.x; t <= C; t += blockDim.x) dec[t] = expf(-s * float(t));  // exp(-s * distance)
  for (int idx = threadIdx.x; idx < d * kCols; idx += blockDim.x) {
    const int c = idx / kCols, e = idx % kCols;
    Ss[idx] = e < ES ? state[int64_t(c) * d + e0 + e] : 0.f;
  }
  for (int64_t c0 = 0; c0 < a.n; c0 += C) {
    const int m = int(imin(C, a.n - c0));
    __syncthreads();  // the previous chunk is done with Q, K, V, A (and S, decay are written on the first pass)
    for (int idx = threadIdx.x; idx < m * d; idx += blockDim.x) {
      const int i = idx / d, c = idx % d;
      const int64_t g = (c0 + i) * rs + int64_t(h) * d + c;
      Qs[i * ld + c] = a.q[g];
      Ks[i * ld + c] = a.k[g];
    }
    for (int idx = threadIdx.x; idx < m * kCols; idx += blockDim.x) {
      const int i = idx / kCols, e = idx % kCols;
      Vs[idx] = e < ES ? a.v[(c0 + i) * rs + int64_t(h) * d + e0 + e] : 0.f;
    }
    __syncthreads();
    // A[i][j] = exp(-s(i-j)) q_i . k_j for j <= i (the rest is never read)
    for (int idx = threadIdx.x; idx < m * m; idx += blockDim.x) {
      const int i = idx / m, j = idx % m;
      if (j > i) continue;
      float dot = 0.f;
      for (int c = 0; c < d; c++) dot += Qs[i * ld + c] * Ks[j * ld + c];
      As[i * lda + j] = dec[i - j] * dot;
    }
    __syncthreads();
    // o_i[e] = sum_{j<=i} A[i][j] v_j[e] + exp(-s(i+1)) sum_c q_i[c] S[c][e]
    if (lane < ES) {
      for (int i = warp; i < m; i += kThreads / 32) {
        float intra = 0.f;
        for (int j = 0; j <= i; j++) intra += As[i * lda + j] * Vs[j * kCols + lane];
        float inter = 0.f;
        for (int c = 0; c < d; c++) inter += Qs[i * ld + c] * Ss[c * kCols + lane];
        a.out[(c0 + i) * rs + int64_t(h) * d + e0 + lane] = intra + dec[i + 1] * inter;
      }
    }
    __syncthreads();  // S is read above and rewritten below
    // S[c][e] = exp(-s m) S[c][e] + sum_j exp(-s(m-1-j)) k_j[c] v_j[e]
    if (lane < ES) {
      for (int c = warp; c < d; c += kThreads / 32) {
        float acc = dec[m] * Ss[c * kCols + lane];
        for (int j = 0; j < m; j++) acc += dec[m - 1 - j] * Ks[j * ld + c] * Vs[j * kCols + lane];
        Ss[c * kCols + lane] = acc;
      }
    }
  }
  __syncthreads();
  for (int idx = threadIdx.x; idx < d * kCols; idx += blockDim.x) {
    const int c = idx / kCols, e = idx % kCols;
    if (e < ES) state[int64_t(c) * d + e0 + e] = Ss[idx];
  }
}

// Each lane owns one value column e; warp w owns the state rows c = w + 8r. S lives in registers for all n tokens.
constexpr int kRecRows = kMaxHeadDim / (kThreads / 32);  // 32 rows per thread at d = 256

__global__ void __launch_bounds__(kThreads) supra_recurrent_kernel(SupraArgs a) {
  __shared__ float qsm[kMaxHeadDim], ksm[kMaxHeadDim], vsm[kCols];
  __shared__ float red[kThreads / 32][kCols];
  static_assert(sizeof(qsm) + sizeof(ksm) + sizeof(vsm) + sizeof(red) == smem::supra_recurrent_bytes(), "smem table");
  const int h = blockIdx.x, e0 = blockIdx.y * kCols;
  const int d = a.d, ES = min(kCols, d - e0);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t rs = int64_t(a.H) * d;
  const float gamma = expf(-a.slopes[h]);  // exp(-s * 1)
  float* state = a.state + int64_t(h) * d * d;
  float S[kRecRows];
#pragma unroll
  for (int r = 0; r < kRecRows; r++) {
    const int c = warp + 8 * r;
    S[r] = (c < d && lane < ES) ? state[int64_t(c) * d + e0 + lane] : 0.f;
  }
  for (int64_t t = 0; t < a.n; t++) {
    __syncthreads();  // the previous token's q, k, v and partial sums are no longer read
    const int64_t base = t * rs + int64_t(h) * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
      qsm[c] = a.q[base + c];
      ksm[c] = a.k[base + c];
    }
    if (threadIdx.x < ES) vsm[threadIdx.x] = a.v[base + e0 + threadIdx.x];
    __syncthreads();
    const float ve = lane < ES ? vsm[lane] : 0.f;
    float acc = 0.f;
#pragma unroll
    for (int r = 0; r < kRecRows; r++) {
      const int c = warp + 8 * r;
      if (c < d) {
        S[r] = gamma * S[r] + ksm[c] * ve;
        acc += qsm[c] * S[r];
      }
    }
    red[warp][lane] = acc;
    __syncthreads();
    if (warp == 0 && lane < ES) {
      float o = 0.f;
#pragma unroll
      for (int w = 0; w < kThreads / 32; w++) o += red[w][lane];
      a.out[base + e0 + lane] = o;
    }
  }
#pragma unroll
  for (int r = 0; r < kRecRows; r++) {
    const int c = warp + 8 * r;
    if (c < d && lane < ES) state[int64_t(c) * d + e0 + lane] = S[r];
  }
}

// Reference outputs: one block per (token t, head h), thread e per value column.
__global__ void __launch_bounds__(kThreads) supra_parallel_out_kernel(SupraArgs a) {
  __shared__ float qt[kMaxHeadDim], at[kThreads];
  static_assert(sizeof(qt) + sizeof(at) == smem::supra_parallel_bytes(), "smem table");
  const int64_t t = blockIdx.x;
  const int h = blockIdx.y, d = a.d, e = threadIdx.x;
  const int64_t rs = int64_t(a.H) * d;
  const float s = a.slopes[h];
  for (int c = threadIdx.x; c < d; c += blockDim.x) qt[c] = a.q[t * rs + int64_t(h) * d + c];
  __syncthreads();
  float o = 0.f;
  for (int64_t jb = 0; jb <= t; jb += kThreads) {
    const int64_t j = jb + threadIdx.x;
    if (j <= t) {
      float dot = 0.f;
      for (int c = 0; c < d; c++) dot += qt[c] * a.k[j * rs + int64_t(h) * d + c];
      at[threadIdx.x] = dot * expf(-s * float(t - j));
    }
    __syncthreads();
    const int cnt = int(imin(kThreads, t + 1 - jb));
    if (e < d)
      for (int jj = 0; jj < cnt; jj++) o += at[jj] * a.v[(jb + jj) * rs + int64_t(h) * d + e];
    __syncthreads();
  }
  if (e < d) {
    const float* S = a.state + int64_t(h) * d * d;
    float inter = 0.f;
    for (int c = 0; c < d; c++) inter += qt[c] * S[int64_t(c) * d + e];
    a.out[t * rs + int64_t(h) * d + e] = o + expf(-s * float(t + 1)) * inter;
  }
}

// Reference state update (after the outputs, which read the old state): one block per (head, row c).
__global__ void __launch_bounds__(kThreads) supra_parallel_state_kernel(SupraArgs a) {
  const int h = blockIdx.x, c = blockIdx.y, d = a.d, e = threadIdx.x;
  if (e >= d) return;
  const int64_t rs = int64_t(a.H) * d;
  const float s = a.slopes[h];
  float* S = a.state + int64_t(h) * d * d + int64_t(c) * d;
  float acc = expf(-s * float(a.n)) * S[e];
  for (int64_t j = 0; j < a.n; j++)
    acc += expf(-s * float(a.n - 1 - j)) * a.k[j * rs + int64_t(h) * d + c] * a.v[j * rs + int64_t(h) * d + e];
  S[e] = acc;
}

// ------------------------------------------------------------------------------------------ tensor cores
// Chunk g of the sequence holds rows [g C, g C + m), m = min(C, n - g C). Blocks of kSupraTcWarps warps; a warp
// owns 16-row strips of the chunk. The fragments' register layout is never relied on: accumulators go through
// shared memory (store/load_matrix_sync) wherever the lanes touch single elements.
using bf16 = __nv_bfloat16;
constexpr int kTcThreads = smem::kSupraTcWarps * 32;

__device__ __forceinline__ int chunk_rows(const SupraArgs& a, int64_t g, int C) {
  return int(imin(C, a.n - g * C));
}

// (1) U_c[c][e] = sum_j exp(-s(m-1-j)) k_j[c] v_j[e] for chunk `first + blockIdx.x`, head blockIdx.y; written to
// chunk_state[blockIdx.x, h] (fp32). One 16 x 16 output tile per warp at a time.
__global__ void __launch_bounds__(kTcThreads) supra_tc_state_kernel(SupraArgs a, int64_t first) {
  using namespace nvcuda;
  extern __shared__ __align__(128) unsigned char tsm[];
  const int d = a.d, C = smem::supra_tc_chunk(a.chunk), h = blockIdx.y;
  const smem::SupraTcStateLayout L = smem::supra_tc_state_layout(d, C);
  bf16* Kw = reinterpret_cast<bf16*>(tsm + L.k_off);  // [C][ld]: exp(-s(m-1-j)) k_j
  bf16* Vs = reinterpret_cast<bf16*>(tsm + L.v_off);  // [C][ld]
  const int64_t g = first + blockIdx.x;
  const int m = chunk_rows(a, g, C);
  const int64_t rs = int64_t(a.H) * d, base = g * C * rs + int64_t(h) * d;
  const float s = a.slopes[h];
  for (int idx = threadIdx.x; idx < C * d; idx += blockDim.x) {
    const int j = idx / d, c = idx % d;
    float kv = 0.f, vv = 0.f;
    if (j < m) {
      kv = expf(-s * float(m - 1 - j)) * a.k[base + j * rs + c];
      vv = a.v[base + j * rs + c];
    }
    Kw[j * L.ld + c] = __float2bfloat16_rn(kv);
    Vs[j * L.ld + c] = __float2bfloat16_rn(vv);
  }
  __syncthreads();
  const int warp = threadIdx.x >> 5, tiles = d / 16;
  float* U = a.chunk_state + (int64_t(blockIdx.x) * a.H + h) * d * d;
  const int ksteps = (m + 15) / 16;  // rows past m are zero
  for (int t = warp; t < tiles * tiles; t += smem::kSupraTcWarps) {
    const int tr = t / tiles, tc = t % tiles;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.f);
    for (int kk = 0; kk < ksteps; kk++) {
      // A = K_w^T [d x C]: element (c, j) at Kw[j * ld + c], i.e. column-major with leading dimension ld.
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::col_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
      wmma::load_matrix_sync(fa, Kw + (kk * 16) * L.ld + tr * 16, L.ld);
      wmma::load_matrix_sync(fb, Vs + (kk * 16) * L.ld + tc * 16, L.ld);
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(U + int64_t(tr * 16) * d + tc * 16, acc, d, wmma::mem_row_major);
  }
}

// (2) For every state element of head blockIdx.y: walk the `count` chunks of the segment, storing the state that
// enters each (bf16, the output kernel's operand) and adding the chunk's own sum: S = exp(-s m) S + U_c. fp32.
__global__ void __launch_bounds__(256) supra_tc_scan_kernel(SupraArgs a, int64_t first, int count) {
  const int d = a.d, C = smem::supra_tc_chunk(a.chunk), h = blockIdx.y;
  const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, dd = int64_t(d) * d;
  if (idx >= dd) return;
  const float s = a.slopes[h], full = expf(-s * float(C));
  float* state = a.state + h * dd + idx;
  bf16* in = static_cast<bf16*>(a.chunk_state_in);
  float S = *state;
  for (int c = 0; c < count; c++) {
    const int m = chunk_rows(a, first + c, C);
    const int64_t at = (int64_t(c) * a.H + h) * dd + idx;
    in[at] = __float2bfloat16_rn(S);
    S = (m == C ? full : expf(-s * float(m))) * S + a.chunk_state[at];
  }
  *state = S;
}

// (3) Outputs of chunk `first + blockIdx.x`, head blockIdx.y, value columns [e0, e0 + es), e0 = blockIdx.z * et:
//   A = mask(Q K^T) (bf16), o = exp(-s(i+1)) (Q S_in) + A V, accumulated in fp32.
__global__ void __launch_bounds__(kTcThreads) supra_tc_output_kernel(SupraArgs a, int64_t first) {
  using namespace nvcuda;
  extern __shared__ __align__(128) unsigned char tsm[];
  const int d = a.d, C = smem::supra_tc_chunk(a.chunk), h = blockIdx.y, et = a.et;
  const smem::SupraTcOutLayout L = smem::supra_tc_out_layout(d, C, et);
  bf16* Qs = reinterpret_cast<bf16*>(tsm + L.q_off);  // [C][ldq]
  bf16* Ks = reinterpret_cast<bf16*>(tsm + L.r_off);  // [C][ldq], then the S slice [d][lde]
  bf16* Ss = Ks;
  bf16* Vs = reinterpret_cast<bf16*>(tsm + L.v_off);  // [C][lde]
  bf16* As = reinterpret_cast<bf16*>(tsm + L.a_off);  // [C][lda]
  float* dec = reinterpret_cast<float*>(tsm + L.dec_off);  // exp(-s t), t = 0..C
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float* W = reinterpret_cast<float*>(tsm + L.w_off) + warp * 16 * L.ldw;
  const int64_t g = first + blockIdx.x;
  const int m = chunk_rows(a, g, C);
  const int e0 = blockIdx.z * et, es = min(et, d - e0);
  const int64_t rs = int64_t(a.H) * d, base = g * C * rs + int64_t(h) * d;
  const float s = a.slopes[h];
  for (int t = threadIdx.x; t <= C; t += blockDim.x) dec[t] = expf(-s * float(t));
  for (int idx = threadIdx.x; idx < C * d; idx += blockDim.x) {
    const int i = idx / d, c = idx % d;
    Qs[i * L.ldq + c] = __float2bfloat16_rn(i < m ? a.q[base + i * rs + c] : 0.f);
    Ks[i * L.ldq + c] = __float2bfloat16_rn(i < m ? a.k[base + i * rs + c] : 0.f);
  }
  for (int idx = threadIdx.x; idx < C * es; idx += blockDim.x) {
    const int j = idx / es, e = idx % es;
    Vs[j * L.lde + e] = __float2bfloat16_rn(j < m ? a.v[base + j * rs + e0 + e] : 0.f);
  }
  __syncthreads();
  const int strips = (m + 15) / 16;  // strips past the chunk's last row hold zeros only
  // A, strip by strip: only the blocks at or left of the diagonal are non-zero (and only those are read below).
  for (int st = warp; st < strips; st += smem::kSupraTcWarps) {
    for (int nb = 0; nb <= st; nb++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kk = 0; kk < d / 16; kk++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, Qs + (st * 16) * L.ldq + kk * 16, L.ldq);
        wmma::load_matrix_sync(fb, Ks + (nb * 16) * L.ldq + kk * 16, L.ldq);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(W + nb * 16, acc, L.ldw, wmma::mem_row_major);
    }
    __syncwarp();
    for (int idx = lane; idx < 16 * 16 * (st + 1); idx += 32) {
      const int r = idx / (16 * (st + 1)), j = idx % (16 * (st + 1)), i = st * 16 + r;
      As[i * L.lda + j] = __float2bfloat16_rn(j <= i ? dec[i - j] * W[r * L.ldw + j] : 0.f);
    }
    __syncwarp();
  }
  __syncthreads();  // K is no longer read: its space takes the entering state's slice
  const bf16* in = static_cast<const bf16*>(a.chunk_state_in) + (int64_t(blockIdx.x) * a.H + h) * d * d;
  for (int idx = threadIdx.x; idx < d * es; idx += blockDim.x) {
    const int c = idx / es, e = idx % es;
    Ss[c * L.lde + e] = in[int64_t(c) * d + e0 + e];
  }
  __syncthreads();
  for (int st = warp; st < strips; st += smem::kSupraTcWarps) {
    for (int nb = 0; nb < es / 16; nb++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
      for (int kk = 0; kk < d / 16; kk++) {  // Q S_in
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, Qs + (st * 16) * L.ldq + kk * 16, L.ldq);
        wmma::load_matrix_sync(fb, Ss + (kk * 16) * L.lde + nb * 16, L.lde);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(W, acc, L.ldw, wmma::mem_row_major);
      __syncwarp();
      for (int idx = lane; idx < 256; idx += 32) W[(idx / 16) * L.ldw + idx % 16] *= dec[st * 16 + idx / 16 + 1];
      __syncwarp();
      wmma::load_matrix_sync(acc, W, L.ldw, wmma::mem_row_major);
      for (int kk = 0; kk <= st; kk++) {  // + A V (A is zero right of the diagonal block)
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, As + (st * 16) * L.lda + kk * 16, L.lda);
        wmma::load_matrix_sync(fb, Vs + (kk * 16) * L.lde + nb * 16, L.lde);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(W, acc, L.ldw, wmma::mem_row_major);
      __syncwarp();
      for (int idx = lane; idx < 256; idx += 32) {
        const int r = idx / 16, e = idx % 16, i = st * 16 + r;
        if (i < m) a.out[base + i * rs + e0 + nb * 16 + e] = W[r * L.ldw + e];
      }
      __syncwarp();
    }
  }
}

}  // namespace

void launch_supra_chunked(const SupraArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  const size_t bytes = smem::supra_f32_chunked_bytes(a.d, a.chunk);
  allow_dynamic_smem(reinterpret_cast<const void*>(supra_chunked_kernel), bytes, "supra_chunked_f32");
  const dim3 grid(unsigned(a.H), unsigned((a.d + kCols - 1) / kCols));
  supra_chunked_kernel<<<grid, kThreads, bytes, s>>>(a);
  check_launch("supra_attention (chunked fp32)");
}

void launch_supra_chunked_tc(const SupraArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  const int C = smem::supra_tc_chunk(a.chunk);
  const size_t st_bytes = smem::supra_tc_state_layout(a.d, C).bytes;
  const size_t out_bytes = smem::supra_tc_out_layout(a.d, C, a.et).bytes;
  allow_dynamic_smem(reinterpret_cast<const void*>(supra_tc_state_kernel), st_bytes, "supra_chunked_tc (state)");
  allow_dynamic_smem(reinterpret_cast<const void*>(supra_tc_output_kernel), out_bytes, "supra_chunked_tc (output)");
  const int64_t chunks = (a.n + C - 1) / C, dd = int64_t(a.d) * a.d;
  for (int64_t first = 0; first < chunks; first += a.seg_chunks) {
    const int count = int(std::min<int64_t>(a.seg_chunks, chunks - first));
    supra_tc_state_kernel<<<dim3(unsigned(count), unsigned(a.H)), kTcThreads, st_bytes, s>>>(a, first);
    check_launch("supra_attention (chunked tensor cores: chunk states)");
    supra_tc_scan_kernel<<<dim3(grid_for(dd, 256), unsigned(a.H)), 256, 0, s>>>(a, first, count);
    check_launch("supra_attention (chunked tensor cores: scan)");
    const dim3 grid(unsigned(count), unsigned(a.H), unsigned((a.d + a.et - 1) / a.et));
    supra_tc_output_kernel<<<grid, kTcThreads, out_bytes, s>>>(a, first);
    check_launch("supra_attention (chunked tensor cores: outputs)");
  }
}

void launch_supra_recurrent(const SupraArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  const dim3 grid(unsigned(a.H), unsigned((a.d + kCols - 1) / kCols));
  supra_recurrent_kernel<<<grid, kThreads, 0, s>>>(a);
  check_launch("supra_attention (recurrent)");
}

void launch_supra_parallel(const SupraArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  supra_parallel_out_kernel<<<dim3(unsigned(a.n), unsigned(a.H)), kThreads, 0, s>>>(a);
  check_launch("supra_attention (parallel outputs)");
  supra_parallel_state_kernel<<<dim3(unsigned(a.H), unsigned(a.d)), kThreads, 0, s>>>(a);
  check_launch("supra_attention (parallel state)");
}

}  // namespace supra::cuda
