#pragma once
// The limits bench's fractions are measured against, from small loops that depend on no library (a library's own
// SGEMM speed would hide how far that library is from the machine): the f32 FMA instruction peak (independent
// vector FMAs that never leave the registers, on every thread at once), the bf16 dot-product peak (vdpbf16ps where
// the CPU has AVX512-BF16) and a streaming-read bandwidth (a buffer far larger than the last-level cache). The
// kernel level is core/cpu_features.h's cpu_isa(), so SUPRA_CPU_ISA caps it like every other kernel.
#include <optional>
#include <string>

#include "core/cpu_features.h"

namespace supra {

// What bench divides by: prefill FLOP/s by `gflops`, decode bytes/s by `gbps`.
struct MachineLimits {
  double gflops = 0;      // the FLOP/s limit of the compute dtype in use
  double gbps = 0;        // the read bandwidth
  std::string flop_name;  // which FLOP limit, short, for column names: "f32 FMA peak", "bf16 dot peak", ...
  std::string bw_name;    // which bandwidth: "streaming read", "HBM3e nominal"
  std::string source;     // how both were obtained, one line for the header
};

// The CPU's peaks at one kernel level, measured with `threads` threads.
struct CpuPeaks {
  CpuIsa isa = CpuIsa::Portable;
  int threads = 1;
  double f32_gflops = 0;   // 2 FLOPs per lane per FMA (portable: per multiply and add)
  double bf16_gflops = 0;  // vdpbf16ps: 4 FLOPs per f32 lane; f32_gflops where the CPU has no bf16 instruction
  bool bf16_native = false;
  double read_gbps = 0;
};

// f32 FLOP/s of `threads` threads, each running 12 independent accumulator chains (enough to cover FMA latency x
// throughput on current x86 cores) at `isa`: AVX-512 or AVX2 FMAs; portable: SSE2 multiply and add (the x86-64
// baseline; plain scalar code elsewhere). Best of a few repetitions. `isa` above cpu_isa_supported() is an error.
double measure_f32_peak_gflops(CpuIsa isa, int threads);

// bf16 FLOP/s with vdpbf16ps (2 bf16 products and their sum per f32 lane per instruction); nullopt below Avx512 or
// without AVX512-BF16.
std::optional<double> measure_bf16_peak_gflops(CpuIsa isa, int threads);

// Bytes/s of `threads` threads reading disjoint parts of one buffer of max(128 MiB, 4 x last-level cache) with
// vector loads at `isa`, best of a few passes. The buffer is freed before returning.
double measure_read_gbps(CpuIsa isa, int threads);

// All three at cpu_isa(); well under a second on a quiet machine.
CpuPeaks measure_cpu_peaks(int threads);

// The limits bench uses for CPU matmuls computed in bf16 (`bf16_compute`) or f32. The bandwidth does not depend on
// the dtype (bench counts the bytes actually read).
MachineLimits cpu_limits(const CpuPeaks& p, bool bf16_compute);

}  // namespace supra
