// A measurement, not a test (hidden tag [.measure]; ctest does not run it): the CPU softmax attention kernel alone
// over one layer's prefill, in micro-batches as the model runs it, at each ISA level this processor has. It counts
// the calling thread's CPU time as well as wall time, so a figure taken on a shared machine still means something.
//
//   SUPRA_MEASURE_CTX=16384 SUPRA_MEASURE_HEADS=12 SUPRA_MEASURE_HEAD_DIM=64 OMP_NUM_THREADS=1
//     build/tests/supra_tests_engine "measure: softmax attention prefill"   (one command line)
//
// One line per ISA: "measure-attn: isa ctx heads head_dim ubatch wall_s thread_cpu_s GFLOP/s(wall) GFLOP/s(cpu)",
// FLOPs = 4 d per (query, visible key, head) (scores and P.V).
#include <catch2/catch.hpp>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "engine/cpu/cpu_ops.h"

using namespace supra;

namespace {

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoll(v) : fallback;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace

TEST_CASE("measure: softmax attention prefill", "[.measure]") {
  const int64_t ctx = env_int("SUPRA_MEASURE_CTX", 16384), ubatch = env_int("SUPRA_MEASURE_UBATCH", 512);
  const int H = int(env_int("SUPRA_MEASURE_HEADS", 12)), d = int(env_int("SUPRA_MEASURE_HEAD_DIM", 64));
  std::mt19937_64 rng(1);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> q(size_t(ctx * H * d)), k(q.size()), v(q.size()), out(q.size());
  for (auto* x : {&q, &k, &v})
    for (float& e : *x) e = nd(rng);
  double flops = 0;
  for (int64_t i = 0; i < ctx; i++) flops += 4.0 * d * H * double(i + 1);
  const char* levels[] = {"portable", "avx2", "avx512"};
  for (int l = 0; l <= int(cpu_isa_supported()); l++) {
    if (const char* only = std::getenv("SUPRA_MEASURE_ISA"); only && *only && std::string(only) != levels[l]) continue;
    setenv("SUPRA_CPU_ISA", levels[l], 1);
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    for (int64_t i0 = 0; i0 < ctx; i0 += ubatch) {
      const int64_t n = std::min(ubatch, ctx - i0);
      cpu::attention(q.data() + i0 * H * d, k.data(), v.data(), n, i0, H, H, d, std::nullopt,
                     out.data() + i0 * H * d);
    }
    const double cpu = thread_cpu_seconds() - c0;
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("measure-attn: %s ctx %ld heads %d head_dim %d ubatch %ld: %.2f s wall, %.2f s thread cpu, "
                "%.1f GFLOP/s wall, %.1f GFLOP/s cpu\n",
                levels[l], long(ctx), H, d, long(ubatch), wall, cpu, flops / wall / 1e9, flops / cpu / 1e9);
  }
  unsetenv("SUPRA_CPU_ISA");
}
