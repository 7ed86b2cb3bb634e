// The CUDA backend: device memory, weight upload, cuBLAS GEMMs, op dispatch to the kernels of engine/cuda/*.cu,
// and CUDA-graph replay of repeated segments (decode steps). See cuda_backend.h for the graph scheme.
//
// Memory. Every tensor is a block of a stream-ordered memory pool (cudaMallocFromPoolAsync on the backend's one
// stream); its shared owner frees it with cudaFreeAsync on that stream, so a block is reused only after the work
// queued before its release. The pool and stream live in a Context shared by the backend and every tensor, so a
// tensor may outlive its backend. Freed blocks stay cached in the pool (trimmed on an out-of-memory retry).
//
// Weights. upload_weight converts each matrix to the backend's weight dtype (bf16 by default, f16, f32) on the
// host, chunk by chunk into two pinned staging buffers, while the previous chunk is in flight. Vectors (norm scales,
// biases) stay fp32 on the device whatever the dtype.
//
// GEMMs. Activations are fp32 in memory. With f32 weights: cuBLAS SGEMM in fp32 (no TF32), held to the CPU at 1e-5.
// With 16-bit weights: the activation operand is converted to the weight dtype by a small kernel, then
// cublasGemmEx runs on tensor cores with fp32 accumulation and an fp32 output (cuBLAS has no bf16 x fp32 mixed
// GEMM). Matmuls of <= 8 rows (decode) skip the conversion: a GEMV kernel streams the 16-bit weights once and
// reads the fp32 activations directly. So a 16-bit model's prefill and decode logits differ at that dtype's level
// (README "Precision on the GPU"; tests/cuda/test_cuda_tensor_cores.cpp bounds the difference).
//
// Shared memory. Each attention op plans its kernel and tiles for this device's opt-in limit (kernel_smem.h) and
// fails with the kernel, its need and the limit when nothing fits; a kernel's limit is raised at its first launch.
//
// One file of about 1000 lines: CudaBackend (most of it) is one class whose pool, stream, graphs and tables every
// op uses; the kernels themselves live in the .cu files.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/backend.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cuda_kernels.h"
#include "engine/rope.h"
#include "core/error.h"

namespace supra {

namespace cuda {

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail("CUDA error in {}: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

void check_launch(const char* what) { check(cudaGetLastError(), what); }

void allow_dynamic_smem(const void* kernel, size_t bytes, const char* name) {
  if (bytes <= smem::kDefaultLimit) return;
  static std::mutex mu;
  static std::map<std::pair<int, const void*>, size_t> raised;  // (device, kernel) -> bytes allowed so far
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  std::lock_guard<std::mutex> lock(mu);
  size_t& have = raised[{dev, kernel}];
  if (have >= bytes) return;
  const cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(bytes));
  if (e != cudaSuccess)
    fail("CUDA kernel {} needs {} bytes of shared memory per block; raising its limit failed: {}", name, bytes,
         cudaGetErrorString(e));
  have = bytes;
}

size_t smem_optin_limit() {
  int dev = 0, v = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  check(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "cudaDeviceGetAttribute");
  return size_t(v);
}

}  // namespace cuda

namespace {

using namespace cuda;

static_assert(int(DType::F32) == kF32 && int(DType::F16) == kF16 && int(DType::BF16) == kBF16 &&
              int(DType::I32) == kI32);

void check_blas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) fail("cuBLAS error in {}: {}", what, cublasGetStatusString(s));
}

// Argument structs are hashed byte for byte: padding must be zero, so every struct starts from zeroed().
template <class T>
T zeroed() {
  static_assert(std::is_trivially_copyable_v<T>);
  T t;
  std::memset(static_cast<void*>(&t), 0, sizeof t);
  return t;
}

constexpr size_t kStageHalf = size_t(4) << 20;    // pinned bytes per segment for from_host data
constexpr size_t kParamHalf = size_t(64) << 10;   // bytes per segment of device-read scalars (n_past, offsets)
constexpr size_t kUploadChunk = size_t(64) << 20;  // pinned bytes per weight-upload buffer (two of them)
constexpr size_t kBlasWorkspace = size_t(32) << 20;
constexpr size_t kMinGraphOps = 16;  // smaller segments always run eagerly
constexpr size_t kMaxPending = 8192;  // ops per segment before it is cut
constexpr size_t kMaxGraphs = 32;

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;
  cudaMemPool_t pool = nullptr;
  bool capturing = false;
  std::vector<void*> deferred_frees;  // released while a capture was open

  ~Context() {
    if (stream) {
      cudaStreamSynchronize(stream);
      for (void* p : deferred_frees) cudaFreeAsync(p, stream);
      cudaStreamSynchronize(stream);
      cudaStreamDestroy(stream);
    }
    if (pool) cudaMemPoolDestroy(pool);
  }
  void release(void* p) {
    if (capturing) {
      deferred_frees.push_back(p);
      return;
    }
    cudaFreeAsync(p, stream);  // errors (e.g. at process exit) are ignored
  }
};

// Ops, in the order the backend records them; the id makes the launch signature unambiguous.
enum OpId : int32_t {
  kOpHostCopy = 1,
  kOpParams,
  kOpCopy,
  kOpEmbed,
  kOpRmsnorm,
  kOpPointwise,
  kOpRope,
  kOpRepeat,
  kOpGroupnorm,
  kOpLogSoftmax,
  kOpBias,
  kOpConvert,
  kOpGemv,
  kOpGemm,
  kOpAttention,
  kOpSupraChunked,
  kOpSupraRecurrent,
  kOpSupraParallel,
  kOpSupraChunkedTc,
  kOpWiden,
};

struct HostCopyArgs {
  void* dst;
  const void* src;  // pinned host memory
  int64_t bytes;
};

void run_host_copy(const HostCopyArgs& a, cudaStream_t s) {
  check(cudaMemcpyAsync(a.dst, a.src, size_t(a.bytes), cudaMemcpyHostToDevice, s), "cudaMemcpyAsync (host to device)");
}

struct GemmArgs {
  cublasHandle_t handle;
  const void* w;  // [out, in], row-major
  const void* x;  // [n, in]
  float* y;       // [n, out]
  int32_t out, n, in;
  int32_t type;  // cudaDataType of w and x
};

// Row-major y[n, out] = x[n, in] . W[out, in]^T is column-major y^T[out, n] = W^T... i.e. C = op(A) B with
// A = W seen column-major [in, out] (transposed), B = x seen column-major [in, n].
void run_gemm(const GemmArgs& g, cudaStream_t) {
  const float alpha = 1.f, beta = 0.f;
  check_blas(cublasGemmEx(g.handle, CUBLAS_OP_T, CUBLAS_OP_N, g.out, g.n, g.in, &alpha, g.w, cudaDataType(g.type),
                          g.in, g.x, cudaDataType(g.type), g.in, &beta, g.y, CUDA_R_32F, g.out, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT),
             "cublasGemmEx");
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

const char* device_name(Device d) { return d == Device::CUDA ? "cuda" : "cpu"; }

void need_dev(const Tensor& t, const char* op, const char* name) {
  if (t.device != Device::CUDA || t.empty())
    fail("cuda backend: {} expects {} as a CUDA tensor, got a {} tensor {}", op, name, device_name(t.device),
         t.shape_str());
}

void need_f32(const Tensor& t, const char* op, const char* name) {
  need_dev(t, op, name);
  if (t.dtype != DType::F32) fail("cuda backend: {} expects {} in f32, got {}", op, name, dtype_name(t.dtype));
}

void need_i32(const Tensor& t, const char* op, const char* name) {
  need_dev(t, op, name);
  if (t.dtype != DType::I32) fail("cuda backend: {} expects {} in i32, got {}", op, name, dtype_name(t.dtype));
}

void need_float_weight(const Tensor& t, const char* op, const char* name) {
  need_dev(t, op, name);
  if (t.dtype == DType::I32) fail("cuda backend: {} expects {} as a float tensor, got i32", op, name);
}

// Host conversion of `count` elements for the weight upload, spread over the OpenMP threads.
void convert_chunk(DType from, const void* src, DType to, void* dst, size_t count) {
  const size_t ein = dtype_size(from), eout = dtype_size(to);
  const size_t block = 1 << 16;
  const int64_t blocks = int64_t((count + block - 1) / block);
  if (from == to) {
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const size_t off = size_t(b) * block, c = std::min(block, count - off);
      std::memcpy(static_cast<char*>(dst) + off * eout, static_cast<const char*>(src) + off * ein, c * ein);
    }
    return;
  }
#pragma omp parallel
  {
    std::vector<float> tmp(block);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blocks; b++) {
      const size_t off = size_t(b) * block, c = std::min(block, count - off);
      convert_to_f32(from, static_cast<const char*>(src) + off * ein, tmp.data(), c);
      convert_from_f32(to, tmp.data(), static_cast<char*>(dst) + off * eout, c);
    }
  }
}

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(DType weight_dtype) : wdtype_(weight_dtype), ctx_(std::make_shared<Context>()) {
    check(cudaGetDevice(&ctx_->device), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&sms_, cudaDevAttrMultiProcessorCount, ctx_->device), "cudaDeviceGetAttribute");
    check(cudaStreamCreateWithFlags(&ctx_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    cudaMemPoolProps props;
    std::memset(&props, 0, sizeof props);
    props.allocType = cudaMemAllocationTypePinned;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = ctx_->device;
    check(cudaMemPoolCreate(&ctx_->pool, &props), "cudaMemPoolCreate");
    uint64_t keep = UINT64_MAX;  // keep freed blocks cached (trimmed when an allocation fails)
    check(cudaMemPoolSetAttribute(ctx_->pool, cudaMemPoolAttrReleaseThreshold, &keep), "cudaMemPoolSetAttribute");
    smem_optin_ = smem_optin_limit();

    check_blas(cublasCreate(&blas_), "cublasCreate");
    check_blas(cublasSetStream(blas_, ctx_->stream), "cublasSetStream");
    blas_ws_ = make_tensor(DType::F32, {int64_t(kBlasWorkspace / 4)}, false);
    // After cublasSetStream (which resets the workspace): a fixed workspace, so captured GEMMs never allocate.
    check_blas(cublasSetWorkspace(blas_, blas_ws_.data, kBlasWorkspace), "cublasSetWorkspace");
    check_blas(cublasSetMathMode(blas_, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");  // no TF32 for fp32 GEMMs

    for (int i = 0; i < 2; i++) {
      check(cudaEventCreateWithFlags(&seg_done_[i], cudaEventDisableTiming), "cudaEventCreate");
      check(cudaEventCreateWithFlags(&up_done_[i], cudaEventDisableTiming), "cudaEventCreate");
      check(cudaHostAlloc(reinterpret_cast<void**>(&stage_[i]), kStageHalf, cudaHostAllocDefault), "cudaHostAlloc");
      check(cudaHostAlloc(reinterpret_cast<void**>(&params_host_[i]), kParamHalf, cudaHostAllocDefault),
            "cudaHostAlloc");
    }
    params_dev_ = make_tensor(DType::I32, {int64_t(2 * kParamHalf / 4)}, true);
    check(cudaHostAlloc(reinterpret_cast<void**>(&err_host_), sizeof(int), cudaHostAllocMapped), "cudaHostAlloc");
    *err_host_ = 0;
    check(cudaHostGetDevicePointer(reinterpret_cast<void**>(&err_dev_), err_host_, 0), "cudaHostGetDevicePointer");
    const char* env = std::getenv("SUPRA_CUDA_GRAPHS");
    graphs_ = !(env && std::string(env) == "0");
    check(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize");
  }

  ~CudaBackend() override {
    try {
      flush();
    } catch (...) {
    }
    cudaStreamSynchronize(ctx_->stream);
    for (auto& [h, g] : graphs_cache_) cudaGraphExecDestroy(g.exec);
    if (blas_) cublasDestroy(blas_);
    for (int i = 0; i < 2; i++) {
      if (seg_done_[i]) cudaEventDestroy(seg_done_[i]);
      if (up_done_[i]) cudaEventDestroy(up_done_[i]);
      if (stage_[i]) cudaFreeHost(stage_[i]);
      if (params_host_[i]) cudaFreeHost(params_host_[i]);
      if (upload_[i]) cudaFreeHost(upload_[i]);
    }
    if (err_host_) cudaFreeHost(err_host_);
    // Tensor members release their blocks to the pool after this body; the Context outlives them.
  }

  Device device() const override { return Device::CUDA; }
  std::string name() const override { return "cuda"; }

  // ------------------------------------------------------------------------------------------ memory
  Tensor alloc(DType dtype, std::vector<int64_t> shape) override { return make_tensor(dtype, std::move(shape), true); }

  Tensor upload_weight(const Tensor& host) override {
    if (host.device == Device::CUDA || host.empty()) return host;
    const DType target = host.dtype == DType::I32 ? DType::I32 : (host.shape.size() >= 2 ? wdtype_ : DType::F32);
    Tensor dev = make_tensor(target, host.shape, false);
    const size_t n = size_t(host.numel());
    if (n == 0) return dev;
    flush();
    for (int i = 0; i < 2; i++)
      if (!upload_[i])
        check(cudaHostAlloc(reinterpret_cast<void**>(&upload_[i]), kUploadChunk, cudaHostAllocDefault),
              "cudaHostAlloc (upload staging)");
    const size_t ein = dtype_size(host.dtype), eout = dtype_size(target);
    const size_t chunk = kUploadChunk / std::max(ein, eout);
    int b = 0;
    for (size_t off = 0; off < n; off += chunk, b ^= 1) {
      const size_t cnt = std::min(chunk, n - off);
      check(cudaEventSynchronize(up_done_[b]), "cudaEventSynchronize (upload)");
      convert_chunk(host.dtype, static_cast<const char*>(host.data) + off * ein, target, upload_[b], cnt);
      check(cudaMemcpyAsync(static_cast<char*>(dev.data) + off * eout, upload_[b], cnt * eout,
                            cudaMemcpyHostToDevice, ctx_->stream),
            "cudaMemcpyAsync (weight upload)");
      check(cudaEventRecord(up_done_[b], ctx_->stream), "cudaEventRecord");
    }
    return dev;
  }

  void copy(const Tensor& src, Tensor& dst) override {
    if (src.nbytes() != dst.nbytes()) fail("cuda copy: {} bytes into {} bytes", src.nbytes(), dst.nbytes());
    if (src.nbytes() == 0) return;
    if (src.device == Device::CPU && dst.device == Device::CPU) {
      std::memcpy(dst.data, src.data, src.nbytes());
      return;
    }
    if (src.device == Device::CPU) return from_host(src.data, dst);
    if (dst.device == Device::CPU) return to_host(src, dst.data);
    CopyArgs a = zeroed<CopyArgs>();
    const int64_t src_off = offset_in_block(src), dst_off = offset_in_block(dst);
    a.src = static_cast<const char*>(src.data) - src_off;
    a.dst = static_cast<char*>(dst.data) - dst_off;
    a.bytes = int64_t(src.nbytes());
    const int64_t offs[2] = {src_off, dst_off};
    a.dyn = device_params(offs, sizeof offs);
    submit(kOpCopy, a, launch_copy, {&src, &dst});
  }

  void convert(const Tensor& src, Tensor& dst) override {
    if (src.numel() != dst.numel()) fail("cuda convert: {} elements into {} elements", src.numel(), dst.numel());
    if (src.dtype == dst.dtype) return copy(src, dst);
    if (src.device != Device::CUDA || dst.device != Device::CUDA) fail("cuda convert: both tensors must be on the GPU");
    if (src.dtype == DType::F32) {
      ConvertArgs c = zeroed<ConvertArgs>();
      c.x = src.ptr<float>();
      c.out = dst.data;
      c.dtype = int(dst.dtype);
      c.count = src.numel();
      return submit(kOpConvert, c, launch_convert, {&src, &dst});
    }
    if (dst.dtype != DType::F32)
      fail("cuda convert: {} to {} (one side must be f32)", dtype_name(src.dtype), dtype_name(dst.dtype));
    WidenArgs w = zeroed<WidenArgs>();
    w.x = src.data;
    w.out = dst.ptr<float>();
    w.dtype = int(src.dtype);
    w.count = src.numel();
    submit(kOpWiden, w, launch_widen, {&src, &dst});
  }

  void to_host(const Tensor& src, void* dst) override {
    if (src.nbytes() == 0) return;
    if (src.device == Device::CPU) {
      std::memcpy(dst, src.data, src.nbytes());
      return;
    }
    flush();
    check(cudaMemcpyAsync(dst, src.data, src.nbytes(), cudaMemcpyDeviceToHost, ctx_->stream), "cudaMemcpyAsync (to host)");
    check(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize");
    check_device_errors();
  }

  void from_host(const void* src, Tensor& dst) override {
    const size_t bytes = dst.nbytes();
    if (bytes == 0) return;
    if (dst.device == Device::CPU) {
      std::memcpy(dst.data, src, bytes);
      return;
    }
    if (seg_compute_ > 0) flush();  // input of a new forward: the previous segment is complete
    if (bytes > kStageHalf / 4) {
      flush();
      // Pageable source: the call returns once the bytes are staged by the driver, so `src` may go away.
      check(cudaMemcpyAsync(dst.data, src, bytes, cudaMemcpyHostToDevice, ctx_->stream), "cudaMemcpyAsync (from host)");
      return;
    }
    char* slot = stage_host(bytes);
    std::memcpy(slot, src, bytes);
    HostCopyArgs a = zeroed<HostCopyArgs>();
    a.dst = dst.data;
    a.src = slot;
    a.bytes = int64_t(bytes);
    submit(kOpHostCopy, a, run_host_copy, {&dst}, /*compute=*/false);
  }

  void synchronize() override {
    flush();
    check(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize");
    check_device_errors();
  }

  // ------------------------------------------------------------------------------------------ ops
  void embed(const Tensor& tokens, const Tensor& table, Tensor& out) override {
    need_i32(tokens, "embed", "tokens");
    need_float_weight(table, "embed", "table");
    need_f32(out, "embed", "out");
    const int64_t n = tokens.numel(), V = table.dim(0), D = table.dim(1);
    if (out.numel() != n * D) fail("embed: output {} for {} tokens of width {}", out.shape_str(), n, D);
    EmbedArgs a = zeroed<EmbedArgs>();
    a.tokens = tokens.ptr<int32_t>();
    a.table = table.data;
    a.dtype = int(table.dtype);
    a.n = n;
    a.V = V;
    a.D = D;
    a.out = out.ptr<float>();
    a.error = err_dev_;
    submit(kOpEmbed, a, launch_embed, {&tokens, &table, &out});
  }

  void rmsnorm(const Tensor& x, const Tensor& w, float eps, Tensor& out) override {
    need_f32(x, "rmsnorm", "x");
    need_float_weight(w, "rmsnorm", "w");
    need_f32(out, "rmsnorm", "out");
    if (w.numel() != x.row_size() || out.numel() != x.numel())
      fail("rmsnorm: x {}, w {}, out {} do not match", x.shape_str(), w.shape_str(), out.shape_str());
    RmsnormArgs a = zeroed<RmsnormArgs>();
    a.x = x.ptr<float>();
    a.w = w.data;
    a.wdtype = int(w.dtype);
    a.out = out.ptr<float>();
    a.n = x.rows();
    a.D = x.row_size();
    a.eps = eps;
    submit(kOpRmsnorm, a, launch_rmsnorm, {&x, &w, &out});
  }

  void matmul(const Tensor& x, const Tensor& w, Tensor& y, const Tensor* bias) override {
    need_f32(x, "matmul", "x");
    need_float_weight(w, "matmul", "w");
    need_f32(y, "matmul", "y");
    const int64_t n = x.rows(), in = x.row_size(), out = w.dim(0);
    if (w.shape.size() != 2 || w.dim(1) != in)
      fail("matmul: weight {} does not take inputs of width {}", w.shape_str(), in);
    if (y.numel() != n * out) fail("matmul: output {} for {} rows of width {}", y.shape_str(), n, out);
    if (bias) {
      need_float_weight(*bias, "matmul", "bias");
      if (bias->numel() != out) fail("matmul: bias {} for {} outputs", bias->shape_str(), out);
    }
    if (n == 0 || out == 0) return;
    if (n <= kGemvMaxRows) {
      GemvArgs a = zeroed<GemvArgs>();
      a.x = x.ptr<float>();
      a.w = w.data;
      a.wdtype = int(w.dtype);
      a.bias = bias ? bias->data : nullptr;
      a.bdtype = bias ? int(bias->dtype) : kF32;
      a.y = y.ptr<float>();
      a.n = n;
      a.in = in;
      a.out = out;
      submit(kOpGemv, a, launch_gemv, {&x, &w, &y, bias});
      return;
    }
    if (n > INT32_MAX || in > INT32_MAX || out > INT32_MAX) fail("matmul: {} x {} x {} is too large for cuBLAS", n, in, out);
    GemmArgs g = zeroed<GemmArgs>();
    g.handle = blas_;
    g.w = w.data;
    g.y = y.ptr<float>();
    g.out = int32_t(out);
    g.n = int32_t(n);
    g.in = int32_t(in);
    Tensor* scratch = nullptr;
    if (w.dtype == DType::F32) {
      g.x = x.data;
      g.type = int32_t(CUDA_R_32F);
    } else {
      scratch = &activation_scratch(w.dtype, n * in);
      ConvertArgs c = zeroed<ConvertArgs>();
      c.x = x.ptr<float>();
      c.out = scratch->data;
      c.dtype = int(w.dtype);
      c.count = n * in;
      submit(kOpConvert, c, launch_convert, {&x, scratch});
      g.x = scratch->data;
      g.type = int32_t(w.dtype == DType::BF16 ? CUDA_R_16BF : CUDA_R_16F);
    }
    submit(kOpGemm, g, run_gemm, {&x, &w, &y, scratch});
    if (bias) {
      BiasArgs b = zeroed<BiasArgs>();
      b.y = y.ptr<float>();
      b.bias = bias->data;
      b.bdtype = int(bias->dtype);
      b.n = n;
      b.out = out;
      submit(kOpBias, b, launch_bias, {&y, bias});
    }
  }

  void relu(Tensor& x) override { pointwise(Pointwise::Relu, x, nullptr, nullptr, 0.f, "relu"); }
  void add(Tensor& x, const Tensor& y) override {
    need_f32(y, "add", "y");
    if (y.numel() != x.numel()) fail("add: {} += {}", x.shape_str(), y.shape_str());
    pointwise(Pointwise::Add, x, &y, nullptr, 0.f, "add");
  }
  void scale(Tensor& x, float s) override { pointwise(Pointwise::Scale, x, nullptr, nullptr, s, "scale"); }
  void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) override {
    need_f32(gate, "swiglu", "gate");
    need_f32(up, "swiglu", "up");
    if (gate.numel() != up.numel() || out.numel() != gate.numel())
      fail("swiglu: gate {}, up {}, out {} do not match", gate.shape_str(), up.shape_str(), out.shape_str());
    pointwise(Pointwise::Swiglu, out, &gate, &up, 0.f, "swiglu");
  }

  void rope(Tensor& x, const Tensor& positions, int n_heads, int head_dim, float theta,
            RopePairing pairing) override {
    need_f32(x, "rope", "x");
    need_i32(positions, "rope", "positions");
    if (head_dim <= 0 || head_dim % 2 != 0) fail("rope: head size {} must be even", head_dim);
    if (x.row_size() != int64_t(n_heads) * head_dim || positions.numel() < x.rows())
      fail("rope: x {} is not [n, {} x {}] or positions {} too short", x.shape_str(), n_heads, head_dim,
           positions.shape_str());
    const Tensor& table = rope_table(theta, head_dim);
    RopeArgs a = zeroed<RopeArgs>();
    a.x = x.ptr<float>();
    a.pos = positions.ptr<int32_t>();
    a.inv_freq = table.ptr<float>();
    a.n = x.rows();
    a.heads = n_heads;
    a.d = head_dim;
    a.interleaved = pairing == RopePairing::Interleaved ? 1 : 0;
    submit(kOpRope, a, launch_rope, {&x, &positions, &table});
  }

  void repeat_heads(const Tensor& x, int n_heads, int n_kv_heads, int head_dim, Tensor& out) override {
    need_f32(x, "repeat_heads", "x");
    need_f32(out, "repeat_heads", "out");
    if (n_kv_heads <= 0 || n_heads % n_kv_heads != 0 || x.row_size() != int64_t(n_kv_heads) * head_dim ||
        out.numel() != x.rows() * int64_t(n_heads) * head_dim)
      fail("repeat_heads: x {} ({} kv heads of {}) into out {} ({} heads)", x.shape_str(), n_kv_heads, head_dim,
           out.shape_str(), n_heads);
    RepeatHeadsArgs a = zeroed<RepeatHeadsArgs>();
    a.x = x.ptr<float>();
    a.out = out.ptr<float>();
    a.n = x.rows();
    a.H = n_heads;
    a.Hkv = n_kv_heads;
    a.d = head_dim;
    submit(kOpRepeat, a, launch_repeat_heads, {&x, &out});
  }

  void attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_past, const SoftmaxAttnParams& p,
                 Tensor& out) override {
    need_f32(q, "attention", "q");
    need_f32(k, "attention", "k");
    need_f32(v, "attention", "v");
    need_f32(out, "attention", "out");
    const int H = p.n_heads, Hkv = p.n_kv_heads, d = p.head_dim;
    const int64_t n = q.rows();
    if (H <= 0 || Hkv <= 0 || H % Hkv != 0 || d <= 0 || d > cuda::kMaxHeadDim)
      fail("attention: {} heads, {} kv heads of size {} (head size at most {})", H, Hkv, d, cuda::kMaxHeadDim);
    if (q.row_size() != int64_t(H) * d || k.row_size() != int64_t(Hkv) * d || v.row_size() != int64_t(Hkv) * d ||
        k.rows() < n_past + n || v.rows() < n_past + n || out.numel() != n * H * d || n_past < 0)
      fail("attention: q {}, k {}, v {}, out {} do not fit {} past tokens", q.shape_str(), k.shape_str(),
           v.shape_str(), out.shape_str(), n_past);
    if (p.sliding_window && *p.sliding_window <= 0) fail("attention: sliding window {} must be positive", *p.sliding_window);
    if (n == 0) return;
    AttnArgs a = zeroed<AttnArgs>();
    a.q = q.ptr<float>();
    a.k = k.ptr<float>();
    a.v = v.ptr<float>();
    a.out = out.ptr<float>();
    a.n = n;
    a.H = H;
    a.Hkv = Hkv;
    a.d = d;
    a.window = p.sliding_window ? *p.sliding_window : 0;
    a.scale = 1.f / std::sqrt(float(d));
    a.tensor_cores = wdtype_ == DType::F32 ? 0 : int(wdtype_);
    a.dyn = device_params(&n_past, sizeof n_past);
    Tensor* scratch = nullptr;
    const smem::Plan plan = n <= kDecodeMaxRows ? smem::plan_attention_decode(d, smem_optin_)
                                                : smem::plan_attention_prefill(d, a.tensor_cores != 0, smem_optin_);
    need_fit(plan, "attention", d);
    if (std::string(plan.kernel) == "attn_flash_f32") a.tensor_cores = 0;
    if (n <= kDecodeMaxRows) {
      a.splits = decode_splits(n, Hkv, sms_);
      scratch = &grow(attn_scratch_, DType::F32, int64_t(a.splits) * n * H * (d + 2));
      a.partial = scratch->ptr<float>();
    }
    submit(kOpAttention, a, launch_attention, {&q, &k, &v, &out, scratch});
  }

  void supra_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& state, const SupraAttnParams& p,
                       Tensor& out) override {
    need_f32(q, "supra_attention", "q");
    need_f32(k, "supra_attention", "k");
    need_f32(v, "supra_attention", "v");
    need_f32(state, "supra_attention", "state");
    need_f32(out, "supra_attention", "out");
    const int H = p.n_heads, d = p.head_dim;
    const int64_t n = q.rows();
    if (H <= 0 || d <= 0 || d > cuda::kMaxHeadDim || !p.slopes)
      fail("supra_attention: {} heads of size {} (at most {}), slopes {}", H, d, cuda::kMaxHeadDim,
           p.slopes ? "given" : "missing");
    const int64_t w = int64_t(H) * d;
    if (q.row_size() != w || k.row_size() != w || v.row_size() != w || k.rows() != n || v.rows() != n ||
        out.numel() != n * w || state.numel() != w * d)
      fail("supra_attention: q {}, k {}, v {}, state {}, out {} do not fit {} heads of {}", q.shape_str(),
           k.shape_str(), v.shape_str(), state.shape_str(), out.shape_str(), H, d);
    if (n == 0) return;
    const Tensor& slopes = slope_table(p.slopes, H);
    SupraArgs a = zeroed<SupraArgs>();
    a.q = q.ptr<float>();
    a.k = k.ptr<float>();
    a.v = v.ptr<float>();
    a.state = state.ptr<float>();
    a.out = out.ptr<float>();
    a.slopes = slopes.ptr<float>();
    a.n = n;
    a.H = H;
    a.d = d;
    // Chunks longer than the kernels' 64 rows are split, and a chunk is halved where it does not fit the device's
    // shared memory: the result is the same function of the inputs (summed in another order).
    a.chunk = std::clamp(p.chunk, 1, kSupraMaxChunk);
    switch (p.form) {
      case SupraForm::Chunked: {
        if (chunked_kernel(d) == SupraKernel::TensorCores) {
          const smem::Plan plan = smem::plan_supra_tc(d, a.chunk, smem_optin_);
          a.et = plan.tile;
          const int C = smem::supra_tc_chunk(a.chunk);
          const int64_t per_chunk = int64_t(H) * d * d, chunks = (n + C - 1) / C;
          a.seg_chunks = int(std::clamp<int64_t>(kSupraScratchBytes / (per_chunk * 6), 1, chunks));
          Tensor& st = grow(supra_state_scratch_, DType::F32, a.seg_chunks * per_chunk);
          Tensor& in = grow(supra_in_scratch_, DType::BF16, a.seg_chunks * per_chunk);
          a.chunk_state = st.ptr<float>();
          a.chunk_state_in = in.data;
          submit(kOpSupraChunkedTc, a, launch_supra_chunked_tc, {&q, &k, &v, &state, &out, &slopes, &st, &in});
          return;
        }
        const smem::Plan plan = smem::plan_supra_f32_chunked(d, a.chunk, smem_optin_);
        need_fit(plan, "supra_attention", d);
        a.chunk = plan.tile;
        submit(kOpSupraChunked, a, launch_supra_chunked, {&q, &k, &v, &state, &out, &slopes});
        return;
      }
      case SupraForm::Recurrent:
        submit(kOpSupraRecurrent, a, launch_supra_recurrent, {&q, &k, &v, &state, &out, &slopes});
        return;
      case SupraForm::Parallel:
        submit(kOpSupraParallel, a, launch_supra_parallel, {&q, &k, &v, &state, &out, &slopes});
        return;
    }
  }

  void groupnorm(Tensor& x, int group_size, float eps) override {
    need_f32(x, "groupnorm", "x");
    if (group_size <= 0 || x.numel() % group_size != 0)
      fail("groupnorm: {} values are not whole groups of {}", x.numel(), group_size);
    GroupnormArgs a = zeroed<GroupnormArgs>();
    a.x = x.ptr<float>();
    a.groups = x.numel() / group_size;
    a.group = group_size;
    a.eps = eps;
    submit(kOpGroupnorm, a, launch_groupnorm, {&x});
  }

  void log_softmax_gather(const Tensor& logits, const Tensor& targets, Tensor& logprob, Tensor& argmax) override {
    need_f32(logits, "log_softmax_gather", "logits");
    need_f32(logprob, "log_softmax_gather", "logprob");
    need_i32(argmax, "log_softmax_gather", "argmax");
    const int64_t n = logits.rows();
    if (!targets.empty()) {
      need_i32(targets, "log_softmax_gather", "targets");
      if (targets.numel() < n) fail("log_softmax_gather: {} targets for {} rows", targets.numel(), n);
    }
    if (logprob.numel() < n || argmax.numel() < n)
      fail("log_softmax_gather: outputs {} / {} for {} rows", logprob.shape_str(), argmax.shape_str(), n);
    LogSoftmaxArgs a = zeroed<LogSoftmaxArgs>();
    a.logits = logits.ptr<float>();
    a.n = n;
    a.V = logits.row_size();
    a.targets = targets.empty() ? nullptr : targets.ptr<int32_t>();
    a.logprob = logprob.ptr<float>();
    a.argmax = argmax.ptr<int32_t>();
    submit(kOpLogSoftmax, a, launch_log_softmax_gather, {&logits, &targets, &logprob, &argmax});
  }

  // ------------------------------------------------------------------------------------------ extras
  DeviceInfo info() {
    DeviceInfo d;
    cudaDeviceProp prop;
    check(cudaGetDeviceProperties(&prop, ctx_->device), "cudaGetDeviceProperties");
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.sm_count = sms_;
    synchronize();
    check(cudaMemPoolTrimTo(ctx_->pool, 0), "cudaMemPoolTrimTo");
    check(cudaMemGetInfo(&d.free_bytes, &d.total_bytes), "cudaMemGetInfo");
    return d;
  }
  size_t peak() {
    uint64_t high = 0, now = 0;
    check(cudaMemPoolGetAttribute(ctx_->pool, cudaMemPoolAttrUsedMemHigh, &high), "cudaMemPoolGetAttribute");
    check(cudaMemPoolGetAttribute(ctx_->pool, cudaMemPoolAttrUsedMemCurrent, &now), "cudaMemPoolGetAttribute");
    return size_t(std::max(high, now));  // the high mark restarts from 0 on reset, not from what is in use
  }
  void reset_peak() {
    synchronize();
    uint64_t zero = 0;
    check(cudaMemPoolSetAttribute(ctx_->pool, cudaMemPoolAttrUsedMemHigh, &zero), "cudaMemPoolSetAttribute");
  }
  void set_graphs(bool on) {
    flush();
    graphs_ = on;
  }
  bool graphs() const { return graphs_; }
  GraphStats stats() const { return stats_; }

 private:
  struct Op {
    std::function<void(cudaStream_t)> run;
    std::vector<std::shared_ptr<void>> keep;  // tensors the op uses stay allocated until it is enqueued
  };
  struct GraphEntry {
    std::string sig;
    cudaGraphExec_t exec = nullptr;
    uint64_t last_use = 0;
  };

  Tensor make_tensor(DType dtype, std::vector<int64_t> shape, bool zero) {
    Tensor t;
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.device = Device::CUDA;
    for (int64_t s : t.shape)
      if (s < 0) fail("cuda alloc: negative size in shape {}", t.shape_str());
    const size_t bytes = t.nbytes();
    void* p = raw_alloc(std::max<size_t>(bytes, 256));
    auto ctx = ctx_;
    t.owner = std::shared_ptr<void>(p, [ctx](void* q) { ctx->release(q); });
    t.data = p;
    // Stream-ordered: runs after the release of whatever used this block before. Recorded ops that are still
    // pending never touch it (they keep their own blocks alive), so issuing it now is safe.
    if (zero && bytes) check(cudaMemsetAsync(p, 0, bytes, ctx_->stream), "cudaMemsetAsync");
    return t;
  }

  void* raw_alloc(size_t bytes) {
    void* p = nullptr;
    cudaError_t e = cudaMallocFromPoolAsync(&p, bytes, ctx_->pool, ctx_->stream);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      flush();
      check(cudaStreamSynchronize(ctx_->stream), "cudaStreamSynchronize");
      cudaMemPoolTrimTo(ctx_->pool, 0);
      e = cudaMallocFromPoolAsync(&p, bytes, ctx_->pool, ctx_->stream);
      if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        fail("CUDA out of memory: {:.1f} MiB requested, {:.1f} MiB free of {:.1f} MiB", double(bytes) / 1048576.0,
             double(free_b) / 1048576.0, double(total_b) / 1048576.0);
      }
    }
    check(e, "cudaMallocFromPoolAsync");
    return p;
  }

  // Byte offset of a view inside the block its owner allocated (0 when the owner is not a block start we know).
  static int64_t offset_in_block(const Tensor& t) {
    if (!t.owner) return 0;
    const char* base = static_cast<const char*>(t.owner.get());
    const char* p = static_cast<const char*>(t.data);
    return p >= base ? int64_t(p - base) : 0;
  }

  // The error when no configuration of a kernel fits the device's shared memory.
  void need_fit(const smem::Plan& plan, const char* op, int d) const {
    if (!plan.fits)
      fail("cuda backend: {} at head dim {} needs kernel {} with {} bytes of shared memory per block in its smallest "
           "configuration; this GPU allows {} (cudaDevAttrMaxSharedMemoryPerBlockOptin)",
           op, d, plan.kernel, plan.bytes, smem_optin_);
  }

  // The chunked SUPRA kernel for head dim d: tensor cores where asked for (Auto: 16-bit weights), the head dim is a
  // multiple of 16 and the kernels fit the device; otherwise fp32 on CUDA cores.
  SupraKernel chunked_kernel(int d) const {
    const bool want = supra_kernel_ == SupraKernel::TensorCores ||
                      (supra_kernel_ == SupraKernel::Auto && wdtype_ != DType::F32);
    if (want && smem::supra_tc_head_dim(d) && smem::plan_supra_tc(d, kSupraMaxChunk, smem_optin_).fits)
      return SupraKernel::TensorCores;
    return SupraKernel::Fp32;
  }

 public:
  void set_supra_kernel(SupraKernel k) { supra_kernel_ = k; }
  SupraKernel supra_kernel_for(int d) const { return chunked_kernel(d); }

 private:
  // A scratch tensor with room for `count` elements, reallocated (never shrunk) when too small.
  Tensor& grow(Tensor& t, DType dtype, int64_t count) {
    if (t.empty() || t.numel() < count) t = make_tensor(dtype, {std::max<int64_t>(count, 1)}, false);
    return t;
  }
  Tensor& activation_scratch(DType dtype, int64_t count) {
    return grow(dtype == DType::BF16 ? act_bf16_ : act_f16_, dtype, count);
  }

  // inv_freq (engine/rope.h), computed on the host exactly as the CPU backend does, uploaded once.
  const Tensor& rope_table(float theta, int d) {
    uint32_t bits;
    std::memcpy(&bits, &theta, 4);
    auto& e = rope_tables_[{bits, d}];
    if (e.empty()) e = upload_small(rope_inv_freq(theta, d));
    return e;
  }

  // Device copy of the host slopes, keyed by pointer and head count, checked against the values on every use.
  const Tensor& slope_table(const float* slopes, int H) {
    auto& e = slopes_[{slopes, H}];
    if (e.dev.empty() || std::memcmp(e.values.data(), slopes, sizeof(float) * size_t(H)) != 0) {
      e.values.assign(slopes, slopes + H);
      e.dev = upload_small(e.values);
    }
    return e.dev;
  }

  Tensor upload_small(const std::vector<float>& v) {
    Tensor t = make_tensor(DType::F32, {int64_t(v.size())}, false);
    if (!v.empty())
      check(cudaMemcpyAsync(t.data, v.data(), v.size() * sizeof(float), cudaMemcpyHostToDevice, ctx_->stream),
            "cudaMemcpyAsync (table)");
    return t;
  }

  // ---------------------------------------------------------------- segments, staging, graphs
  template <class A>
  void submit(int32_t id, const A& args, void (*fn)(const A&, cudaStream_t), std::initializer_list<const Tensor*> keep,
              bool compute = true) {
    static_assert(std::is_trivially_copyable_v<A>);
    seg_ops_++;
    if (compute) seg_compute_++;
    if (!graphs_) {
      fn(args, ctx_->stream);
      return;
    }
    Op op;
    op.run = [args, fn](cudaStream_t s) { fn(args, s); };
    for (const Tensor* t : keep)
      if (t && t->owner) op.keep.push_back(t->owner);
    const size_t at = sig_.size();
    sig_.resize(at + sizeof id + sizeof(A));
    std::memcpy(sig_.data() + at, &id, sizeof id);
    std::memcpy(sig_.data() + at + sizeof id, &args, sizeof(A));
    pending_.push_back(std::move(op));
    if (pending_.size() >= kMaxPending) flush();
  }

  // Pinned bytes for from_host data of the current segment.
  char* stage_host(size_t bytes) {
    bytes = (bytes + 63) / 64 * 64;
    if (stage_off_ + bytes > kStageHalf) flush();
    begin_staging();
    char* p = stage_[half_] + stage_off_;
    stage_off_ += bytes;
    return p;
  }

  // Before the host writes the staging of `half_`: the segment that last used it (two segments ago) is done.
  void begin_staging() {
    if (seg_staged_) return;
    check(cudaEventSynchronize(seg_done_[half_]), "cudaEventSynchronize (staging)");
    seg_staged_ = true;
  }

  // Scalars read on the device (n_past, copy offsets). Graph mode: written to the segment's pinned parameter
  // block, uploaded by one copy at the head of the segment. Eager mode: one small copy per call.
  const int64_t* device_params(const void* data, size_t len) {
    const size_t bytes = (len + 15) / 16 * 16;
    if (param_off_ + bytes > kParamHalf) flush();
    begin_staging();
    char* host = params_host_[half_] + param_off_;
    char* dev = static_cast<char*>(params_dev_.data) + size_t(half_) * kParamHalf + param_off_;
    std::memset(host, 0, bytes);
    std::memcpy(host, data, len);
    param_off_ += bytes;
    if (!graphs_) {
      HostCopyArgs a = zeroed<HostCopyArgs>();
      a.dst = dev;
      a.src = host;
      a.bytes = int64_t(bytes);
      submit(kOpParams, a, run_host_copy, {}, false);
    }
    return reinterpret_cast<const int64_t*>(dev);
  }

  void flush() {
    if (!pending_.empty()) run_pending();
    end_segment();
  }

  void end_segment() {
    if (seg_ops_ == 0 && !seg_staged_) return;
    check(cudaEventRecord(seg_done_[half_], ctx_->stream), "cudaEventRecord");
    half_ ^= 1;
    stage_off_ = 0;
    param_off_ = 0;
    seg_staged_ = false;
    seg_ops_ = 0;
    seg_compute_ = 0;
  }

  void run_pending() {
    std::vector<Op> ops = std::move(pending_);
    pending_.clear();
    std::string sig = std::move(sig_);
    sig_.clear();
    if (param_off_ > 0) {  // the segment's device-read scalars go first
      HostCopyArgs a = zeroed<HostCopyArgs>();
      a.dst = static_cast<char*>(params_dev_.data) + size_t(half_) * kParamHalf;
      a.src = params_host_[half_];
      a.bytes = int64_t(param_off_);
      Op op;
      op.run = [a](cudaStream_t s) { run_host_copy(a, s); };
      ops.insert(ops.begin(), std::move(op));
      const int32_t id = kOpParams;
      std::string head(sizeof id + sizeof a, '\0');
      std::memcpy(head.data(), &id, sizeof id);
      std::memcpy(head.data() + sizeof id, &a, sizeof a);
      sig.insert(0, head);
    }
    if (ops.size() >= kMinGraphOps) {
      const uint64_t h = fnv1a(sig);
      auto it = graphs_cache_.find(h);
      if (it != graphs_cache_.end() && it->second.sig == sig) {
        check(cudaGraphLaunch(it->second.exec, ctx_->stream), "cudaGraphLaunch");
        it->second.last_use = ++tick_;
        stats_.replays++;
        return;
      }
      if (seen_.count(h) && !failed_.count(h)) {
        if (capture_and_launch(ops, h, std::move(sig))) return;
      } else if (!seen_.count(h)) {
        if (seen_.size() > 4096) seen_.clear();
        seen_.insert(h);
      }
    }
    stats_.eager_segments++;
    for (Op& op : ops) op.run(ctx_->stream);
  }

  bool capture_and_launch(std::vector<Op>& ops, uint64_t h, std::string sig) {
    cudaStream_t s = ctx_->stream;
    check(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), "cudaStreamBeginCapture");
    ctx_->capturing = true;
    bool ok = true;
    try {
      for (Op& op : ops) op.run(s);
    } catch (const Error&) {
      ok = false;
    }
    cudaGraph_t graph = nullptr;
    const cudaError_t e = cudaStreamEndCapture(s, &graph);
    ctx_->capturing = false;
    for (void* p : ctx_->deferred_frees) cudaFreeAsync(p, s);
    ctx_->deferred_frees.clear();
    cudaGetLastError();
    if (!ok || e != cudaSuccess || !graph) {
      if (graph) cudaGraphDestroy(graph);
      failed_.insert(h);
      return false;
    }
    cudaGraphExec_t exec = nullptr;
    const cudaError_t ie = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (ie != cudaSuccess) {
      cudaGetLastError();
      failed_.insert(h);
      return false;
    }
    check(cudaGraphLaunch(exec, s), "cudaGraphLaunch");
    auto old = graphs_cache_.find(h);
    if (old != graphs_cache_.end()) {
      cudaGraphExecDestroy(old->second.exec);
      graphs_cache_.erase(old);
    }
    if (graphs_cache_.size() >= kMaxGraphs) {
      auto lru = graphs_cache_.begin();
      for (auto it = graphs_cache_.begin(); it != graphs_cache_.end(); ++it)
        if (it->second.last_use < lru->second.last_use) lru = it;
      cudaGraphExecDestroy(lru->second.exec);  // freed once its in-flight launches finish
      graphs_cache_.erase(lru);
    }
    graphs_cache_[h] = GraphEntry{std::move(sig), exec, ++tick_};
    stats_.captures++;
    return true;
  }

  void check_device_errors() {
    if (__atomic_load_n(err_host_, __ATOMIC_ACQUIRE) != 0) {
      __atomic_store_n(err_host_, 0, __ATOMIC_RELEASE);
      fail("cuda embed: a token id is outside the vocabulary (its row was set to zero)");
    }
  }

  void pointwise(Pointwise op, Tensor& x, const Tensor* a, const Tensor* b, float s, const char* what) {
    need_f32(x, what, "x");
    PointwiseArgs p = zeroed<PointwiseArgs>();
    p.x = x.ptr<float>();
    p.a = a ? a->ptr<float>() : nullptr;
    p.b = b ? b->ptr<float>() : nullptr;
    p.count = x.numel();
    p.s = s;
    p.op = int(op);
    submit(kOpPointwise, p, launch_pointwise, {&x, a, b});
  }

  DType wdtype_;
  std::shared_ptr<Context> ctx_;
  int sms_ = 0;
  size_t smem_optin_ = 0;  // shared memory per block the device allows a kernel that opts in
  SupraKernel supra_kernel_ = SupraKernel::Auto;
  // The tensor-core SUPRA prefill's per-chunk states for one segment of chunks (fp32 sums, bf16 entering states):
  // 6 bytes per state element; segments are sized to this budget (64 chunks of 4096 tokens for 32 heads of 128).
  static constexpr int64_t kSupraScratchBytes = int64_t(192) << 20;
  Tensor supra_state_scratch_, supra_in_scratch_;
  cublasHandle_t blas_ = nullptr;
  Tensor blas_ws_;

  // segments and staging
  cudaEvent_t seg_done_[2] = {nullptr, nullptr};
  char* stage_[2] = {nullptr, nullptr};
  char* params_host_[2] = {nullptr, nullptr};
  Tensor params_dev_;  // 2 x kParamHalf bytes
  int half_ = 0;
  size_t stage_off_ = 0, param_off_ = 0;
  bool seg_staged_ = false;
  int64_t seg_ops_ = 0, seg_compute_ = 0;

  // weight upload
  cudaEvent_t up_done_[2] = {nullptr, nullptr};
  char* upload_[2] = {nullptr, nullptr};

  int* err_host_ = nullptr;
  int* err_dev_ = nullptr;

  Tensor act_bf16_, act_f16_, attn_scratch_;
  std::map<std::pair<uint32_t, int>, Tensor> rope_tables_;
  struct SlopeEntry {
    std::vector<float> values;
    Tensor dev;
  };
  std::map<std::pair<const float*, int>, SlopeEntry> slopes_;

  // graphs
  bool graphs_ = true;
  std::vector<Op> pending_;
  std::string sig_;
  std::unordered_map<uint64_t, GraphEntry> graphs_cache_;
  std::unordered_set<uint64_t> seen_, failed_;
  uint64_t tick_ = 0;
  GraphStats stats_;
};

CudaBackend& as_cuda(Backend& b) {
  auto* c = dynamic_cast<CudaBackend*>(&b);
  if (!c) fail("backend '{}' is not the CUDA backend", b.name());
  return *c;
}

}  // namespace

namespace cuda {

bool is_cuda_backend(const Backend& b) { return dynamic_cast<const CudaBackend*>(&b) != nullptr; }
DeviceInfo device_info(Backend& b) { return as_cuda(b).info(); }
size_t peak_memory(Backend& b) { return as_cuda(b).peak(); }
void reset_peak_memory(Backend& b) { as_cuda(b).reset_peak(); }
void set_graphs(Backend& b, bool on) { as_cuda(b).set_graphs(on); }
bool graphs_enabled(Backend& b) { return as_cuda(b).graphs(); }
GraphStats graph_stats(Backend& b) { return as_cuda(b).stats(); }
void set_supra_kernel(Backend& b, SupraKernel k) { as_cuda(b).set_supra_kernel(k); }
SupraKernel supra_kernel_for(Backend& b, int head_dim) { return as_cuda(b).supra_kernel_for(head_dim); }
const char* supra_kernel_name(SupraKernel k) {
  switch (k) {
    case SupraKernel::Auto: return "auto";
    case SupraKernel::Fp32: return "fp32 CUDA cores";
    case SupraKernel::TensorCores: return "bf16 tensor cores";
  }
  return "?";
}

}  // namespace cuda

bool cuda_compiled() { return true; }

std::unique_ptr<Backend> make_cuda_backend(DType weight_dtype, std::string* why) {
  auto refuse = [&](std::string reason) -> std::unique_ptr<Backend> {
    if (why) *why = std::move(reason);
    return nullptr;
  };
  if (weight_dtype == DType::I32) return refuse("GPU weights must be f32, f16 or bf16");
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return refuse(fmt::format("no usable CUDA GPU: {}", cudaGetErrorString(e)));
  }
  if (count == 0) return refuse("no CUDA GPU found");
  e = probe_kernels();
  if (e != cudaSuccess) {
    cudaGetLastError();
    return refuse(fmt::format("this build has no kernels for the GPU ({}); configure with CMAKE_CUDA_ARCHITECTURES "
                              "set to its architecture",
                              cudaGetErrorString(e)));
  }
  try {
    return std::make_unique<CudaBackend>(weight_dtype);
  } catch (const Error& x) {
    return refuse(x.what());
  }
}

}  // namespace supra
