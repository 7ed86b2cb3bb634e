// Matmul of a few rows (decode): y[n, out] = x[n, in] . W[out, in]^T (+ bias) for n <= kGemvMaxRows. The step
// is bound by reading W once, so one warp streams one weight row with 16-byte loads and applies it to all n rows
// of x (fp32, from L1/L2); fp32 accumulation, a warp reduction, bias fused. Any in/out: rows whose width is not
// a multiple of the vector length (or unaligned pointers) take the scalar path.
#include <type_traits>

#include "engine/cuda/cuda_device.cuh"

namespace supra::cuda {

namespace {

constexpr int kWarps = 8;

template <class T>
struct Vec;  // 16 bytes of T widened to floats
template <>
struct Vec<float> {
  static constexpr int E = 4;
  __device__ static void widen(const uint4& r, float* f) {
    f[0] = __uint_as_float(r.x);
    f[1] = __uint_as_float(r.y);
    f[2] = __uint_as_float(r.z);
    f[3] = __uint_as_float(r.w);
  }
};
template <>
struct Vec<__half> {
  static constexpr int E = 8;
  __device__ static void widen(const uint4& r, float* f) {
    const __half2* h = reinterpret_cast<const __half2*>(&r);
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const float2 t = __half22float2(h[i]);
      f[2 * i] = t.x;
      f[2 * i + 1] = t.y;
    }
  }
};
template <>
struct Vec<__nv_bfloat16> {
  static constexpr int E = 8;
  __device__ static void widen(const uint4& r, float* f) {
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&r);
#pragma unroll
    for (int i = 0; i < 4; i++) {
      const float2 t = __bfloat1622float2(h[i]);
      f[2 * i] = t.x;
      f[2 * i + 1] = t.y;
    }
  }
};

template <class T>
__device__ __forceinline__ float scalar(const T* p, int64_t i) {
  if constexpr (sizeof(T) == 4)
    return p[i];
  else if constexpr (std::is_same_v<T, __half>)
    return __half2float(p[i]);
  else
    return __bfloat162float(p[i]);
}

template <class T, int MAXR, bool VEC>
__global__ void __launch_bounds__(kWarps * 32) gemv_kernel(GemvArgs a) {
  const int lane = threadIdx.x & 31;
  const int64_t o = int64_t(blockIdx.x) * kWarps + (threadIdx.x >> 5);
  if (o >= a.out) return;
  const T* w = static_cast<const T*>(a.w) + o * a.in;
  const int n = int(a.n);
  float acc[MAXR];
#pragma unroll
  for (int r = 0; r < MAXR; r++) acc[r] = 0.f;
  if constexpr (VEC) {
    constexpr int E = Vec<T>::E;
    const int64_t nvec = a.in / E;
    const uint4* wv = reinterpret_cast<const uint4*>(w);
#pragma unroll 4
    for (int64_t i = lane; i < nvec; i += 32) {
      float wf[E];
      Vec<T>::widen(__ldg(wv + i), wf);
#pragma unroll
      for (int r = 0; r < MAXR; r++) {
        if (r < n) {
          const float4* xv = reinterpret_cast<const float4*>(a.x + r * a.in + i * E);
#pragma unroll
          for (int q = 0; q < E / 4; q++) {
            const float4 x4 = xv[q];
            acc[r] += wf[4 * q] * x4.x + wf[4 * q + 1] * x4.y + wf[4 * q + 2] * x4.z + wf[4 * q + 3] * x4.w;
          }
        }
      }
    }
  } else {
    for (int64_t c = lane; c < a.in; c += 32) {
      const float wc = scalar(w, c);
#pragma unroll
      for (int r = 0; r < MAXR; r++)
        if (r < n) acc[r] += wc * a.x[r * a.in + c];
    }
  }
  const float b = a.bias ? load_as_float(a.bias, a.bdtype, o) : 0.f;
#pragma unroll
  for (int r = 0; r < MAXR; r++) {
    if (r < n) {
      const float s = warp_sum(acc[r]);
      if (lane == 0) a.y[r * a.out + o] = s + b;
    }
  }
}

template <class T>
void launch_typed(const GemvArgs& a, cudaStream_t s) {
  constexpr int E = Vec<T>::E;
  const bool vec = a.in % E == 0 && reinterpret_cast<uintptr_t>(a.w) % 16 == 0 &&
                   reinterpret_cast<uintptr_t>(a.x) % 16 == 0;
  const unsigned blocks = unsigned((a.out + kWarps - 1) / kWarps);
  if (a.n == 1) {
    if (vec)
      gemv_kernel<T, 1, true><<<blocks, kWarps * 32, 0, s>>>(a);
    else
      gemv_kernel<T, 1, false><<<blocks, kWarps * 32, 0, s>>>(a);
  } else {
    if (vec)
      gemv_kernel<T, kGemvMaxRows, true><<<blocks, kWarps * 32, 0, s>>>(a);
    else
      gemv_kernel<T, kGemvMaxRows, false><<<blocks, kWarps * 32, 0, s>>>(a);
  }
}

}  // namespace

void launch_gemv(const GemvArgs& a, cudaStream_t s) {
  if (a.n == 0 || a.out == 0) return;
  switch (a.wdtype) {
    case kBF16: launch_typed<__nv_bfloat16>(a, s); break;
    case kF16: launch_typed<__half>(a, s); break;
    default: launch_typed<float>(a, s); break;
  }
  check_launch("gemv");
}

}  // namespace supra::cuda
