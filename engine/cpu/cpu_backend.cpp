// The CPU backend: host memory, OpenBLAS GEMMs, OpenMP loops. Weights are used in place (mmapped, stored dtype).
#include <omp.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/cpu_ops.h"
#include "core/error.h"

extern "C" void openblas_set_num_threads(int);

namespace supra {

namespace {

void require_f32(const Tensor& t, const char* op, const char* name) {
  if (t.dtype != DType::F32 || t.device != Device::CPU)
    fail("cpu backend: {} expects {} as an f32 host tensor, got {} {}", op, name, dtype_name(t.dtype), t.shape_str());
}

// Small weight vectors (norm scales, biases) in fp32, whatever their stored dtype.
std::vector<float> widen_vector(const Tensor& t) {
  std::vector<float> out(size_t(t.numel()));
  convert_to_f32(t.dtype, t.data, out.data(), out.size());
  return out;
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) {
    if (threads > 0) {
      omp_set_num_threads(threads);
      openblas_set_num_threads(threads);
    }
  }
  Device device() const override { return Device::CPU; }
  std::string name() const override { return "cpu"; }

  Tensor alloc(DType dtype, std::vector<int64_t> shape) override { return host_tensor(dtype, std::move(shape)); }
  Tensor upload_weight(const Tensor& host) override { return host; }
  void copy(const Tensor& src, Tensor& dst) override {
    if (src.nbytes() != dst.nbytes()) fail("cpu copy: {} bytes into {} bytes", src.nbytes(), dst.nbytes());
    std::memcpy(dst.data, src.data, src.nbytes());
  }
  void to_host(const Tensor& src, void* dst) override { std::memcpy(dst, src.data, src.nbytes()); }
  void from_host(const void* src, Tensor& dst) override { std::memcpy(dst.data, src, dst.nbytes()); }
  void convert(const Tensor& src, Tensor& dst) override {
    if (src.numel() != dst.numel())
      fail("cpu convert: {} elements into {} elements", src.numel(), dst.numel());
    if (src.dtype == dst.dtype) return copy(src, dst);
    if (dst.dtype == DType::F32) return convert_to_f32(src.dtype, src.data, dst.ptr<float>(), size_t(src.numel()));
    if (src.dtype == DType::F32) return convert_from_f32(dst.dtype, src.ptr<float>(), dst.data, size_t(src.numel()));
    fail("cpu convert: {} to {} (one side must be f32)", dtype_name(src.dtype), dtype_name(dst.dtype));
  }

  void embed(const Tensor& tokens, const Tensor& table, Tensor& out) override {
    const int64_t n = tokens.numel(), D = table.dim(1), V = table.dim(0);
    const size_t esz = dtype_size(table.dtype);
    for (int64_t i = 0; i < n; i++) {
      const int32_t id = tokens.ptr<int32_t>()[i];
      if (id < 0 || id >= V) fail("token id {} outside the vocabulary [0, {})", id, V);
      convert_to_f32(table.dtype, static_cast<const char*>(table.data) + size_t(id * D) * esz,
                     out.ptr<float>() + i * D, size_t(D));
    }
  }
  void rmsnorm(const Tensor& x, const Tensor& w, float eps, Tensor& out) override {
    require_f32(x, "rmsnorm", "x");
    const auto wf = widen_vector(w);
    cpu::rmsnorm(x.ptr<float>(), wf.data(), x.rows(), x.row_size(), eps, out.ptr<float>());
  }
  void matmul(const Tensor& x, const Tensor& w, Tensor& y, const Tensor* bias) override {
    require_f32(x, "matmul", "x");
    std::vector<float> b;
    if (bias) b = widen_vector(*bias);
    cpu::matmul(x.ptr<float>(), x.rows(), x.row_size(), w, y.ptr<float>(), bias ? b.data() : nullptr);
  }
  void relu(Tensor& x) override {
    float* p = x.ptr<float>();
    const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) p[i] = p[i] > 0.f ? p[i] : 0.f;
  }
  void add(Tensor& x, const Tensor& y) override {
    float* a = x.ptr<float>();
    const float* b = y.ptr<float>();
    const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) a[i] += b[i];
  }
  void scale(Tensor& x, float s) override {
    float* a = x.ptr<float>();
    const int64_t n = x.numel();
    for (int64_t i = 0; i < n; i++) a[i] *= s;
  }
  void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) override {
    const float* g = gate.ptr<float>();
    const float* u = up.ptr<float>();
    float* o = out.ptr<float>();
    const int64_t n = gate.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) o[i] = g[i] / (1.f + std::exp(-g[i])) * u[i];
  }
  void rope(Tensor& x, const Tensor& positions, int n_heads, int head_dim, float theta,
            RopePairing pairing) override {
    cpu::rope(x.ptr<float>(), positions.ptr<int32_t>(), x.rows(), n_heads, head_dim, theta, pairing);
  }
  void repeat_heads(const Tensor& x, int H, int Hkv, int d, Tensor& out) override {
    const int group = H / Hkv;
    const int64_t n = x.rows();
    for (int64_t t = 0; t < n; t++)
      for (int h = 0; h < H; h++)
        std::memcpy(out.ptr<float>() + (t * H + h) * d, x.ptr<float>() + (t * Hkv + h / group) * d,
                    size_t(d) * sizeof(float));
  }
  void attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_past, const SoftmaxAttnParams& p,
                 Tensor& out) override {
    cpu::attention(q.ptr<float>(), k.ptr<float>(), v.ptr<float>(), q.rows(), n_past, p.n_heads, p.n_kv_heads,
                   p.head_dim, p.sliding_window, out.ptr<float>());
  }
  void supra_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& state, const SupraAttnParams& p,
                       Tensor& out) override {
    const int64_t n = q.rows();
    switch (p.form) {
      case SupraForm::Parallel:
        cpu::supra_parallel(q.ptr<float>(), k.ptr<float>(), v.ptr<float>(), n, p.n_heads, p.head_dim, p.slopes,
                            state.ptr<float>(), out.ptr<float>());
        return;
      case SupraForm::Chunked:
        cpu::supra_chunked(q.ptr<float>(), k.ptr<float>(), v.ptr<float>(), n, p.n_heads, p.head_dim, p.slopes,
                           p.chunk, state.ptr<float>(), out.ptr<float>());
        return;
      case SupraForm::Recurrent:
        cpu::supra_recurrent(q.ptr<float>(), k.ptr<float>(), v.ptr<float>(), n, p.n_heads, p.head_dim, p.slopes,
                             state.ptr<float>(), out.ptr<float>());
        return;
    }
  }
  void groupnorm(Tensor& x, int group_size, float eps) override {
    cpu::groupnorm(x.ptr<float>(), x.numel() / group_size, group_size, eps);
  }
  void log_softmax_gather(const Tensor& logits, const Tensor& targets, Tensor& logprob, Tensor& argmax) override {
    // The scorer checks ids first; this keeps the kernel's reads inside the row for any other caller.
    const int64_t V = logits.row_size();
    for (int64_t i = 0; !targets.empty() && i < targets.numel(); i++)
      if (targets.ptr<int32_t>()[i] < 0 || targets.ptr<int32_t>()[i] >= V)
        fail("log_softmax_gather: target id {} outside the vocabulary [0, {})", targets.ptr<int32_t>()[i], V);
    cpu::log_softmax_gather(logits.ptr<float>(), logits.rows(), logits.row_size(),
                            targets.empty() ? nullptr : targets.ptr<int32_t>(), logprob.ptr<float>(),
                            argmax.ptr<int32_t>());
  }
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) { return std::make_unique<CpuBackend>(threads); }

#ifndef SUPRA_WITH_CUDA
bool cuda_compiled() { return false; }
std::unique_ptr<Backend> make_cuda_backend(DType, std::string* why) {
  if (why) *why = "this build has no CUDA backend (configure with nvcc available, -DSUPRA_CUDA=ON)";
  return nullptr;
}
#endif

}  // namespace supra
