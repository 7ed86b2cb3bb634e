#pragma once
// The CUDA kernels of the backend, seen from the host: one plain argument struct per kernel (passed by value, so
// a launch is fully described by its bytes: the backend hashes them to recognise a decode step it has captured in
// a CUDA graph before) and one launch function per struct. Everything here is internal to engine/cuda/.
//
// Conventions (the same as the CPU twins in engine/cpu/cpu_ops.h): activations fp32 row-major [rows, cols];
// weights [out, in] in the backend's weight dtype; dtype codes are int(supra::DType).
#include <cuda_runtime_api.h>

#include <cstdint>

namespace supra::cuda {

constexpr int kF32 = 0, kF16 = 1, kBF16 = 2, kI32 = 3;  // int(DType::...), checked in cuda_backend.cpp
constexpr int kMaxHeadDim = 256;                        // d <= 256 in every attention kernel
constexpr int kSupraMaxChunk = 64;                      // SUPRA chunk kernels hold chunks of at most 64 rows
constexpr int kGemvMaxRows = 8;                         // matmuls of <= 8 rows use the GEMV kernel
constexpr int kDecodeMaxRows = 16;                      // attention of <= 16 query rows uses the split-K kernel

// Throws supra::Error naming `what` when `e` is not cudaSuccess.
void check(cudaError_t e, const char* what);
// Checks the launch that just happened (cudaGetLastError).
void check_launch(const char* what);

// ---------------------------------------------------------------- elementwise (cuda_elementwise.cu)
struct EmbedArgs {
  const int32_t* tokens;
  const void* table;  // [V, D], dtype `dtype`
  int dtype;
  int64_t n, V, D;
  float* out;  // [n, D]
  int* error;  // set to 1 when a token id is outside [0, V) (the row is then zero)
};
void launch_embed(const EmbedArgs& a, cudaStream_t s);

struct RmsnormArgs {
  const float* x;
  const void* w;  // [D], dtype `wdtype`
  int wdtype;
  float* out;
  int64_t n, D;
  float eps;
};
void launch_rmsnorm(const RmsnormArgs& a, cudaStream_t s);

enum class Pointwise : int { Relu = 0, Add = 1, Scale = 2, Swiglu = 3 };
struct PointwiseArgs {
  float* x;        // in/out (Relu, Add, Scale); out (Swiglu)
  const float* a;  // Add: y; Swiglu: gate
  const float* b;  // Swiglu: up
  int64_t count;
  float s;
  int op;  // Pointwise
};
void launch_pointwise(const PointwiseArgs& a, cudaStream_t s);

struct RopeArgs {
  float* x;  // [n, heads*d], in place
  const int32_t* pos;
  const float* inv_freq;  // [d/2], computed on the host exactly as the CPU does
  int64_t n;
  int heads, d;
  int interleaved;  // 0: rotate-half (i, i+d/2); 1: interleaved (2i, 2i+1)
};
void launch_rope(const RopeArgs& a, cudaStream_t s);

struct RepeatHeadsArgs {
  const float* x;  // [n, Hkv*d]
  float* out;      // [n, H*d]
  int64_t n;
  int H, Hkv, d;
};
void launch_repeat_heads(const RepeatHeadsArgs& a, cudaStream_t s);

struct GroupnormArgs {
  float* x;
  int64_t groups;
  int group;
  float eps;
};
void launch_groupnorm(const GroupnormArgs& a, cudaStream_t s);

struct LogSoftmaxArgs {
  const float* logits;  // [n, V]
  int64_t n, V;
  const int32_t* targets;  // may be null: logprob 0
  float* logprob;
  int32_t* argmax;
};
void launch_log_softmax_gather(const LogSoftmaxArgs& a, cudaStream_t s);

struct BiasArgs {
  float* y;  // [n, out] += bias[out]
  const void* bias;
  int bdtype;
  int64_t n, out;
};
void launch_bias(const BiasArgs& a, cudaStream_t s);

// fp32 -> f16/bf16 (the activation operand of a tensor-core GEMM).
struct ConvertArgs {
  const float* x;
  void* out;
  int dtype;
  int64_t count;
};
void launch_convert(const ConvertArgs& a, cudaStream_t s);

// Device-to-device copy of `bytes` from src + dyn[0] to dst + dyn[1] (offsets in bytes, read on the device, so a
// copy into the next row of a KV cache keeps the same launch arguments from one decode step to the next).
struct CopyArgs {
  void* dst;
  const void* src;
  const int64_t* dyn;
  int64_t bytes;
};
void launch_copy(const CopyArgs& a, cudaStream_t s);

// ---------------------------------------------------------------- small-n GEMM (cuda_gemv.cu)
// y[n, out] = x[n, in] . W[out, in]^T (+ bias), n <= kGemvMaxRows; fp32 accumulation, x read in fp32.
struct GemvArgs {
  const float* x;
  const void* w;
  int wdtype;
  const void* bias;  // may be null
  int bdtype;
  float* y;
  int64_t n, in, out;
};
void launch_gemv(const GemvArgs& a, cudaStream_t s);

// ---------------------------------------------------------------- softmax attention (cuda_softmax_attention.cu)
// q [n, H*d] at positions n_past + i; k, v cache rows [n_past + n, Hkv*d]; out [n, H*d]. n_past is read on the
// device from dyn[0] so that decode steps differing only in n_past replay one captured graph.
struct AttnArgs {
  const float* q;
  const float* k;
  const float* v;
  float* out;
  const int64_t* dyn;  // device: dyn[0] = n_past
  int64_t n;
  int H, Hkv, d;
  int window;  // 0: none; else a query sees the keys at positions > pos - window
  float scale;
  int tensor_cores;  // 1: f16 tensor-core tiles (used when the backend's weights are 16-bit and d is 64 or 128)
  // split-K decode scratch (n <= kDecodeMaxRows): splits * n * H * (d + 2) floats
  float* partial;
  int splits;
};
void launch_attention(const AttnArgs& a, cudaStream_t s);
// Splits of the decode kernel for n query rows (a fixed function of the shape, never of n_past).
int decode_splits(int64_t n, int Hkv, int sm_count);

// ---------------------------------------------------------------- SUPRA (cuda_supra_attention.cu)
// q, k, v, out [n, H*d]; state [H, d, d] fp32, continued and updated; slopes [H] on the device.
struct SupraArgs {
  const float* q;
  const float* k;
  const float* v;
  float* state;
  float* out;
  const float* slopes;
  int64_t n;
  int H, d;
  int chunk;  // chunked form: rows per chunk, 1..kSupraMaxChunk
};
void launch_supra_chunked(const SupraArgs& a, cudaStream_t s);
void launch_supra_recurrent(const SupraArgs& a, cudaStream_t s);
void launch_supra_parallel(const SupraArgs& a, cudaStream_t s);  // O(n^2) reference for tests

// Raise the dynamic shared-memory limits of the kernels that need more than 48 KiB. Once per device, before any
// launch (throw on failure).
void init_attention_kernels();
void init_supra_kernels();
// Whether this build holds kernels the current device can run: cudaSuccess, or the error of the probe (e.g.
// cudaErrorNoKernelImageForDevice on a GPU older than the compiled architectures).
cudaError_t probe_kernels();

}  // namespace supra::cuda
