#pragma once
// The CUDA kernels of the backend, seen from the host: one plain argument struct per kernel (passed by value, so
// a launch is fully described by its bytes: the backend hashes them to recognise a decode step it has captured in
// a CUDA graph before) and one launch function per struct. Everything here is internal to engine/cuda/.
//
// Conventions (the same as the CPU twins in engine/cpu/cpu_ops.h): activations fp32 row-major [rows, cols];
// weights [out, in] in the backend's weight dtype; dtype codes are int(supra::DType).
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "engine/cuda/kernel_smem.h"

namespace supra::cuda {

constexpr int kF32 = 0, kF16 = 1, kBF16 = 2, kI32 = 3;  // int(DType::...), checked in cuda_backend.cpp
constexpr int kMaxHeadDim = smem::kMaxHeadDim;          // d <= 256 in every attention kernel
constexpr int kSupraMaxChunk = smem::kSupraMaxChunk;    // SUPRA chunk kernels hold chunks of at most 64 rows
constexpr int kGemvMaxRows = 8;                         // matmuls of <= 8 rows use the GEMV kernel
constexpr int kDecodeMaxRows = 16;                      // attention of <= 16 query rows uses the split-K kernel

// Throws supra::Error naming `what` when `e` is not cudaSuccess.
void check(cudaError_t e, const char* what);
// Checks the launch that just happened (cudaGetLastError).
void check_launch(const char* what);
// Lets `kernel` launch with `bytes` of dynamic shared memory on the current device: raises its limit
// (cudaFuncAttributeMaxDynamicSharedMemorySize) the first time a launch needs more than 48 KiB or more than it was
// raised to before, to exactly that (per kernel, per device). The backend has checked the device's opt-in limit.
void allow_dynamic_smem(const void* kernel, size_t bytes, const char* name);
// The current device's opt-in shared memory per block (cudaDevAttrMaxSharedMemoryPerBlockOptin).
size_t smem_optin_limit();

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

// f16/bf16 -> fp32 (KV-cache rows stored in 16 bits, read by attention in fp32).
struct WidenArgs {
  const void* x;
  float* out;
  int dtype;
  int64_t count;
};
void launch_widen(const WidenArgs& a, cudaStream_t s);

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
  // 0: fp32 tiles on CUDA cores; kF16 / kBF16: tensor-core tiles in that dtype (the backend's 16-bit weight dtype,
  // so bf16 models never round activations to f16, whose range ends at 65504). The backend clears it when the
  // head dim has no tensor-core instance or it does not fit the device (kernel_smem.h, plan_attention_prefill).
  int tensor_cores;
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
  int chunk;  // chunked form: rows per chunk, 1..kSupraMaxChunk (the tensor-core kernel: 16, 32 or 64)
  // tensor-core chunked form only (launch_supra_chunked_tc; kernel_smem.h, plan_supra_tc):
  int et;                // value columns per output block (d, or a slice where d does not fit the device)
  int seg_chunks;        // chunks per segment: the scratch holds the states of one segment
  float* chunk_state;    // scratch [seg_chunks, H, d, d] fp32: each chunk's own k v^T sum
  void* chunk_state_in;  // scratch [seg_chunks, H, d, d] bf16: the state entering each chunk
};
// fp32 on CUDA cores (the reference path; the f32 backend's): grid (H, d/32), one block walks the chunks.
void launch_supra_chunked(const SupraArgs& a, cudaStream_t s);
// bf16 tensor cores, fp32 accumulation and state: per segment of chunks, chunk states in parallel, a scan over
// them, outputs in parallel. Head dims multiples of 16.
void launch_supra_chunked_tc(const SupraArgs& a, cudaStream_t s);
void launch_supra_recurrent(const SupraArgs& a, cudaStream_t s);
void launch_supra_parallel(const SupraArgs& a, cudaStream_t s);  // O(n^2) reference for tests

// Whether this build holds kernels the current device can run: cudaSuccess, or the error of the probe (e.g.
// cudaErrorNoKernelImageForDevice on a GPU older than the compiled architectures).
cudaError_t probe_kernels();

}  // namespace supra::cuda
