#pragma once
// The small set of ops the forward pass is written against (the ggml/llama.cpp idea): one model, several
// backends. Activations are fp32 [rows, cols] tensors on the backend's device; weights are in whatever dtype the
// backend keeps them (host: the stored dtype; CUDA: bf16 by default). Every op has a CPU twin the tests hold the
// other backends to. Ops never allocate long-lived memory on their own: the caller owns every output.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/model_config.h"
#include "engine/tensor.h"

namespace supra {

struct SoftmaxAttnParams {
  int n_heads = 0;     // H
  int n_kv_heads = 0;  // Hkv; query head h reads kv head h / (H / Hkv)
  int head_dim = 0;    // d
  std::optional<int> sliding_window;
};

struct SupraAttnParams {
  int n_heads = 0;  // H (k and v already repeated to H heads)
  int head_dim = 0;
  const float* slopes = nullptr;  // host pointer, H values s_h
  SupraForm form = SupraForm::Chunked;
  int chunk = 64;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;
  virtual std::string name() const = 0;
  // The dtype matmul rounds its inputs to. CPU: make_cpu_backend's `compute` (in the run key when bf16); the CUDA
  // backend's is its weight dtype, keyed as the run's dtype.
  virtual DType compute_dtype() const { return DType::F32; }

  // --- memory ---
  virtual Tensor alloc(DType dtype, std::vector<int64_t> shape) = 0;  // zero-initialised
  // A host weight made usable by this backend. The CPU backend returns the same view (no copy).
  virtual Tensor upload_weight(const Tensor& host) = 0;
  // A host matrix made usable only as matmul's W, once, at load. `parts`: the widths of weights stacked in it
  // (q/k/v, gate/up) for matmul_parts; empty: one. The CPU backend packs it for its GEMM in its compute dtype (the
  // result is then opaque: Tensor::packed); other backends upload it as upload_weight does.
  virtual Tensor upload_linear(const Tensor& host, std::span<const int64_t> parts = {}) {
    (void)parts;
    return upload_weight(host);
  }
  virtual void copy(const Tensor& src, Tensor& dst) = 0;  // same device, same byte size
  virtual void to_host(const Tensor& src, void* dst) = 0;
  virtual void from_host(const void* src, Tensor& dst) = 0;
  // dst = src element by element, between float dtypes (f32, f16, bf16; round to nearest even); same number of
  // elements, same device. The KV cache stores 16-bit rows and hands attention fp32 ones through this.
  virtual void convert(const Tensor& src, Tensor& dst) = 0;
  virtual void synchronize() {}

  // --- ops; n = rows (tokens) ---
  // out[n, D] = table[tokens[i], :] (table any float dtype). tokens: i32 [n].
  virtual void embed(const Tensor& tokens, const Tensor& table, Tensor& out) = 0;
  // out[n, D] = x / sqrt(mean(x^2) + eps) * w
  virtual void rmsnorm(const Tensor& x, const Tensor& w, float eps, Tensor& out) = 0;
  // y[n, out] = x[n, in] . W[out, in]^T (+ bias[out]); fp32 accumulation.
  virtual void matmul(const Tensor& x, const Tensor& w, Tensor& y, const Tensor* bias = nullptr) = 0;
  // ys[i][n, parts[i]] = x . W_i^T for the weights W_0, W_1, ... stacked in w (rows parts[0] + parts[1] + ...):
  // projections sharing an input (q/k/v, gate/up) in one GEMM. The default: one matmul per part.
  virtual void matmul_parts(const Tensor& x, const Tensor& w, std::span<const int64_t> parts,
                            std::span<Tensor* const> ys) {
    int64_t r = 0;
    for (size_t i = 0; i < parts.size(); i++) {
      matmul(x, w.slice_rows(r, r + parts[i]), *ys[i]);
      r += parts[i];
    }
  }
  virtual void relu(Tensor& x) = 0;
  virtual void add(Tensor& x, const Tensor& y) = 0;  // x += y
  virtual void scale(Tensor& x, float s) = 0;
  // out[n, F] = silu(gate) * up
  virtual void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) = 0;
  // In place on x[n, n_heads*head_dim]; positions: i32 [n] absolute positions.
  virtual void rope(Tensor& x, const Tensor& positions, int n_heads, int head_dim, float theta,
                    RopePairing pairing) = 0;
  // out[n, H*d] = repeat each of the Hkv heads of x[n, Hkv*d] H/Hkv times (query head h <- kv head h/(H/Hkv)).
  virtual void repeat_heads(const Tensor& x, int n_heads, int n_kv_heads, int head_dim, Tensor& out) = 0;
  // Causal softmax attention of q[n, H*d] at positions n_past..n_past+n-1 over the cache rows
  // k, v [>= n_past+n, Hkv*d] (the new keys already written); scale 1/sqrt(d). out[n, H*d].
  virtual void attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_past,
                         const SoftmaxAttnParams& p, Tensor& out) = 0;
  // SUPRA linear attention with per-head decay and no denominator (SUPRA.md section 3), continuing from and
  // updating state[H, d, d] (fp32). q, k, v [n, H*d]; out[n, H*d].
  virtual void supra_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& state,
                               const SupraAttnParams& p, Tensor& out) = 0;
  // GroupNorm without affine over each group of `group_size` consecutive values of every row of x.
  virtual void groupnorm(Tensor& x, int group_size, float eps) = 0;
  // logprob[i] = log_softmax(logits[i])[targets[i]]; argmax[i] = index of the largest logit (first on ties).
  // logits [n, V] fp32; targets i32 [n]; logprob f32 [n]; argmax i32 [n].
  virtual void log_softmax_gather(const Tensor& logits, const Tensor& targets, Tensor& logprob, Tensor& argmax) = 0;
};

// threads > 0 sets the OpenMP and OpenBLAS thread counts; 0 keeps the OpenMP default (OMP_NUM_THREADS).
// compute: the GEMMs' input dtype, F32 or BF16 (weights packed in it at load, activations rounded to it at the
// GEMM input; fp32 accumulation and every other op in fp32), as the CUDA backend's bf16 weights do.
std::unique_ptr<Backend> make_cpu_backend(int threads, DType compute = DType::F32);
// nullptr with `why` filled when CUDA is not compiled in or no GPU is present.
std::unique_ptr<Backend> make_cuda_backend(DType weight_dtype, std::string* why);
bool cuda_compiled();

}  // namespace supra
