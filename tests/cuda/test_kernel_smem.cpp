// The shared-memory table of the CUDA kernels (engine/cuda/kernel_smem.h), checked on the CPU in every build: each
// kernel at each supported head dim has a configuration that fits each architecture we build for, and the table
// holds the kernels' real needs (the kernels lay out their memory with it; the figures below are what
// `nvcc -Xptxas -v` and issue 19 measured for the kernels as declared before the table existed).
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "engine/cuda/kernel_smem.h"
#include "tests/engine/test_util.h"

using namespace supra::cuda::smem;

namespace {

constexpr int kHeadDims[] = {64, 80, 96, 128, 256};

}  // namespace

TEST_CASE("every CUDA kernel has a shared-memory configuration that fits every built architecture", "[cuda][smem]") {
  for (const Arch& arch : kArchs) {
    for (int d : kHeadDims) {
      INFO("sm_" << arch.sm << " (" << arch.gpus << "), opt-in limit " << arch.optin_bytes << " bytes, head dim " << d);
      for (bool tc : {false, true}) {
        const Plan p = plan_attention_prefill(d, tc, arch.optin_bytes);
        INFO("softmax prefill, tensor cores asked: " << tc << ": " << p.kernel << " needs " << p.bytes);
        CHECK(p.fits);
        CHECK(p.bytes <= arch.optin_bytes);
      }
      CHECK(plan_attention_decode(d, kDefaultLimit).fits);  // static arrays: within 48 KiB everywhere
      const Plan f32 = plan_supra_f32_chunked(d, kSupraMaxChunk, arch.optin_bytes);
      INFO("supra fp32 chunked: chunk " << f32.tile << ", " << f32.bytes << " bytes");
      CHECK(f32.fits);
      CHECK(f32.tile >= 16);
      CHECK(supra_f32_chunked_bytes(d, f32.tile) <= arch.optin_bytes);
      REQUIRE(supra_tc_head_dim(d));
      const Plan tc = plan_supra_tc(d, kSupraMaxChunk, arch.optin_bytes);
      INFO("supra tensor cores: value slice " << tc.tile << ", " << tc.bytes << " bytes");
      CHECK(tc.fits);
      CHECK(supra_tc_state_layout(d, 64).bytes <= arch.optin_bytes);
      CHECK(supra_tc_out_layout(d, 64, tc.tile).bytes <= arch.optin_bytes);
      CHECK(tc.tile % 16 == 0);
      CHECK(plan_supra_recurrent(kDefaultLimit).fits);
    }
  }
}

TEST_CASE("at the 7B head dim 128 every architecture runs the fastest configuration", "[cuda][smem]") {
  for (const Arch& arch : kArchs) {
    INFO("sm_" << arch.sm);
    CHECK(std::string(plan_attention_prefill(128, true, arch.optin_bytes).kernel) == "attn_flash_wmma");
    const Plan tc = plan_supra_tc(128, 64, arch.optin_bytes);
    CHECK(tc.tile == 128);  // the whole value width per block: Q K^T once per chunk
    CHECK(plan_supra_f32_chunked(128, 64, arch.optin_bytes).fits);
  }
  // sm_86/sm_89 (99 KiB): the fp32 SUPRA reference halves its chunk at d = 128; sm_80 and sm_90 keep 64.
  CHECK(plan_supra_f32_chunked(128, 64, 99 * 1024).tile == 32);
  CHECK(plan_supra_f32_chunked(128, 64, 163 * 1024).tile == 64);
  // d = 256 on 99 KiB: the tensor-core output kernel takes value slices of 32 columns.
  CHECK(plan_supra_tc(256, 64, 99 * 1024).tile == 32);
  CHECK(plan_supra_tc(256, 64, 227 * 1024).tile == 256);
}

TEST_CASE("the shared-memory table holds the kernels' measured needs", "[cuda][smem]") {
  // Issue 19 (nvcc -arch=sm_90 -Xptxas -v and the launch sizes of the kernels before this table): fp32 flash
  // d = 128 49.5 KB and d = 256 98.7 KB, WMMA flash d = 64 54.3 KB and d = 128 95.2 KB, SUPRA chunked fp32
  // d = 128 107.5 KB and d = 256 189,444 bytes.
  CHECK(attn_flash_f32_bytes(128) == 49536);
  CHECK(attn_flash_f32_bytes(256) == 98688);
  CHECK(attn_wmma_layout(64).bytes == 54272);
  CHECK(attn_wmma_layout(128).bytes == 95232);
  CHECK(supra_f32_chunked_bytes(128, 64) == 107524);
  CHECK(supra_f32_chunked_bytes(256, 64) == 189444);
  // Tensor-core SUPRA: 16-bit operands aligned for WMMA (32-byte fragment pointers, 128-byte regions).
  for (int d : kHeadDims) {
    const SupraTcOutLayout L = supra_tc_out_layout(d, 64, d);
    INFO("d=" << d);
    CHECK(L.r_off % 128 == 0);
    CHECK(L.v_off % 128 == 0);
    CHECK(L.a_off % 128 == 0);
    CHECK(L.w_off % 128 == 0);
    CHECK((16 * L.ldq * 2) % 32 == 0);
    CHECK((16 * L.lde * 2) % 32 == 0);
    CHECK((16 * L.lda * 2) % 32 == 0);
    CHECK((16 * L.ldw * 4) % 32 == 0);
  }
}

TEST_CASE("a GPU below every configuration's need gets a plan that names the kernel and the need", "[cuda][smem]") {
  // e.g. a Turing GPU (64 KiB opt-in) at head dim 256: fp32 flash needs 98,688 bytes.
  const Plan p = plan_attention_prefill(256, false, 64 * 1024);
  CHECK_FALSE(p.fits);
  CHECK(std::string(p.kernel) == "attn_flash_f32");
  CHECK(p.bytes == 98688);
  const Plan s = plan_supra_tc(256, 64, 32 * 1024);
  CHECK_FALSE(s.fits);
  CHECK(s.bytes > 32 * 1024);
}

namespace {

std::string read_text(const std::string& rel) {
  std::ifstream f(supra::test::repo_path(rel));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("cmake/Cuda.cmake and the README's GPU table hold the architectures of the shared-memory table",
          "[cuda][smem]") {
  const std::string readme = read_text("README.md");
  for (const Arch& arch : kArchs) {
    INFO("README row for sm_" << arch.sm);
    CHECK(readme.find("| sm_" + std::to_string(arch.sm) + " | " + arch.gpus) != std::string::npos);
  }
  const std::string text = read_text("cmake/Cuda.cmake");
  const auto at = text.find("set(SUPRA_CUDA_DEFAULT_ARCHITECTURES");
  REQUIRE(at != std::string::npos);
  const std::string line = text.substr(at, text.find(')', at) - at);
  int newest = 0;
  for (const Arch& arch : kArchs) {
    INFO("sm_" << arch.sm);
    CHECK(line.find(std::to_string(arch.sm) + "-real") != std::string::npos);
    newest = std::max(newest, arch.sm);
  }
  CHECK(line.find(std::to_string(newest) + "-virtual") != std::string::npos);
  // nothing else: one "-real" per table row, one "-virtual"
  size_t reals = 0;
  for (size_t p = line.find("-real"); p != std::string::npos; p = line.find("-real", p + 1)) reals++;
  CHECK(reals == std::size(kArchs));
}
