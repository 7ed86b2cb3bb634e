// SUPRA linear attention on the GPU (SUPRA.md section 3), continuing from and updating state[H, d, d] (fp32):
//   S_t = sum_{j<=t} exp(-s(t-j)) k_j v_j^T,  o_t = S_t^T q_t.
// Every decay factor is exp(-s * non-negative distance); nothing divides by a power of gamma.
// Columns e of S (value dims) are independent in all three forms, so each block owns one head and a slice of 32
// value columns: grid (H, ceil(d/32)).
//  - chunked (prefill, scoring): chunks of C <= 64 rows in shared memory; per chunk
//      A[i][j] = exp(-s(i-j)) q_i.k_j (j <= i),  o_i = sum_j A[i][j] v_j + exp(-s(i+1)) S^T q_i,
//      S = exp(-sC) S + sum_j exp(-s(C-1-j)) k_j v_j^T  (C = rows of this chunk).
//  - recurrent (decode): S = gamma S + k v^T, o = S^T q, token after token; S stays in registers.
//  - parallel: the O(n^2) reference, for tests.
#include "engine/cuda/cuda_device.cuh"

namespace supra::cuda {

namespace {

constexpr int kCols = 32;     // value columns per block
constexpr int kThreads = 256;  // 8 warps
constexpr int kC = kSupraMaxChunk;

constexpr size_t chunked_smem_floats(int d) {
  return size_t(2) * kC * (d + 1)  // Q, K chunk (odd stride)
         + size_t(kC) * kCols      // V slice
         + size_t(kC) * (kC + 1)   // A
         + size_t(d) * kCols       // S slice
         + (kC + 1);               // decay[0..C]
}

__global__ void __launch_bounds__(kThreads) supra_chunked_kernel(SupraArgs a) {
  extern __shared__ float sm[];
  const int h = blockIdx.x, e0 = blockIdx.y * kCols;
  const int d = a.d, ld = d + 1, C = a.chunk;
  const int ES = min(kCols, d - e0);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  float* Qs = sm;
  float* Ks = Qs + kC * ld;
  float* Vs = Ks + kC * ld;
  float* As = Vs + kC * kCols;
  float* Ss = As + kC * (kC + 1);
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
      As[i * (kC + 1) + j] = dec[i - j] * dot;
    }
    __syncthreads();
    // o_i[e] = sum_{j<=i} A[i][j] v_j[e] + exp(-s(i+1)) sum_c q_i[c] S[c][e]
    if (lane < ES) {
      for (int i = warp; i < m; i += kThreads / 32) {
        float intra = 0.f;
        for (int j = 0; j <= i; j++) intra += As[i * (kC + 1) + j] * Vs[j * kCols + lane];
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

}  // namespace

void init_supra_kernels() {
  check(cudaFuncSetAttribute(supra_chunked_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             int(chunked_smem_floats(kMaxHeadDim) * sizeof(float))),
        "cudaFuncSetAttribute (supra chunked)");
}

void launch_supra_chunked(const SupraArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  const dim3 grid(unsigned(a.H), unsigned((a.d + kCols - 1) / kCols));
  supra_chunked_kernel<<<grid, kThreads, chunked_smem_floats(a.d) * sizeof(float), s>>>(a);
  check_launch("supra_attention (chunked)");
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
