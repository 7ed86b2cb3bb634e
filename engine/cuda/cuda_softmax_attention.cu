// Causal softmax attention with GQA and an optional sliding window, over a KV cache of fp32 rows.
//  - decode (n <= kDecodeMaxRows query rows): split-K. Each block takes one slice of the visible keys of one query
//    row and one kv head, for all query heads of that kv head (the keys are read once per group); the partial
//    (max, sum, unnormalised output) of every slice is merged by a second kernel. The number of slices depends
//    only on the shape, never on n_past, so a captured decode graph stays valid as the cache grows.
//  - prefill (more rows): flash-style tiles with an online softmax, never materialising the score matrix:
//      * tensor cores (WMMA, fp32 accumulation) when the backend's weights are 16-bit and d is 64 or 128, with
//        fragments in the weights' dtype: bf16 models keep bf16's range (f16 overflows above 65504);
//      * fp32 on CUDA cores otherwise (the f32 backend, held to the CPU at ~1e-5, and odd head sizes).
// n_past is read on the device (AttnArgs::dyn). Scores are scale * (q . k) in fp32, as on the CPU. Shared memory
// and tiles: kernel_smem.h (the backend picks the kernel that fits the device, plan_attention_prefill).
#include <mma.h>

#include <algorithm>

#include "engine/cuda/cuda_device.cuh"

namespace supra::cuda {

namespace {

// ------------------------------------------------------------------------------------------ split-K decode
constexpr int kDecWarps = smem::kDecWarps;
constexpr int kDecHeads = smem::kDecHeads;  // query heads of one kv head per pass

template <int DT>  // each lane holds dims lane + 32 t, t < DT (d <= 32 DT)
__global__ void __launch_bounds__(kDecWarps * 32) attn_decode_kernel(AttnArgs a) {
  __shared__ float sm_m[kDecWarps][kDecHeads], sm_l[kDecWarps][kDecHeads];
  __shared__ float sm_o[kDecWarps][kDecHeads][32 * DT];
  static_assert(sizeof(sm_m) + sizeof(sm_l) + sizeof(sm_o) == smem::attn_decode_bytes(32 * DT), "smem table");
  const int split = blockIdx.x, kvh = blockIdx.y;
  const int64_t i = blockIdx.z;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int d = a.d, group = a.H / a.Hkv;
  const int64_t qs = int64_t(a.H) * d, ks = int64_t(a.Hkv) * d;
  const int64_t pos = a.dyn[0] + i;
  const int64_t lo = a.window > 0 ? imax(0, pos - a.window + 1) : int64_t(0);
  const int64_t count = pos + 1 - lo;
  const int64_t per = (count + a.splits - 1) / a.splits;
  const int64_t j0 = lo + split * per;
  const int64_t j1 = imin(pos + 1, j0 + per);
  const float* kb = a.k + int64_t(kvh) * d;
  const float* vb = a.v + int64_t(kvh) * d;

  for (int g0 = 0; g0 < group; g0 += kDecHeads) {
    const int gn = min(kDecHeads, group - g0);
    float q[kDecHeads][DT], o[kDecHeads][DT], m[kDecHeads], l[kDecHeads];
#pragma unroll
    for (int g = 0; g < kDecHeads; g++) {
      const int64_t h = int64_t(kvh) * group + g0 + g;
#pragma unroll
      for (int t = 0; t < DT; t++) {
        const int c = lane + 32 * t;
        q[g][t] = (g < gn && c < d) ? a.q[i * qs + h * d + c] : 0.f;
        o[g][t] = 0.f;
      }
      m[g] = -INFINITY;
      l[g] = 0.f;
    }
    for (int64_t j = j0 + warp; j < j1; j += kDecWarps) {
      float kk[DT], vv[DT];
#pragma unroll
      for (int t = 0; t < DT; t++) {
        const int c = lane + 32 * t;
        kk[t] = c < d ? kb[j * ks + c] : 0.f;
        vv[t] = c < d ? vb[j * ks + c] : 0.f;
      }
#pragma unroll
      for (int g = 0; g < kDecHeads; g++) {
        if (g < gn) {
          float dot = 0.f;
#pragma unroll
          for (int t = 0; t < DT; t++) dot += q[g][t] * kk[t];
          const float sc = warp_sum(dot) * a.scale;
          const float mn = fmaxf(m[g], sc);
          const float alpha = expf(m[g] - mn);  // 0 for the first key (m = -inf)
          const float p = expf(sc - mn);
          l[g] = l[g] * alpha + p;
#pragma unroll
          for (int t = 0; t < DT; t++) o[g][t] = o[g][t] * alpha + p * vv[t];
          m[g] = mn;
        }
      }
    }
#pragma unroll
    for (int g = 0; g < kDecHeads; g++) {
      if (lane == 0) {
        sm_m[warp][g] = m[g];
        sm_l[warp][g] = l[g];
      }
#pragma unroll
      for (int t = 0; t < DT; t++) sm_o[warp][g][lane + 32 * t] = o[g][t];
    }
    __syncthreads();
    // Merge the warps of this block into one partial per query head.
    for (int g = 0; g < gn; g++) {
      float M = -INFINITY;
      for (int w = 0; w < kDecWarps; w++) M = fmaxf(M, sm_m[w][g]);
      const int64_t h = int64_t(kvh) * group + g0 + g;
      float* part = a.partial + ((i * a.H + h) * a.splits + split) * int64_t(d + 2);
      if (M == -INFINITY) {  // an empty slice
        if (threadIdx.x == 0) {
          part[0] = -INFINITY;
          part[1] = 0.f;
        }
        for (int c = threadIdx.x; c < d; c += blockDim.x) part[2 + c] = 0.f;
        continue;
      }
      if (threadIdx.x == 0) {
        float L = 0.f;
        for (int w = 0; w < kDecWarps; w++)
          if (sm_m[w][g] != -INFINITY) L += sm_l[w][g] * expf(sm_m[w][g] - M);
        part[0] = M;
        part[1] = L;
      }
      for (int c = threadIdx.x; c < d; c += blockDim.x) {
        float acc = 0.f;
        for (int w = 0; w < kDecWarps; w++)
          if (sm_m[w][g] != -INFINITY) acc += sm_o[w][g][c] * expf(sm_m[w][g] - M);
        part[2 + c] = acc;
      }
    }
    __syncthreads();  // sm_* are rewritten by the next pass
  }
}

// out[i, h, :] from the partials of all slices of (i, h). One block per (i, h).
__global__ void attn_combine_kernel(AttnArgs a) {
  const int64_t ih = blockIdx.x;  // i * H + h
  const int S = a.splits, d = a.d;
  const float* p = a.partial + ih * S * int64_t(d + 2);
  float M = -INFINITY;
  for (int s = 0; s < S; s++) M = fmaxf(M, p[int64_t(s) * (d + 2)]);
  float L = 0.f;
  for (int s = 0; s < S; s++) {
    const float ms = p[int64_t(s) * (d + 2)];
    if (ms != -INFINITY) L += p[int64_t(s) * (d + 2) + 1] * expf(ms - M);
  }
  const float inv = 1.f / L;
  for (int c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.f;
    for (int s = 0; s < S; s++) {
      const float ms = p[int64_t(s) * (d + 2)];
      if (ms != -INFINITY) acc += p[int64_t(s) * (d + 2) + 2 + c] * expf(ms - M);
    }
    a.out[ih * d + c] = acc * inv;
  }
}

// ------------------------------------------------------------------------------------------ fp32 flash (SIMT)
constexpr int kFBQ = smem::kFBQ, kFBK = smem::kFBK;  // query rows and keys per tile; 4 warps x 8 rows
static_assert(kFBQ == 32 && kFBK == 32, "the kernel gives each of its 4 warps 8 query rows and each lane one key");

template <int DT>
__global__ void __launch_bounds__(128) attn_flash_f32_kernel(AttnArgs a) {
  extern __shared__ float fsm[];
  const int d = a.d, ld = d + 1;  // odd row stride: lanes reading K rows j = lane hit distinct banks
  float* Qs = fsm;
  float* Ks = Qs + kFBQ * ld;
  float* Vs = Ks + kFBK * ld;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int h = blockIdx.y, kvh = h / (a.H / a.Hkv);
  const int64_t q0 = int64_t(blockIdx.x) * kFBQ;
  const int64_t n_past = a.dyn[0];
  const int64_t qs = int64_t(a.H) * d, ks = int64_t(a.Hkv) * d;
  const int64_t rows = imin(kFBQ, a.n - q0);
  for (int idx = threadIdx.x; idx < kFBQ * d; idx += blockDim.x) {
    const int r = idx / d, c = idx % d;
    Qs[r * ld + c] = r < rows ? a.q[(q0 + r) * qs + int64_t(h) * d + c] : 0.f;
  }
  const int64_t pos_first = n_past + q0, pos_last = n_past + q0 + rows - 1;
  const int64_t kstart = a.window > 0 ? imax(0, pos_first - a.window + 1) : int64_t(0);
  const int64_t kend = pos_last + 1;

  float m[8], l[8], o[8][DT];
#pragma unroll
  for (int r = 0; r < 8; r++) {
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int t = 0; t < DT; t++) o[r][t] = 0.f;
  }
  for (int64_t kt = kstart; kt < kend; kt += kFBK) {
    __syncthreads();  // the previous tile is no longer read (and Qs is complete on the first pass)
    for (int idx = threadIdx.x; idx < kFBK * d; idx += blockDim.x) {
      const int j = idx / d, c = idx % d;
      const int64_t jj = kt + j;
      Ks[j * ld + c] = jj < kend ? a.k[jj * ks + int64_t(kvh) * d + c] : 0.f;
      Vs[j * ld + c] = jj < kend ? a.v[jj * ks + int64_t(kvh) * d + c] : 0.f;
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < 8; r++) {
      const int lr = warp * 8 + r;
      const int64_t i = q0 + lr;
      if (i >= a.n) continue;  // uniform over the warp
      const int64_t pos = n_past + i;
      const int64_t lo = a.window > 0 ? imax(0, pos - a.window + 1) : int64_t(0);
      const int64_t jj = kt + lane;
      float sc = -INFINITY;
      if (jj >= lo && jj <= pos) {
        float dot = 0.f;
#pragma unroll 4
        for (int c = 0; c < d; c++) dot += Qs[lr * ld + c] * Ks[lane * ld + c];
        sc = dot * a.scale;
      }
      const float mn = fmaxf(m[r], warp_max(sc));
      if (mn == -INFINITY) continue;  // no visible key yet (uniform)
      const float alpha = expf(m[r] - mn);
      const float p = expf(sc - mn);
      l[r] = l[r] * alpha + warp_sum(p);
      m[r] = mn;
#pragma unroll
      for (int t = 0; t < DT; t++) o[r][t] *= alpha;
#pragma unroll 2
      for (int jl = 0; jl < 32; jl++) {
        const float pj = __shfl_sync(0xffffffffu, p, jl);
        if (pj == 0.f) continue;  // uniform
#pragma unroll
        for (int t = 0; t < DT; t++) {
          const int c = lane + 32 * t;
          if (c < d) o[r][t] += pj * Vs[jl * ld + c];
        }
      }
    }
  }
#pragma unroll
  for (int r = 0; r < 8; r++) {
    const int64_t i = q0 + warp * 8 + r;
    if (i >= a.n) continue;
    const float inv = 1.f / l[r];
#pragma unroll
    for (int t = 0; t < DT; t++) {
      const int c = lane + 32 * t;
      if (c < d) a.out[i * qs + int64_t(h) * d + c] = o[r][t] * inv;
    }
  }
}

// ------------------------------------------------------------------------------------------ tensor-core flash
// 64 query rows x 64 keys per tile, 4 warps of 16 rows. Q, K, V tiles are converted to T (f16 or bf16: the weights'
// dtype) in shared memory; S = Q K^T and P V run on tensor cores with fp32 accumulators. The online softmax is done
// by the lanes on an fp32 copy of S (lane pair (r, half) owns row r of its warp); the running output stays in fp32
// registers (lane owns half a row), so the fragments' register layout is never relied on.
constexpr int kTBQ = smem::kTBQ, kTBK = smem::kTBK;

template <class T>
__device__ __forceinline__ T to_tc(float x);
template <>
__device__ __forceinline__ __half to_tc<__half>(float x) {
  return __float2half_rn(x);
}
template <>
__device__ __forceinline__ __nv_bfloat16 to_tc<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

template <int D>
struct WmmaSmem {
  static constexpr smem::WmmaFlashLayout L = smem::attn_wmma_layout(D);
  static constexpr int LDH = L.ldh, LDP = L.ldp, LDS = L.lds, LDO = L.ldo, LDW = L.ldw;
  static constexpr size_t q_off = L.q_off, k_off = L.k_off, v_off = L.v_off, p_off = L.p_off, w_off = L.w_off;
  static constexpr size_t bytes = L.bytes;
  static_assert(k_off % 128 == 0 && v_off % 128 == 0 && p_off % 128 == 0 && w_off % 128 == 0, "alignment");
  static_assert((16 * LDW * 4) % 32 == 0, "per-warp scratch alignment");
};

template <int D, class T>
__global__ void __launch_bounds__(128) attn_flash_wmma_kernel(AttnArgs a) {
  using namespace nvcuda;
  using L = WmmaSmem<D>;
  constexpr int LDH = L::LDH, LDP = L::LDP, LDS = L::LDS, LDO = L::LDO, LDW = L::LDW, HALF = D / 2;
  extern __shared__ __align__(128) unsigned char wsm[];
  T* Qs = reinterpret_cast<T*>(wsm + L::q_off);
  T* Ks = reinterpret_cast<T*>(wsm + L::k_off);
  T* Vs = reinterpret_cast<T*>(wsm + L::v_off);
  T* Ps = reinterpret_cast<T*>(wsm + L::p_off);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  float* Ww = reinterpret_cast<float*>(wsm + L::w_off) + warp * 16 * LDW;
  const int h = blockIdx.y, kvh = h / (a.H / a.Hkv);
  const int64_t q0 = int64_t(blockIdx.x) * kTBQ;
  const int64_t n_past = a.dyn[0];
  const int64_t qs = int64_t(a.H) * D, ks = int64_t(a.Hkv) * D;
  const int64_t rows = imin(kTBQ, a.n - q0);
  for (int idx = threadIdx.x; idx < kTBQ * D; idx += blockDim.x) {
    const int r = idx / D, c = idx % D;
    Qs[r * LDH + c] = to_tc<T>(r < rows ? a.q[(q0 + r) * qs + int64_t(h) * D + c] : 0.f);
  }
  const int r = lane >> 1, hf = lane & 1;
  const int64_t i = q0 + warp * 16 + r;
  const bool valid = i < a.n;
  const int64_t pos = n_past + i;
  const int64_t lo = a.window > 0 ? imax(0, pos - a.window + 1) : int64_t(0);
  float m = -INFINITY, l = 0.f;
  float o[HALF];
#pragma unroll
  for (int c = 0; c < HALF; c++) o[c] = 0.f;
  const int64_t pos_first = n_past + q0, pos_last = n_past + q0 + rows - 1;
  const int64_t kstart = a.window > 0 ? imax(0, pos_first - a.window + 1) : int64_t(0);
  const int64_t kend = pos_last + 1;

  for (int64_t kt = kstart; kt < kend; kt += kTBK) {
    __syncthreads();
    for (int idx = threadIdx.x; idx < kTBK * D; idx += blockDim.x) {
      const int j = idx / D, c = idx % D;
      const int64_t jj = kt + j;
      float kv = 0.f, vv = 0.f;
      if (jj < kend) {
        kv = a.k[jj * ks + int64_t(kvh) * D + c];
        vv = a.v[jj * ks + int64_t(kvh) * D + c];
      }
      Ks[j * LDH + c] = to_tc<T>(kv);
      Vs[j * LDH + c] = to_tc<T>(vv);
    }
    __syncthreads();
    // S[16 x 64] = Q_w K^T
#pragma unroll
    for (int nb = 0; nb < kTBK / 16; nb++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int kk = 0; kk < D / 16; kk++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, Qs + (warp * 16) * LDH + kk * 16, LDH);
        wmma::load_matrix_sync(fb, Ks + (nb * 16) * LDH + kk * 16, LDH);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(Ww + nb * 16, acc, LDS, wmma::mem_row_major);
    }
    __syncwarp();
    // Online softmax on row r, columns hf*32 .. hf*32+31 (visited in a per-row rotated order: fewer bank clashes).
    float mx = -INFINITY;
    for (int cc = 0; cc < 32; cc++) {
      const int c = hf * 32 + ((cc + r) & 31);
      const int64_t jj = kt + c;
      if (valid && jj >= lo && jj <= pos) mx = fmaxf(mx, Ww[r * LDS + c] * a.scale);
    }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    const float mn = fmaxf(m, mx);
    const float alpha = mn == -INFINITY ? 1.f : expf(m - mn);
    float sum = 0.f;
    for (int cc = 0; cc < 32; cc++) {
      const int c = hf * 32 + ((cc + r) & 31);
      const int64_t jj = kt + c;
      float p = 0.f;
      if (valid && jj >= lo && jj <= pos) p = expf(Ww[r * LDS + c] * a.scale - mn);
      sum += p;
      Ps[(warp * 16 + r) * LDP + c] = to_tc<T>(p);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    l = l * alpha + sum;
    m = mn;
    __syncwarp();  // P complete and S no longer read: the scratch now takes P V
#pragma unroll
    for (int nb = 0; nb < D / 16; nb++) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.f);
#pragma unroll
      for (int kk = 0; kk < kTBK / 16; kk++) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, Ps + (warp * 16) * LDP + kk * 16, LDP);
        wmma::load_matrix_sync(fb, Vs + (kk * 16) * LDH + nb * 16, LDH);
        wmma::mma_sync(acc, fa, fb, acc);
      }
      wmma::store_matrix_sync(Ww + nb * 16, acc, LDO, wmma::mem_row_major);
    }
    __syncwarp();
#pragma unroll
    for (int c = 0; c < HALF; c++) o[c] = o[c] * alpha + Ww[r * LDO + hf * HALF + c];
  }
  if (valid) {
    const float inv = 1.f / l;
    float* out = a.out + i * qs + int64_t(h) * D + hf * HALF;
#pragma unroll
    for (int c = 0; c < HALF; c++) out[c] = o[c] * inv;
  }
}

template <int DT>
void launch_decode(const AttnArgs& a, cudaStream_t s) {
  const dim3 grid(unsigned(a.splits), unsigned(a.Hkv), unsigned(a.n));
  attn_decode_kernel<DT><<<grid, kDecWarps * 32, 0, s>>>(a);
  check_launch("attention (decode)");
  attn_combine_kernel<<<unsigned(a.n * a.H), 128, 0, s>>>(a);
  check_launch("attention (decode merge)");
}

template <int DT>
void launch_flash_f32(const AttnArgs& a, cudaStream_t s) {
  const size_t bytes = smem::attn_flash_f32_bytes(a.d);
  allow_dynamic_smem(reinterpret_cast<const void*>(attn_flash_f32_kernel<DT>), bytes, "attn_flash_f32");
  const dim3 grid(unsigned((a.n + kFBQ - 1) / kFBQ), unsigned(a.H));
  attn_flash_f32_kernel<DT><<<grid, 128, bytes, s>>>(a);
  check_launch("attention (flash f32)");
}

template <int D, class T>
void launch_flash_wmma(const AttnArgs& a, cudaStream_t s) {
  const size_t bytes = WmmaSmem<D>::bytes;
  allow_dynamic_smem(reinterpret_cast<const void*>(attn_flash_wmma_kernel<D, T>), bytes, "attn_flash_wmma");
  const dim3 grid(unsigned((a.n + kTBQ - 1) / kTBQ), unsigned(a.H));
  attn_flash_wmma_kernel<D, T><<<grid, 128, bytes, s>>>(a);
  check_launch("attention (flash tensor cores)");
}

template <int D>
void launch_flash_wmma_typed(const AttnArgs& a, cudaStream_t s) {
  if (a.tensor_cores == kBF16)
    launch_flash_wmma<D, __nv_bfloat16>(a, s);
  else
    launch_flash_wmma<D, __half>(a, s);
}

}  // namespace

int decode_splits(int64_t n, int Hkv, int sm_count) {
  const int64_t want = (int64_t(8) * sm_count + int64_t(Hkv) * n - 1) / (int64_t(Hkv) * n);
  return int(std::max<int64_t>(1, std::min<int64_t>(128, want)));
}

void launch_attention(const AttnArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  const int d = a.d;
  if (a.n <= kDecodeMaxRows) {
    if (d <= 32)
      launch_decode<1>(a, s);
    else if (d <= 64)
      launch_decode<2>(a, s);
    else if (d <= 128)
      launch_decode<4>(a, s);
    else
      launch_decode<8>(a, s);
  } else if (a.tensor_cores && d == 128) {
    launch_flash_wmma_typed<128>(a, s);
  } else if (a.tensor_cores && d == 64) {
    launch_flash_wmma_typed<64>(a, s);
  } else if (d <= 32) {
    launch_flash_f32<1>(a, s);
  } else if (d <= 64) {
    launch_flash_f32<2>(a, s);
  } else if (d <= 128) {
    launch_flash_f32<4>(a, s);
  } else {
    launch_flash_f32<8>(a, s);
  }
}

}  // namespace supra::cuda
