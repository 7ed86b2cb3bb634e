#pragma once
// What the processor running this binary can do, and which of our hand-vectorised kernel levels to use. One table
// for every kernel that dispatches at run time (the binary runs on any x86-64; AVX2 and AVX-512 paths are chosen
// here, never assumed at compile time).
//
// SUPRA_CPU_ISA=portable|avx2|avx512 caps the level (never raises it above what the CPU has): tests and CI use it to
// run the portable and AVX2 paths on an AVX-512 machine. An unknown value is an error, not a silent default.
#include <string>

namespace supra {

enum class CpuIsa { Portable = 0, Avx2 = 1, Avx512 = 2 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_bf16 = false;  // vdpbf16ps: bf16 dot products with f32 accumulation
};

// Detected once (cpuid); the same for the whole process.
const CpuFeatures& cpu_features();

// The highest level the CPU supports: Avx512 needs F+BW+VL+DQ, Avx2 needs AVX2+FMA+F16C.
CpuIsa cpu_isa_supported();

// The level kernels use: cpu_isa_supported(), capped by SUPRA_CPU_ISA (read on every call, so a test can set it
// between kernels). Fails with a clear message on a value it does not know.
CpuIsa cpu_isa();

const char* cpu_isa_name(CpuIsa isa);

// One line for logs and bench headers, e.g. "avx512 (avx512f avx512bw avx512vl avx512dq avx512_bf16 avx2 fma f16c)".
std::string cpu_features_summary();

}  // namespace supra
