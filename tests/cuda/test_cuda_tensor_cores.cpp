// The tensor-core paths of the CUDA backend held to the fp32 kernels and to the CPU, with tolerances derived from
// bf16 arithmetic (tests/common/tolerance.h): the SUPRA chunked prefill on bf16 tensor cores, bf16 fragments in the
// softmax prefill of bf16 models, and the documented prefill/decode difference of 16-bit models (a GEMM of more
// than kGemvMaxRows rows rounds its activations to the weight dtype; the decode GEMV reads them in fp32). Without a
// GPU every test prints "SKIPPED:" and returns.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>

#include "engine/backend.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/engine/test_util.h"
#ifdef SUPRA_WITH_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

using namespace supra;
using namespace supra::test;

namespace {

// 0: auto, 1: fp32 CUDA cores, 2: bf16 tensor cores (cuda::SupraKernel); false when the build has no CUDA.
bool use_supra_kernel(Backend& b, int k) {
#ifdef SUPRA_WITH_CUDA
  cuda::set_supra_kernel(b, cuda::SupraKernel(k));
  return true;
#else
  (void)b;
  (void)k;
  return false;
#endif
}

bool runs_tensor_cores(Backend& b, int d) {
#ifdef SUPRA_WITH_CUDA
  return cuda::supra_kernel_for(b, d) == cuda::SupraKernel::TensorCores;
#else
  (void)b;
  (void)d;
  return false;
#endif
}

struct SupraRun {
  std::vector<float> out, state;
};

// One chunked SUPRA call from state s0; k and v [n, H*d].
SupraRun supra_run(Backend& b, const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                   const std::vector<float>& s0, int64_t n, int H, int d, const std::vector<float>& slopes, int chunk) {
  const int64_t w = int64_t(H) * d;
  Tensor tq = put(b, DType::F32, {n, w}, q.data()), tk = put(b, DType::F32, {n, w}, k.data()),
         tv = put(b, DType::F32, {n, w}, v.data()), ts = put(b, DType::F32, {H, d, d}, s0.data());
  Tensor out = b.alloc(DType::F32, {n, w});
  b.supra_attention(tq, tk, tv, ts, SupraAttnParams{H, d, slopes.data(), SupraForm::Chunked, chunk}, out);
  return {get(b, out), get(b, ts)};
}

// x [n, Hkv*d] repeated to [n, H*d] (query head h reads kv head h / (H / Hkv)), as the model does for GQA.
std::vector<float> repeat_heads(const std::vector<float>& x, int64_t n, int H, int Hkv, int d) {
  std::vector<float> r(size_t(n) * H * d);
  for (int64_t i = 0; i < n; i++)
    for (int h = 0; h < H; h++)
      for (int c = 0; c < d; c++) r[(i * H + h) * d + c] = x[(i * Hkv + h / (H / Hkv)) * d + c];
  return r;
}

std::vector<float> absolute(std::vector<float> v) {
  for (auto& e : v) e = std::abs(e);
  return v;
}

std::string stories_path() { return repo_path("models/stories260K/stories260K.bin"); }

}  // namespace

TEST_CASE("CUDA SUPRA tensor-core prefill matches the fp32 kernel and the CPU", "[cuda][supra]") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  REQUIRE(use_supra_kernel(*gpu, 2));
  auto cpu = make_cpu_backend(2);
  const std::vector<float> slopes = {0.84f, 0.1f, 0.0039f, 0.5f, 0.3f, 0.02f, 0.7f, 0.0625f};
  struct Case {
    int H, Hkv, d;
    int64_t n;
    int chunk;
  };
  // Chunk boundaries (n = 1, 63, 64, 65, 300), GQA (k, v shared by pairs of heads with different decays), the
  // head dims of real models, chunks of 16 and 32 rows, and a 7B layer long enough for two segments of chunks.
  std::vector<Case> cases;
  for (int d : {64, 128})
    for (int64_t n : {1, 63, 64, 65, 300}) cases.push_back({4, 2, d, n, 64});
  cases.insert(cases.end(), {{4, 4, 80, 130, 64},
                             {4, 2, 96, 77, 64},
                             {2, 2, 256, 65, 64},
                             {4, 2, 128, 100, 32},
                             {3, 3, 16, 50, 16},
                             {8, 2, 64, 129, 48},
                             {32, 8, 128, 64 * 64 + 100, 64}});
  for (const Case& c : cases) {
    INFO("H=" << c.H << " Hkv=" << c.Hkv << " d=" << c.d << " n=" << c.n << " chunk=" << c.chunk);
    REQUIRE(runs_tensor_cores(*gpu, c.d));
    const int64_t w = int64_t(c.H) * c.d;
    const auto q = rnd(size_t(c.n * w), 41, 0.f, 1.f);  // after phi = relu: non-negative
    const auto k = repeat_heads(rnd(size_t(c.n * c.Hkv * c.d), 42, 0.f, 1.f), c.n, c.H, c.Hkv, c.d);
    const auto v = repeat_heads(rnd(size_t(c.n * c.Hkv * c.d), 43), c.n, c.H, c.Hkv, c.d);
    const auto s0 = rnd(size_t(w * c.d), 44);  // a non-zero incoming state
    std::vector<float> sl(size_t(c.H));
    for (int h = 0; h < c.H; h++) sl[size_t(h)] = slopes[size_t(h) % slopes.size()];

    use_supra_kernel(*gpu, 2);
    const SupraRun tc = supra_run(*gpu, q, k, v, s0, c.n, c.H, c.d, sl, c.chunk);
    use_supra_kernel(*gpu, 1);
    const SupraRun f32 = supra_run(*gpu, q, k, v, s0, c.n, c.H, c.d, sl, c.chunk);
    const SupraRun ref = supra_run(*cpu, q, k, v, s0, c.n, c.H, c.d, sl, c.chunk);
    // The sums of |terms| the bounds are relative to: the CPU on |q|, |k|, |v|, |S0| (decays are positive).
    const SupraRun mag =
        supra_run(*cpu, absolute(q), absolute(k), absolute(v), absolute(s0), c.n, c.H, c.d, sl, c.chunk);
    // fp32: sums of n decayed products of d-long dot products, in another order. bf16 operands: an intra-chunk
    // term rounds q, k, the masked score A and v (4u); an inter-chunk term rounds q and the entering state, which
    // carries the rounding of k and v of every earlier chunk (4u); the state rounds k and v (2u).
    const double g = gamma_k(2.0 * double(c.n) + 2.0 * c.d, kUnitF32);
    const double u = kUnitBF16;
    CHECK(scaled_err(tc.out, ref.out, mag.out) <= 4 * u + g);
    CHECK(scaled_err(tc.state, ref.state, mag.state) <= 2 * u + g);
    CHECK(scaled_err(tc.out, f32.out, mag.out) <= 4 * u + 2 * g);
    CHECK(scaled_err(tc.state, f32.state, mag.state) <= 2 * u + 2 * g);
    CHECK(scaled_err(f32.out, ref.out, mag.out) <= g);  // the reference path stays at fp32 precision
    CHECK(scaled_err(f32.state, ref.state, mag.state) <= g);
    CHECK(scaled_err(tc.out, f32.out, mag.out) > 0);  // the tensor-core kernel ran (its operands are rounded)
  }
  use_supra_kernel(*gpu, 0);
  CHECK_FALSE(runs_tensor_cores(*gpu, 128));  // auto with f32 weights: the fp32 kernel
  CHECK_FALSE(runs_tensor_cores(*gpu, 40));   // no tensor-core instance for head dims off a multiple of 16
}

TEST_CASE("CUDA bf16 SUPRA/GQA model on tensor cores matches the CPU and hands its state to decoding",
          "[cuda][supra][model]") {
  auto gpu = gpu_or_skip(DType::BF16);
  if (!gpu) return;
  REQUIRE(runs_tensor_cores(*gpu, 16));  // auto with bf16 weights
  auto cpu = make_cpu_backend(2);
  const Checkpoint ck = small_model(4, 2, AttentionMode::Supra, 256);
  const auto tokens = random_tokens(200, 97, 5);
  Model mc(ck, *cpu, ModelOptions{SupraForm::Chunked, 64}), mg(ck, *gpu, ModelOptions{SupraForm::Chunked, 64});
  const auto ref = logits_of(mc, tokens, 200);
  const double u = kUnitBF16;
  // bf16 weights and GEMM activations (rounded_tol with 2 operands), plus the SUPRA kernel's 4u per layer.
  const double prefill_tol = rounded_tol(ck.config, 200, u, 2) + 4.0 * ck.config.n_layers * u;
  CHECK(rel_err(logits_of(mg, tokens, 200), ref) < prefill_tol);
  // chunked prefill of 130 tokens on tensor cores, then fp32 recurrent decoding from the handed-over state
  auto st = mg.new_state();
  const std::vector<int32_t> head(tokens.begin(), tokens.begin() + 130), tail(tokens.begin() + 130, tokens.end());
  auto a = logits_of(mg, head, 130, st.get());
  const auto b = logits_of(mg, tail, 1, st.get());
  a.insert(a.end(), b.begin(), b.end());
  CHECK(rel_err(a, ref) < prefill_tol);
  // decoding alone rounds only the weights (the GEMV reads fp32 activations; the recurrence is fp32)
  CHECK(rel_err(logits_of(mg, tokens, 1), ref) < rounded_tol(ck.config, 200, u, 1));
}

TEST_CASE("CUDA tensor-core softmax prefill of a bf16 model keeps values above the f16 range", "[cuda]") {
  auto gpu = gpu_or_skip(DType::BF16);
  if (!gpu) return;
  auto cpu = make_cpu_backend(2);
  for (int d : {64, 128}) {
    const int H = 4, Hkv = 2;
    const int64_t n = 80;  // > kDecodeMaxRows: the tensor-core flash kernel
    INFO("d=" << d);
    const auto q = rnd(size_t(n * H * d), 51), k = rnd(size_t(n * Hkv * d), 52);
    const auto v = rnd(size_t(n * Hkv * d), 53, -3e5f, 3e5f);  // beyond f16's 65504: inf in f16 fragments
    SoftmaxAttnParams p{H, Hkv, d, std::nullopt};
    auto run = [&](Backend& b, const std::vector<float>& vv) {
      Tensor tq = put(b, DType::F32, {n, int64_t(H) * d}, q.data());
      Tensor tk = put(b, DType::F32, {n, int64_t(Hkv) * d}, k.data());
      Tensor tv = put(b, DType::F32, {n, int64_t(Hkv) * d}, vv.data());
      Tensor out = b.alloc(DType::F32, {n, int64_t(H) * d});
      b.attention(tq, tk, tv, 0, p, out);
      return get(b, out);
    };
    const auto got = run(*gpu, v);
    bool finite = true;
    for (float x : got) finite = finite && std::isfinite(x);
    CHECK(finite);
    // As in the softmax test of test_cuda_ops.cpp: fp32 reordering, plus Q, K (2u sqrt(d) per score), P and V
    // rounded to bf16; relative to sum_j p_j |v_j|.
    const double sd = std::sqrt(double(d)), u = kUnitBF16;
    const double tol =
        gamma_k(double(n), kUnitF32) + 2 * gamma_k(double(d), kUnitF32) * sd + 8 * kUnitF32 + 2 * (2 * u * sd) + 2 * u;
    CHECK(scaled_err(got, run(*cpu, v), run(*cpu, absolute(v))) <= tol);
  }
}

TEST_CASE("CUDA 16-bit prefill and decode logits differ by at most the documented bound", "[cuda][model]") {
  for (DType wd : {DType::BF16, DType::F16}) {
    auto gpu = gpu_or_skip(wd);
    if (!gpu) return;
    REQUIRE(std::filesystem::exists(stories_path()));
    const Checkpoint ck = load_checkpoint(stories_path());
    auto cpu = make_cpu_backend(2);
    Model mc(ck, *cpu), mg(ck, *gpu);
    const auto tokens = random_tokens(70, ck.config.vocab_size, 71);
    const auto ref = logits_of(mc, tokens, 70);
    const double u = wd == DType::BF16 ? kUnitBF16 : kUnitF16;
    INFO("dtype=" << dtype_name(wd));
    // Prefill: GEMMs round weights and activations (2 operands). Decode: the GEMV rounds only the weights.
    const auto prefill = logits_of(mg, tokens, 70), decode = logits_of(mg, tokens, 1);
    const double tp = rounded_tol(ck.config, 70, u, 2), td = rounded_tol(ck.config, 70, u, 1);
    CHECK(rel_err(prefill, ref) < tp);
    CHECK(rel_err(decode, ref) < td);
    CHECK(rel_err(prefill, decode) < tp + td);  // the documented difference, bounded
  }
}
