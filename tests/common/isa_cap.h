#pragma once
// Kernel levels in tests: cap SUPRA_CPU_ISA for one scope (cpu_isa() reads it on every call, so a test runs each
// level the CPU has in-process) and the levels this CPU can run.
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "core/cpu_features.h"

namespace supra::test {

// Sets SUPRA_CPU_ISA for the scope and restores what was there.
class IsaCap {
 public:
  explicit IsaCap(const char* level) {
    if (const char* b = std::getenv("SUPRA_CPU_ISA")) before_ = b;
    setenv("SUPRA_CPU_ISA", level, 1);
  }
  explicit IsaCap(CpuIsa isa) : IsaCap(cpu_isa_name(isa)) {}
  ~IsaCap() {
    if (before_)
      setenv("SUPRA_CPU_ISA", before_->c_str(), 1);
    else
      unsetenv("SUPRA_CPU_ISA");
  }
  IsaCap(const IsaCap&) = delete;
  IsaCap& operator=(const IsaCap&) = delete;

 private:
  std::optional<std::string> before_;
};

// Portable, then each level up to what this CPU supports.
inline std::vector<CpuIsa> isas_here() {
  std::vector<CpuIsa> v;
  for (CpuIsa i : {CpuIsa::Portable, CpuIsa::Avx2, CpuIsa::Avx512})
    if (i <= cpu_isa_supported()) v.push_back(i);
  return v;
}

}  // namespace supra::test
