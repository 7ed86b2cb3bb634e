// Row-wise and pointwise CUDA kernels: embedding gather, RMSNorm, relu/add/scale/SwiGLU, RoPE, repeat_heads,
// GroupNorm, bias, fp32 -> 16-bit conversion, log-softmax with gather and argmax. Each follows its CPU twin
// (engine/cpu/) formula for formula, in fp32 (GroupNorm and log-softmax sums in double, as the CPU does).
#include <cfloat>
#include <climits>

#include "engine/cuda/cuda_device.cuh"

namespace supra::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void embed_kernel(EmbedArgs a) {
  const int64_t row = blockIdx.x;
  const int32_t id = a.tokens[row];
  float* o = a.out + row * a.D;
  if (id < 0 || int64_t(id) >= a.V) {
    if (threadIdx.x == 0) *reinterpret_cast<volatile int*>(a.error) = 1;  // mapped host memory: a plain store
    for (int64_t c = threadIdx.x; c < a.D; c += blockDim.x) o[c] = 0.f;
    return;
  }
  const int64_t base = int64_t(id) * a.D;
  for (int64_t c = threadIdx.x; c < a.D; c += blockDim.x) o[c] = load_as_float(a.table, a.dtype, base + c);
}

__global__ void rmsnorm_kernel(RmsnormArgs a) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const float* x = a.x + row * a.D;
  float* o = a.out + row * a.D;
  float ss = 0.f;
  for (int64_t c = threadIdx.x; c < a.D; c += blockDim.x) ss += x[c] * x[c];
  ss = block_sum(ss, scratch);
  const float r = 1.f / sqrtf(ss / float(a.D) + a.eps);
  for (int64_t c = threadIdx.x; c < a.D; c += blockDim.x) o[c] = x[c] * r * load_as_float(a.w, a.wdtype, c);
}

__global__ void pointwise_kernel(PointwiseArgs a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < a.count; i += stride) {
    switch (a.op) {
      case int(Pointwise::Relu): a.x[i] = a.x[i] > 0.f ? a.x[i] : 0.f; break;
      case int(Pointwise::Add): a.x[i] += a.a[i]; break;
      case int(Pointwise::Scale): a.x[i] *= a.s; break;
      case int(Pointwise::Swiglu): {
        const float g = a.a[i];
        a.x[i] = g / (1.f + expf(-g)) * a.b[i];
        break;
      }
    }
  }
}

// One thread per (row, head, pair).
__global__ void rope_kernel(RopeArgs a) {
  const int half = a.d / 2;
  const int64_t total = a.n * a.heads * half;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int i = int(idx % half);
    const int64_t th = idx / half;  // row * heads + head
    const int64_t t = th / a.heads;
    const float ang = float(a.pos[t]) * a.inv_freq[i];
    const float c = cosf(ang), s = sinf(ang);
    float* v = a.x + th * a.d;
    const int p = a.interleaved ? 2 * i : i;
    const int q = a.interleaved ? 2 * i + 1 : i + half;
    const float v0 = v[p], v1 = v[q];
    v[p] = v0 * c - v1 * s;
    v[q] = v0 * s + v1 * c;
  }
}

__global__ void repeat_heads_kernel(RepeatHeadsArgs a) {
  const int64_t row_out = int64_t(a.H) * a.d, row_in = int64_t(a.Hkv) * a.d;
  const int64_t total = a.n * row_out;
  const int group = a.H / a.Hkv;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; idx < total; idx += stride) {
    const int64_t t = idx / row_out;
    const int64_t r = idx % row_out;
    const int h = int(r / a.d), c = int(r % a.d);
    a.out[idx] = a.x[t * row_in + int64_t(h / group) * a.d + c];
  }
}

// One warp per group; mean and biased variance accumulated in double like the CPU.
__global__ void groupnorm_kernel(GroupnormArgs a) {
  const int lane = threadIdx.x & 31;
  const int64_t g = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  if (g >= a.groups) return;
  float* v = a.x + g * a.group;
  double sum = 0;
  for (int j = lane; j < a.group; j += 32) sum += v[j];
  const double mean = warp_sum(sum) / a.group;
  double var = 0;
  for (int j = lane; j < a.group; j += 32) var += (v[j] - mean) * (v[j] - mean);
  var = warp_sum(var) / a.group;
  const float r = float(1.0 / sqrt(var + double(a.eps)));
  const float m = float(mean);
  for (int j = lane; j < a.group; j += 32) v[j] = (v[j] - m) * r;
}

// Larger value wins; on equal values the smaller index (the CPU keeps the first maximum).
__device__ __forceinline__ void better(float& bv, int& bi, float v, int i) {
  if (v > bv || (v == bv && i < bi)) {
    bv = v;
    bi = i;
  }
}

__global__ void log_softmax_gather_kernel(LogSoftmaxArgs a) {
  __shared__ float sv[32];
  __shared__ int si[32];
  __shared__ double sd[32];
  const int64_t row = blockIdx.x;
  const float* l = a.logits + row * a.V;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  float bv = -INFINITY;
  int bi = INT_MAX;
  for (int64_t j = threadIdx.x; j < a.V; j += blockDim.x) better(bv, bi, l[j], int(j));
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
    const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
    better(bv, bi, ov, oi);
  }
  if (lane == 0) {
    sv[warp] = bv;
    si[warp] = bi;
  }
  __syncthreads();
  if (warp == 0) {
    bv = lane < nwarps ? sv[lane] : -INFINITY;
    bi = lane < nwarps ? si[lane] : INT_MAX;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
      const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
      const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
      better(bv, bi, ov, oi);
    }
    if (lane == 0) {
      sv[0] = bv;
      si[0] = bi;
    }
  }
  __syncthreads();
  const float mx = sv[0];
  const int am = si[0] == INT_MAX ? 0 : si[0];
  double sum = 0;
  for (int64_t j = threadIdx.x; j < a.V; j += blockDim.x) sum += exp(double(l[j] - mx));
  sum = block_sum(sum, sd);
  if (threadIdx.x == 0) {
    a.argmax[row] = am;
    a.logprob[row] = a.targets ? float(double(l[a.targets[row]] - mx) - log(sum)) : 0.f;
  }
}

__global__ void bias_kernel(BiasArgs a) {
  const int64_t total = a.n * a.out;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride)
    a.y[i] += load_as_float(a.bias, a.bdtype, i % a.out);
}

__global__ void convert_kernel(ConvertArgs a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < a.count; i += stride) {
    if (a.dtype == kBF16)
      static_cast<__nv_bfloat16*>(a.out)[i] = __float2bfloat16_rn(a.x[i]);
    else
      static_cast<__half*>(a.out)[i] = __float2half_rn(a.x[i]);
  }
}

__global__ void widen_kernel(WidenArgs a) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < a.count; i += stride)
    a.out[i] = load_as_float(a.x, a.dtype, i);
}

__global__ void copy_kernel(CopyArgs a) {
  const char* src = static_cast<const char*>(a.src) + a.dyn[0];
  char* dst = static_cast<char*>(a.dst) + a.dyn[1];
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst) | uintptr_t(a.bytes)) & 15) == 0) {
    const uint4* s4 = reinterpret_cast<const uint4*>(src);
    uint4* d4 = reinterpret_cast<uint4*>(dst);
    for (int64_t i = first; i < a.bytes / 16; i += stride) d4[i] = s4[i];
  } else if (((reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst) | uintptr_t(a.bytes)) & 3) == 0) {
    const uint32_t* s1 = reinterpret_cast<const uint32_t*>(src);
    uint32_t* d1 = reinterpret_cast<uint32_t*>(dst);
    for (int64_t i = first; i < a.bytes / 4; i += stride) d1[i] = s1[i];
  } else {
    for (int64_t i = first; i < a.bytes; i += stride) dst[i] = src[i];
  }
}

}  // namespace

void launch_copy(const CopyArgs& a, cudaStream_t s) {
  if (a.bytes == 0) return;
  copy_kernel<<<grid_for((a.bytes + 15) / 16, kThreads, 8192), kThreads, 0, s>>>(a);
  check_launch("copy");
}

cudaError_t probe_kernels() {
  cudaFuncAttributes attr{};
  return cudaFuncGetAttributes(&attr, pointwise_kernel);
}

void launch_embed(const EmbedArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  embed_kernel<<<unsigned(a.n), kThreads, 0, s>>>(a);
  check_launch("embed");
}

void launch_rmsnorm(const RmsnormArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  const int threads = a.D >= 4096 ? 1024 : (a.D >= 1024 ? 512 : 256);
  rmsnorm_kernel<<<unsigned(a.n), threads, 0, s>>>(a);
  check_launch("rmsnorm");
}

void launch_pointwise(const PointwiseArgs& a, cudaStream_t s) {
  if (a.count == 0) return;
  pointwise_kernel<<<grid_for(a.count, kThreads), kThreads, 0, s>>>(a);
  check_launch("pointwise");
}

void launch_rope(const RopeArgs& a, cudaStream_t s) {
  const int64_t total = a.n * a.heads * (a.d / 2);
  if (total == 0) return;
  rope_kernel<<<grid_for(total, kThreads), kThreads, 0, s>>>(a);
  check_launch("rope");
}

void launch_repeat_heads(const RepeatHeadsArgs& a, cudaStream_t s) {
  const int64_t total = a.n * a.H * a.d;
  if (total == 0) return;
  repeat_heads_kernel<<<grid_for(total, kThreads), kThreads, 0, s>>>(a);
  check_launch("repeat_heads");
}

void launch_groupnorm(const GroupnormArgs& a, cudaStream_t s) {
  if (a.groups == 0) return;
  groupnorm_kernel<<<grid_for(a.groups * 32, kThreads, int64_t(1) << 30), kThreads, 0, s>>>(a);
  check_launch("groupnorm");
}

void launch_log_softmax_gather(const LogSoftmaxArgs& a, cudaStream_t s) {
  if (a.n == 0) return;
  log_softmax_gather_kernel<<<unsigned(a.n), 512, 0, s>>>(a);
  check_launch("log_softmax_gather");
}

void launch_bias(const BiasArgs& a, cudaStream_t s) {
  if (a.n * a.out == 0) return;
  bias_kernel<<<grid_for(a.n * a.out, kThreads), kThreads, 0, s>>>(a);
  check_launch("bias");
}

void launch_convert(const ConvertArgs& a, cudaStream_t s) {
  if (a.count == 0) return;
  convert_kernel<<<grid_for(a.count, kThreads), kThreads, 0, s>>>(a);
  check_launch("convert");
}

void launch_widen(const WidenArgs& a, cudaStream_t s) {
  if (a.count == 0) return;
  widen_kernel<<<grid_for(a.count, kThreads), kThreads, 0, s>>>(a);
  check_launch("widen");
}

}  // namespace supra::cuda
