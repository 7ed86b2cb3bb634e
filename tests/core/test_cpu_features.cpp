#include <catch2/catch.hpp>

#include <cstdlib>
#include <optional>
#include <string>

#include "core/cpu_features.h"
#include "tests/common/isa_cap.h"

using namespace supra;
using supra::test::IsaCap;


TEST_CASE("cpu features: SUPRA_CPU_ISA caps the kernel level and never raises it", "[cpu_features]") {
  const CpuIsa have = cpu_isa_supported();
  const CpuFeatures& f = cpu_features();
  // The level follows from the flags (one table): AVX-512 implies the AVX2 set it is built on.
  if (have == CpuIsa::Avx512) CHECK((f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx2 && f.fma));
  if (have >= CpuIsa::Avx2) CHECK((f.avx2 && f.fma));
  {
    IsaCap cap("portable");
    CHECK(cpu_isa() == CpuIsa::Portable);
  }
  {
    IsaCap cap("avx2");
    CHECK(cpu_isa() == (have < CpuIsa::Avx2 ? have : CpuIsa::Avx2));
  }
  {
    IsaCap cap("avx512");
    CHECK(cpu_isa() == have);
  }
  {
    IsaCap cap("");
    CHECK(cpu_isa() == have);
  }
  CHECK(cpu_features_summary().rfind(cpu_isa_name(cpu_isa()), 0) == 0);
}

TEST_CASE("cpu features: an unknown SUPRA_CPU_ISA is an error that names the variable", "[cpu_features]") {
  IsaCap cap("sse9");
  REQUIRE_THROWS_WITH(cpu_isa(), Catch::Contains("SUPRA_CPU_ISA=sse9") && Catch::Contains("portable, avx2 or avx512"));
}
