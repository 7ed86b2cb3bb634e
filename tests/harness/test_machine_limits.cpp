// bench's limits (harness/machine_limits.h) and the fractions it reports against them (harness/bench.h). The peaks
// are timed, so the checks are about what the arithmetic guarantees (positive, finite, ordered by FLOPs per
// instruction within a generous factor), never about a speed; the fraction formulas are checked against FLOP and
// byte counts derived by hand for a small config.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/cpu_features.h"
#include "tests/common/isa_cap.h"
#include "engine/model_config.h"
#include "harness/bench.h"
#include "harness/machine_limits.h"
#include "tests/harness/cli_util.h"

using namespace supra;
using supra::test::IsaCap;

namespace {

bool positive_finite(double v) { return std::isfinite(v) && v > 0; }


// D 8, F 16, 2 layers, 2 query heads of 4, 1 KV head, vocabulary 10.
ModelConfig small_config(AttentionMode mode) {
  ModelConfig c;
  c.dim = 8;
  c.hidden_dim = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = 4;
  c.vocab_size = 10;
  c.attention = mode;
  return c;
}

}  // namespace

TEST_CASE("the f32 and bf16 peaks and the read bandwidth at the CPU's own level are positive and finite") {
  const CpuPeaks p = measure_cpu_peaks(2);
  CHECK(p.isa == cpu_isa());
  CHECK(positive_finite(p.f32_gflops));
  CHECK(positive_finite(p.bf16_gflops));
  CHECK(positive_finite(p.read_gbps));
  if (p.bf16_native) {
    // vdpbf16ps does 64 FLOPs per instruction, a zmm FMA 32: no CPU issues it at under half the FMA rate.
    CHECK(p.bf16_gflops >= 0.5 * p.f32_gflops);
  } else {
    CHECK(p.bf16_gflops == p.f32_gflops);
  }
  const MachineLimits f32 = cpu_limits(p, false), bf16 = cpu_limits(p, true);
  CHECK(f32.gflops == p.f32_gflops);
  CHECK(bf16.gflops == p.bf16_gflops);
  CHECK(f32.gbps == p.read_gbps);
  CHECK(bf16.gbps == p.read_gbps);
  CHECK(f32.flop_name == "f32 FMA peak");
  CHECK(bf16.flop_name == "bf16 dot peak");
  CHECK(f32.source.find(cpu_isa_name(p.isa)) != std::string::npos);
}

TEST_CASE("below AVX-512 there is no bf16 instruction: the bf16 peak is the f32 peak and the header says so") {
  const IsaCap cap("avx2");
  const CpuPeaks p = measure_cpu_peaks(1);
  CHECK(p.isa <= CpuIsa::Avx2);
  CHECK_FALSE(p.bf16_native);
  CHECK(p.bf16_gflops == p.f32_gflops);
  CHECK(cpu_limits(p, true).source.find("no AVX512-BF16") != std::string::npos);
  CHECK_FALSE(measure_bf16_peak_gflops(p.isa, 1).has_value());
}

TEST_CASE("the f32 peak at each kernel level the CPU has is ordered portable, avx2, avx512 within a generous factor") {
  // Per instruction: SSE2 multiply + add 8 FLOPs per pair, an AVX2 FMA 16, an AVX-512 FMA 32; a core issues AVX-512
  // FMAs at no less than half its AVX2 rate (double-pumped on Zen 4, equal). So each level reaches at least the one
  // below, up to timing noise: 1.5x leaves room for that and still catches a lane count off by two.
  std::vector<std::pair<CpuIsa, double>> peaks;
  for (const char* level : {"portable", "avx2", "avx512"}) {
    const IsaCap cap(level);
    const CpuIsa isa = cpu_isa();
    if (!peaks.empty() && peaks.back().first == isa) break;  // capped at what the CPU has
    const double g = measure_f32_peak_gflops(isa, 1);
    INFO(cpu_isa_name(isa) << ": " << g << " GFLOP/s");
    CHECK(positive_finite(g));
    peaks.emplace_back(isa, g);
  }
  for (size_t i = 1; i < peaks.size(); i++) {
    INFO(cpu_isa_name(peaks[i - 1].first) << " " << peaks[i - 1].second << " GFLOP/s, " << cpu_isa_name(peaks[i].first)
                                         << " " << peaks[i].second << " GFLOP/s");
    CHECK(peaks[i - 1].second <= 1.5 * peaks[i].second);
  }
}

TEST_CASE("prefill FLOPs count every token's matmuls and attention plus the last row's logits") {
  // Weights per layer: wq D*Q 64 + wk, wv 2*D*KV 64 + wo Q*D 64 + FFN 3*D*F 384 = 576, 2 FLOPs each = 1152 per token.
  // Softmax attention of the token at position p: 4*H*d*(p+1) = 32 (p+1). Logits of the last row: 2*D*V = 160.
  const ModelConfig softmax = small_config(AttentionMode::Softmax);
  CHECK(prefill_flops(softmax, 3) == 2 * (3 * 1152 + 32 * (1 + 2 + 3)) + 160);
  ModelConfig window = softmax;
  window.sliding_window = 2;  // keys seen: 1, 2, 2
  CHECK(prefill_flops(window, 3) == 2 * (3 * 1152 + 32 * (1 + 2 + 2)) + 160);
  // SUPRA adds the query feature map Q*Q 64 (H == Hkv would add none for keys) and replaces attention with a state
  // update and read, 4*H*d*d = 128 per token whatever its position.
  const ModelConfig supra = small_config(AttentionMode::Supra);
  CHECK(prefill_flops(supra, 3) == 2 * 3 * (2 * (576 + 64) + 128) + 160);
}

TEST_CASE("bench's fractions are the model's FLOPs and bytes per second over a fixed MachineLimits") {
  MachineLimits lim;
  lim.gflops = 100;
  lim.gbps = 50;
  const ModelConfig c = small_config(AttentionMode::Softmax);
  const double flops = prefill_flops(c, 3);  // 7456 FLOPs in 1 us: 7.456 GFLOP/s of 100
  CHECK(prefill_limit_fraction(lim, flops, 1e-6) == Approx(7.456 / 100).epsilon(1e-12));
  // 1000 bytes of weights and 4 sequences of 25 bytes of state: 1100 bytes a step; 10 steps in 1 us = 11 GB/s of 50.
  CHECK(decode_step_bytes(1000, 4, 25) == 1100);
  CHECK(decode_limit_fraction(lim, 10 * decode_step_bytes(1000, 4, 25), 1e-6) == Approx(11.0 / 50).epsilon(1e-12));
  MachineLimits unknown;  // a limit not measured gives no fraction, not a division by zero
  CHECK(prefill_limit_fraction(unknown, flops, 1e-6) == 0);
  CHECK(decode_limit_fraction(unknown, 1100, 1e-6) == 0);
}

TEST_CASE("bench names its limits and reports each row's fractions of them") {
  const auto json = supra::test::fresh_temp("machine_limits", "bench.json");
  std::string out;
  const int rc = supra::test::run_cli(
      {"bench", "--shape", "dim=64,hidden=128,layers=2,heads=2,kv_heads=2,vocab=64,ctx=64", "--ctx", "32",
       "--decode-tokens", "2", "--threads", "1", "--json", json.string()},
      out, supra::test::fresh_temp("machine_limits", "bench.log").string());
  INFO(out);
  REQUIRE(rc == 0);
  CHECK_THAT(out, Catch::Contains("prefill GFLOP/s (% f32 FMA peak)") && Catch::Contains("decode GB/s (% streaming read)"));
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  CHECK(j.at("limit_flop_name") == "f32 FMA peak");
  CHECK(j.at("limit_bw_name") == "streaming read");
  const double gflops = j.at("limit_gflops"), gbps = j.at("limit_gbps");
  REQUIRE(positive_finite(gflops));
  REQUIRE(positive_finite(gbps));
  REQUIRE(j.at("rows").size() == 2);  // softmax and SUPRA
  for (const auto& r : j.at("rows")) {
    // The same measured time divides both the rate and the fraction: they agree to rounding.
    CHECK(double(r.at("prefill_limit_fraction")) == Approx(double(r.at("prefill_gflops")) / gflops).epsilon(1e-9));
    CHECK(double(r.at("decode_limit_fraction")) == Approx(double(r.at("decode_gbps")) / gbps).epsilon(1e-9));
    CHECK(double(r.at("prefill_limit_fraction")) > 0);
    CHECK(double(r.at("decode_limit_fraction")) > 0);
  }
}
