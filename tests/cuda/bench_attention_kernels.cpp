// Kernel benchmark for scripts/gpu-check.sh (hidden from ctest: tag [.bench]): one attention layer of the 7B shapes
// (Llama-2-7B: 32 heads of 128, Mistral-7B: 32 query and 8 kv heads) at 2k, 8k and 32k tokens of prefill, on a
// bf16 backend: softmax (tensor-core flash), SUPRA chunked on bf16 tensor cores, SUPRA chunked fp32 (the reference
// path). Prints one "kernel-bench:" line per run: ms, tokens/s, TFLOP/s and the fraction of the bf16 peak
// (BF16_PEAK_TFLOPS, default 990: an H200's dense bf16), then which SUPRA kernel the backend picks. It checks
// that the two SUPRA kernels agree (so it fails on a wrong kernel) but asserts nothing about time.
//   build-gpu/tests/supra_tests_cuda "[bench]"
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/backend.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/engine/test_util.h"
#ifdef SUPRA_WITH_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

using namespace supra;
using namespace supra::test;

TEST_CASE("CUDA attention kernels at 7B shapes: prefill speed", "[cuda][.bench]") {
#ifdef SUPRA_WITH_CUDA
  auto gpu = gpu_or_skip(DType::BF16);
  if (!gpu) return;
  const char* env = std::getenv("BF16_PEAK_TFLOPS");
  const double peak = env ? std::atof(env) : 990.0;
  const int H = 32, d = 128, C = 64;
  std::vector<float> slopes(H);
  for (int h = 0; h < H; h++) slopes[size_t(h)] = std::exp2(-8.0f * float(h + 1) / float(H));  // ALiBi slopes
  // Seconds per call: one untimed call (first-use setup), then `reps` calls and one synchronisation.
  auto time_it = [&](auto&& call, int reps) {
    call();
    gpu->synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; r++) call();
    gpu->synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps;
  };
  auto report = [&](const char* shape, int64_t n, const char* kernel, double sec, double flops) {
    std::printf("kernel-bench: %-10s ctx %6lld %-22s %9.3f ms %12.0f tok/s %8.1f TFLOP/s %5.1f%% of bf16 peak\n", shape,
                (long long)n, kernel, sec * 1e3, double(n) / sec, flops / sec / 1e12,
                100.0 * flops / sec / 1e12 / peak);
    std::fflush(stdout);
  };
  for (int64_t n : {2048, 8192, 32768}) {
    const int64_t w = int64_t(H) * d;
    const auto q = rnd(size_t(n * w), 1, 0.f, 1.f), k = rnd(size_t(n * w), 2, 0.f, 0.1f), v = rnd(size_t(n * w), 3);
    Tensor tq = put(*gpu, DType::F32, {n, w}, q.data()), tk = put(*gpu, DType::F32, {n, w}, k.data()),
           tv = put(*gpu, DType::F32, {n, w}, v.data());
    Tensor out = gpu->alloc(DType::F32, {n, w}), st = gpu->alloc(DType::F32, {H, d, d});
    const int reps = n >= 32768 ? 2 : 5;
    for (const auto& [shape, Hkv] : {std::pair<const char*, int>{"llama2-7b", 32}, {"mistral-7b", 8}}) {
      Tensor kk = gpu->alloc(DType::F32, {n, int64_t(Hkv) * d}), vv = gpu->alloc(DType::F32, {n, int64_t(Hkv) * d});
      gpu->from_host(k.data(), kk);  // the first Hkv heads' worth of values: the kernel's speed is what matters
      gpu->from_host(v.data(), vv);
      SoftmaxAttnParams p{H, Hkv, d, std::nullopt};
      const double sec = time_it([&] { gpu->attention(tq, kk, vv, 0, p, out); }, reps);
      report(shape, n, "softmax (tensor cores)", sec, 2.0 * double(n) * double(n) * d * H);
    }
    // SUPRA gets k and v repeated to H heads, so both 7B shapes run the same SUPRA kernel.
    const double supra_flops = double(n) * H * (2.0 * C * d + 4.0 * d * d);
    std::vector<float> o_tc, o_f32;
    for (auto kern : {cuda::SupraKernel::TensorCores, cuda::SupraKernel::Fp32}) {
      cuda::set_supra_kernel(*gpu, kern);
      const SupraAttnParams p{H, d, slopes.data(), SupraForm::Chunked, C};
      const double sec = time_it([&] { gpu->supra_attention(tq, tk, tv, st, p, out); }, reps);
      report("7b (both)", n, kern == cuda::SupraKernel::TensorCores ? "supra bf16 tensor cores" : "supra fp32", sec,
             supra_flops);
      // the outputs of one call from a zero state, to hold the kernels to each other
      Tensor zero = gpu->alloc(DType::F32, {H, d, d});
      gpu->supra_attention(tq, tk, tv, zero, p, out);
      (kern == cuda::SupraKernel::TensorCores ? o_tc : o_f32) = get(*gpu, out);
    }
    // The sums of |terms|: the fp32 kernel on |v| (q, k >= 0). bf16 operands: 4u of it, plus fp32 reordering.
    std::vector<float> av(v);
    for (auto& e : av) e = std::abs(e);
    gpu->from_host(av.data(), tv);
    Tensor zero = gpu->alloc(DType::F32, {H, d, d});
    gpu->supra_attention(tq, tk, tv, zero, SupraAttnParams{H, d, slopes.data(), SupraForm::Chunked, C}, out);
    cuda::set_supra_kernel(*gpu, cuda::SupraKernel::Auto);
    INFO("n=" << n);
    CHECK(scaled_err(o_tc, o_f32, get(*gpu, out)) <= 4 * kUnitBF16 + 2 * gamma_k(2.0 * double(n) + 2 * d, kUnitF32));
  }
  std::printf(
      "kernel-bench: the backend picks %s for SUPRA prefill with bf16 weights at head dim 128, "
      "%s with f32 weights\n",
      cuda::supra_kernel_name(cuda::supra_kernel_for(*gpu, 128)), cuda::supra_kernel_name(cuda::SupraKernel::Fp32));
#else
  std::cout << "SKIPPED: built without CUDA\n";
#endif
}
