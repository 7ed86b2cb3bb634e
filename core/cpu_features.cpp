#include "core/cpu_features.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace supra {

namespace {

// cpuid and xgetbv directly (not __builtin_cpu_supports, whose feature names differ between GCC and clang): an
// instruction set counts only when the OS also saves its registers (XCR0), as a VM may hide AVX-512 state.
CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27), avx = c & (1u << 28);
  if (!osxsave || !avx) return f;
  unsigned xlo = 0, xhi = 0;
  __asm__("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  const bool ymm = (xlo & 0x6) == 0x6, zmm = ymm && (xlo & 0xe0) == 0xe0;
  if (!ymm) return f;
  f.fma = c & (1u << 12);
  f.f16c = c & (1u << 29);
  unsigned max_leaf = __get_cpuid_max(0, nullptr);
  if (max_leaf < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  const unsigned leaf7_max_sub = a;
  f.avx2 = b & (1u << 5);
  if (zmm) {
    f.avx512f = b & (1u << 16);
    f.avx512dq = b & (1u << 17);
    f.avx512bw = b & (1u << 30);
    f.avx512vl = b & (1u << 31);
    if (leaf7_max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      f.avx512_bf16 = a & (1u << 5);
    }
  }
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

CpuIsa cpu_isa_supported() {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx2 && f.fma) return CpuIsa::Avx512;
  if (f.avx2 && f.fma && f.f16c) return CpuIsa::Avx2;
  return CpuIsa::Portable;
}

CpuIsa cpu_isa() {
  const CpuIsa have = cpu_isa_supported();
  const char* cap = std::getenv("SUPRA_CPU_ISA");
  if (!cap || !*cap) return have;
  CpuIsa want;
  if (!std::strcmp(cap, "portable"))
    want = CpuIsa::Portable;
  else if (!std::strcmp(cap, "avx2"))
    want = CpuIsa::Avx2;
  else if (!std::strcmp(cap, "avx512"))
    want = CpuIsa::Avx512;
  else
    fail("environment SUPRA_CPU_ISA={}: expected portable, avx2 or avx512", cap);
  return want < have ? want : have;
}

const char* cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return "avx512";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Portable: return "portable";
  }
  return "?";
}

std::string cpu_features_summary() {
  const CpuFeatures& f = cpu_features();
  std::string s = cpu_isa_name(cpu_isa());
  s += " (";
  const std::pair<bool, const char*> flags[] = {{f.avx512f, "avx512f"},   {f.avx512bw, "avx512bw"},
                                                {f.avx512vl, "avx512vl"}, {f.avx512dq, "avx512dq"},
                                                {f.avx512_bf16, "avx512_bf16"}, {f.avx2, "avx2"},
                                                {f.fma, "fma"},           {f.f16c, "f16c"}};
  bool first = true;
  for (const auto& [on, name] : flags) {
    if (!on) continue;
    if (!first) s += ' ';
    s += name;
    first = false;
  }
  return s + ")";
}

}  // namespace supra
