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

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  // clang (the fuzz build) has no "f16c" for __builtin_cpu_supports: read CPUID leaf 1 ECX directly.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  f.f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
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
