#include "harness/machine_limits.h"

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define SUPRA_X86_64 1
#endif

namespace supra {

namespace {

using Clock = std::chrono::steady_clock;

// Independent accumulator chains per thread: FMA latency (4 cycles) x FMA issue width (2 per cycle) is 8 on
// current x86 cores; 12 leaves margin and still fits AVX2's 16 registers with the two constants.
constexpr int kChains = 12;

// The peak loops: `iters` rounds of acc = acc * a + b on every chain. a and b hold each chain near the fixed point
// b / (1 - a) = 1, so nothing overflows or turns denormal; the returned sum keeps the compiler from dropping work.
// Each returns the FLOPs it did per round, so the counting sits next to the instructions it counts.
#if SUPRA_X86_64
// A horizontal sum through memory (GCC 12's _mm512_reduce_add_ps warns about its own undefined register).
__attribute__((target("avx512f"))) float sum_lanes(__m512 v) {
  alignas(64) float out[16];
  _mm512_store_ps(out, v);
  float s = 0;
  for (float x : out) s += x;
  return s;
}

__attribute__((target("avx512f"))) float f32_chains_avx512(int64_t iters) {
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  __m512 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm512_set1_ps(0.5f + 0.01f * float(c));
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; c++) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; c++) s = _mm512_add_ps(s, acc[c]);
  return sum_lanes(s);
}
constexpr double kAvx512F32FlopsPerRound = kChains * 16 * 2.0;  // 16 lanes, multiply and add

__attribute__((target("avx2,fma"))) float f32_chains_avx2(int64_t iters) {
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  __m256 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm256_set1_ps(0.5f + 0.01f * float(c));
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; c++) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  alignas(32) float out[8];
  __m256 s = acc[0];
  for (int c = 1; c < kChains; c++) s = _mm256_add_ps(s, acc[c]);
  _mm256_store_ps(out, s);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
constexpr double kAvx2F32FlopsPerRound = kChains * 8 * 2.0;  // 8 lanes, multiply and add

// The x86-64 baseline has SSE2 but no FMA: a multiply and an add per lane.
float f32_chains_portable(int64_t iters) {
  const __m128 a = _mm_set1_ps(0.999f), b = _mm_set1_ps(0.001f);
  __m128 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm_set1_ps(0.5f + 0.01f * float(c));
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; c++) acc[c] = _mm_add_ps(_mm_mul_ps(acc[c], a), b);
  }
  alignas(16) float out[4];
  __m128 s = acc[0];
  for (int c = 1; c < kChains; c++) s = _mm_add_ps(s, acc[c]);
  _mm_store_ps(out, s);
  return out[0] + out[1] + out[2] + out[3];
}
constexpr double kPortableF32FlopsPerRound = kChains * 4 * 2.0;  // 4 lanes, multiply and add

// vdpbf16ps: per f32 lane, acc += a0*b0 + a1*b1 (2 multiplies, 2 adds) over 16 lanes. acc grows by 2^-19 per round
// (1 x 2^-20, twice): far from overflow for any run length used here.
__attribute__((target("avx512f,avx512bf16"))) float bf16_chains_avx512(int64_t iters) {
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3F80);  // bf16 1.0
  const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3580);  // bf16 2^-20
  __m512 acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = _mm512_set1_ps(0.5f + 0.01f * float(c));
  for (int64_t i = 0; i < iters; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; c++) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  __m512 s = acc[0];
  for (int c = 1; c < kChains; c++) s = _mm512_add_ps(s, acc[c]);
  return sum_lanes(s);
}
constexpr double kAvx512Bf16FlopsPerRound = kChains * 16 * 4.0;

// Streaming reads of n floats (n a multiple of 64) with four independent sums, so the loads, not the add latency,
// limit the loop.
__attribute__((target("avx512f"))) float read_avx512(const float* p, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
    s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
  }
  return sum_lanes(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx2"))) float read_avx2(const float* p, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 32) {
    s0 = _mm256_add_ps(s0, _mm256_load_ps(p + i));
    s1 = _mm256_add_ps(s1, _mm256_load_ps(p + i + 8));
    s2 = _mm256_add_ps(s2, _mm256_load_ps(p + i + 16));
    s3 = _mm256_add_ps(s3, _mm256_load_ps(p + i + 24));
  }
  alignas(32) float out[8];
  _mm256_store_ps(out, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

float read_portable(const float* p, size_t n) {
  __m128 s0 = _mm_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  for (size_t i = 0; i < n; i += 16) {
    s0 = _mm_add_ps(s0, _mm_load_ps(p + i));
    s1 = _mm_add_ps(s1, _mm_load_ps(p + i + 4));
    s2 = _mm_add_ps(s2, _mm_load_ps(p + i + 8));
    s3 = _mm_add_ps(s3, _mm_load_ps(p + i + 12));
  }
  alignas(16) float out[4];
  _mm_store_ps(out, _mm_add_ps(_mm_add_ps(s0, s1), _mm_add_ps(s2, s3)));
  return out[0] + out[1] + out[2] + out[3];
}
#else
// Other architectures: plain scalar code, which the compiler vectorises as it can.
float f32_chains_portable(int64_t iters) {
  float acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = 0.5f + 0.01f * float(c);
  for (int64_t i = 0; i < iters; i++)
    for (int c = 0; c < kChains; c++) acc[c] = acc[c] * 0.999f + 0.001f;
  float s = 0;
  for (int c = 0; c < kChains; c++) s += acc[c];
  return s;
}
constexpr double kPortableF32FlopsPerRound = kChains * 2.0;

float read_portable(const float* p, size_t n) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i < n; i += 4) s0 += p[i], s1 += p[i + 1], s2 += p[i + 2], s3 += p[i + 3];
  return s0 + s1 + s2 + s3;
}
#endif

// Keeps every loop's result observable.
volatile float g_sink = 0;

void check_isa(CpuIsa isa, const char* what) {
  if (isa > cpu_isa_supported())
    fail("{}: kernel level {} asked for, but this CPU supports only {}", what, cpu_isa_name(isa),
         cpu_isa_name(cpu_isa_supported()));
}

// At least one thread, at most one per hardware thread (more would share a core and count it twice).
int peak_threads(int threads) {
  return std::clamp(threads, 1, std::max(1, int(std::thread::hardware_concurrency())));
}

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Runs `chains(iters)` on `threads` threads at once and returns the best sum over threads of each one's FLOPs per
// second of its own CPU time: an FMA unit belongs to one core, so time the thread spent descheduled (another
// process on a shared machine) is not the unit's. Threads beyond the hardware threads would count one core twice:
// the caller caps them. The round count doubles until every thread runs 10 ms, then the best of 5 regions.
double best_gflops(int threads, double flops_per_round, float (*chains)(int64_t)) {
  double shortest = 0, rate = 0;
  auto region = [&](int64_t iters) {
    float sink = 0;
    shortest = std::numeric_limits<double>::infinity();
    rate = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink, rate) reduction(min : shortest)
    {
      const double t0 = thread_cpu_seconds();
      sink += chains(iters);
      const double s = thread_cpu_seconds() - t0;
      shortest = std::min(shortest, s);
      rate += flops_per_round * double(iters) / s;
    }
    g_sink = g_sink + sink;
  };
  int64_t iters = 1 << 12;
  for (region(iters); shortest < 0.01 && iters < (int64_t(1) << 40); region(iters)) iters *= 2;
  double best = rate;
  for (int r = 0; r < 5; r++) {
    region(iters);
    best = std::max(best, rate);
  }
  return best / 1e9;
}

size_t last_level_cache_bytes() {
#ifdef _SC_LEVEL3_CACHE_SIZE
  const long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 > 0) return size_t(l3);
  const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (l2 > 0) return size_t(l2);
#endif
  return 0;
}

}  // namespace

double measure_f32_peak_gflops(CpuIsa isa, int threads) {
  check_isa(isa, "f32 peak");
  threads = peak_threads(threads);
#if SUPRA_X86_64
  if (isa == CpuIsa::Avx512) return best_gflops(threads, kAvx512F32FlopsPerRound, f32_chains_avx512);
  if (isa == CpuIsa::Avx2) return best_gflops(threads, kAvx2F32FlopsPerRound, f32_chains_avx2);
#endif
  return best_gflops(threads, kPortableF32FlopsPerRound, f32_chains_portable);
}

std::optional<double> measure_bf16_peak_gflops(CpuIsa isa, int threads) {
  check_isa(isa, "bf16 peak");
#if SUPRA_X86_64
  if (isa == CpuIsa::Avx512 && cpu_features().avx512_bf16)
    return best_gflops(peak_threads(threads), kAvx512Bf16FlopsPerRound, bf16_chains_avx512);
#endif
  return std::nullopt;
}

double measure_read_gbps(CpuIsa isa, int threads) {
  check_isa(isa, "read bandwidth");
  threads = peak_threads(threads);
  float (*read)(const float*, size_t) = read_portable;
#if SUPRA_X86_64
  if (isa == CpuIsa::Avx512) read = read_avx512;
  if (isa == CpuIsa::Avx2) read = read_avx2;
#endif
  // Far larger than the last-level cache, so every pass comes from memory; each thread's part is a whole number of
  // 64-float (256-byte) blocks, which every loop's stride divides.
  const size_t bytes = std::min(std::max(size_t(128) << 20, 4 * last_level_cache_bytes()), size_t(2) << 30);
  const size_t per_thread = bytes / sizeof(float) / size_t(threads) / 64 * 64;
  const size_t n = per_thread * size_t(threads);
  // Huge pages where the kernel offers them: the first touch of 4 KiB pages alone would take longer than the reads.
  const size_t huge = size_t(2) << 20, alloc = (n * sizeof(float) + huge - 1) / huge * huge;
  std::unique_ptr<float, decltype(&std::free)> buf(static_cast<float*>(std::aligned_alloc(huge, alloc)), &std::free);
  if (!buf) fail("read bandwidth: cannot allocate {} MiB", alloc >> 20);
  madvise(buf.get(), alloc, MADV_HUGEPAGE);  // advice only: a kernel without it still works, more slowly
  float* p = buf.get();
  // First touch by the thread that reads the part later (its NUMA node).
#pragma omp parallel num_threads(threads)
  {
#pragma omp for schedule(static)
    for (int t = 0; t < threads; t++) std::fill(p + size_t(t) * per_thread, p + size_t(t + 1) * per_thread, 1.f);
  }
  double best = std::numeric_limits<double>::infinity();
  for (int pass = 0; pass < 5; pass++) {
    float sink = 0;
    const auto t0 = Clock::now();
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : sink)
    for (int t = 0; t < threads; t++) sink += read(p + size_t(t) * per_thread, per_thread);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    g_sink = g_sink + sink;
  }
  return double(n * sizeof(float)) / best / 1e9;
}

CpuPeaks measure_cpu_peaks(int threads) {
  CpuPeaks p;
  p.isa = cpu_isa();
  p.threads = peak_threads(threads);
  p.f32_gflops = measure_f32_peak_gflops(p.isa, p.threads);
  const std::optional<double> bf16 = measure_bf16_peak_gflops(p.isa, p.threads);
  p.bf16_native = bf16.has_value();
  p.bf16_gflops = bf16.value_or(p.f32_gflops);
  p.read_gbps = measure_read_gbps(p.isa, p.threads);
  return p;
}

MachineLimits cpu_limits(const CpuPeaks& p, bool bf16_compute) {
  MachineLimits m;
  m.gflops = bf16_compute ? p.bf16_gflops : p.f32_gflops;
  m.flop_name = bf16_compute ? "bf16 dot peak" : "f32 FMA peak";
  m.gbps = p.read_gbps;
  m.bw_name = "streaming read";
  m.source = fmt::format(
      "measured here at {}, {} threads: f32 FMA peak {:.1f} GFLOP/s, bf16 dot peak {:.1f} GFLOP/s{}, streaming read "
      "{:.1f} GB/s; prefill is a fraction of the {} ({} compute)",
      cpu_isa_name(p.isa), p.threads, p.f32_gflops, p.bf16_gflops,
      p.bf16_native ? " (vdpbf16ps)" : " (= f32: no AVX512-BF16 at this level)", p.read_gbps, m.flop_name,
      bf16_compute ? "bf16" : "f32");
  return m;
}

}  // namespace supra
