// The CPU backend: host memory, oneDNN GEMMs on weights packed once at load (cpu_gemm.h; f32 or bf16 compute),
// OpenMP loops. Other weights are used in place (mmapped, stored dtype); small vectors are widened to fp32 once.
#include <omp.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/backend.h"
#include "engine/cpu/cpu_gemm.h"
#include "engine/cpu/cpu_ops.h"
#include "core/error.h"

extern "C" void openblas_set_num_threads(int);

namespace supra {

namespace {

void require_f32(const Tensor& t, const char* op, const char* name) {
  if (t.dtype != DType::F32 || t.device != Device::CPU)
    fail("cpu backend: {} expects {} as an f32 host tensor, got {} {}", op, name, dtype_name(t.dtype), t.shape_str());
}

// Small weight vectors (norm scales, biases) as fp32: the tensor itself when it is f32 (upload_weight makes every
// model vector f32), else widened into `buf`.
const float* f32_vector(const Tensor& t, std::vector<float>& buf) {
  if (t.dtype == DType::F32) return t.ptr<float>();
  buf.resize(size_t(t.numel()));
  convert_to_f32(t.dtype, t.data, buf.data(), buf.size());
  return buf.data();
}

const cpu::PackedWeight& packed_of(const Tensor& w) { return *static_cast<const cpu::PackedWeight*>(w.packed.get()); }

class CpuBackend final : public Backend {
 public:
  CpuBackend(int threads, DType compute) : compute_(compute) {
    if (compute != DType::F32 && compute != DType::BF16)
      fail("cpu backend: compute dtype must be f32 or bf16, got {}", dtype_name(compute));
    if (threads > 0) {
      omp_set_num_threads(threads);
      openblas_set_num_threads(threads);
    }
  }
  Device device() const override { return Device::CPU; }
  std::string name() const override { return "cpu"; }
  DType compute_dtype() const override { return compute_; }

  Tensor alloc(DType dtype, std::vector<int64_t> shape) override { return host_tensor(dtype, std::move(shape)); }
  Tensor upload_weight(const Tensor& host) override {
    if (host.shape.size() != 1 || host.dtype == DType::F32) return host;
    Tensor t = host_tensor(DType::F32, host.shape);  // a norm scale or bias: widened once, not per call
    convert_to_f32(host.dtype, host.data, t.ptr<float>(), size_t(host.numel()));
    return t;
  }
  Tensor upload_linear(const Tensor& host, std::span<const int64_t> parts) override {
    auto p = cpu::pack_weight(host, compute_, parts);
    Tensor t;
    t.dtype = compute_;
    t.shape = host.shape;
    t.device = Device::CPU;
    t.data = const_cast<cpu::PackedWeight*>(p.get());
    t.owner = std::const_pointer_cast<cpu::PackedWeight>(p);
    t.packed = p;
    return t;
  }
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
    std::vector<float> buf;
    cpu::rmsnorm(x.ptr<float>(), f32_vector(w, buf), x.rows(), x.row_size(), eps, out.ptr<float>());
  }
  void matmul(const Tensor& x, const Tensor& w, Tensor& y, const Tensor* bias) override {
    float* const ys[1] = {y.ptr<float>()};
    gemm(x, w, {}, ys, bias);
  }
  void matmul_parts(const Tensor& x, const Tensor& w, std::span<const int64_t> parts,
                    std::span<Tensor* const> ys) override {
    if (ys.size() > 8) fail("matmul_parts: at most 8 parts, got {}", ys.size());
    float* y[8];
    for (size_t i = 0; i < ys.size(); i++) y[i] = ys[i]->ptr<float>();
    gemm(x, w, parts, std::span<float* const>(y, ys.size()), nullptr);
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

 private:
  // A weight packed at load (upload_linear) is used as it is; any other (tests, tools) is packed for this call,
  // so every matmul of this backend gives the same bits whatever the weight came through.
  void gemm(const Tensor& x, const Tensor& w, std::span<const int64_t> parts, std::span<float* const> ys,
            const Tensor* bias) {
    require_f32(x, "matmul", "x");
    std::shared_ptr<const cpu::PackedWeight> tmp;
    const cpu::PackedWeight* p = nullptr;
    if (w.packed) {
      p = &packed_of(w);
      if (!parts.empty() && !std::equal(parts.begin(), parts.end(), cpu::packed_parts(*p).begin(),
                                        cpu::packed_parts(*p).end()))
        fail("matmul: weight {} was packed with other parts", w.shape_str());
    } else {
      tmp = cpu::pack_weight(w, compute_, parts);
      p = tmp.get();
    }
    if (cpu::packed_in(*p) != x.row_size())
      fail("matmul: weight [{}, {}] does not take inputs of width {}", cpu::packed_out(*p), cpu::packed_in(*p),
           x.row_size());
    std::vector<float> buf;
    cpu::packed_matmul(x.ptr<float>(), x.rows(), *p, ys, bias ? f32_vector(*bias, buf) : nullptr);
  }

  DType compute_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads, DType compute) {
  return std::make_unique<CpuBackend>(threads, compute);
}

#ifndef SUPRA_WITH_CUDA
bool cuda_compiled() { return false; }
std::unique_ptr<Backend> make_cuda_backend(DType, std::string* why) {
  if (why) *why = "this build has no CUDA backend (configure with nvcc available, -DSUPRA_CUDA=ON)";
  return nullptr;
}
#endif

}  // namespace supra
