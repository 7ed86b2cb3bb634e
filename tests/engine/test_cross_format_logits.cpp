// The same weights give the same logits whatever the file format: llama2.c (interleaved RoPE, f32) against HF
// safetensors (rotate-half, q/k rows permuted) in f32, f16 and bf16, single and sharded; and an open_lm-named
// SUPRA checkpoint loads and runs like the model it was written from.
#include <catch2/catch.hpp>

#include <filesystem>

#include "engine/io/checkpoint_writer.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("supra_xfmt_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p;
}

std::vector<float> run(const Checkpoint& ck, const std::vector<int32_t>& tokens) {
  auto be = make_cpu_backend(0);
  Model m(ck, *be);
  return logits_of(m, tokens, int64_t(tokens.size()));
}

}  // namespace

TEST_CASE("llama2.c and HF safetensors of the same weights give the same logits", "[formats]") {
  const Checkpoint base = load_checkpoint(repo_path("models/stories260K/stories260K.bin"));
  const auto tokens = random_tokens(90, 512, 17);
  const auto ref = run(base, tokens);
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    for (bool sharded : {false, true}) {
      INFO(dtype_name(dt) << (sharded ? " sharded" : " single file"));
      const fs::path dir = scratch(std::string("hf_") + dtype_name(dt) + (sharded ? "_s" : ""));
      save_hf(base, dir.string(), dt, sharded);
      const Checkpoint hf = load_checkpoint(dir.string());
      CHECK(hf.config.weight_dtype == dt);
      CHECK(hf.config.rope_pairing == RopePairing::RotateHalf);
      const auto got = run(hf, tokens);
      const double tol = reorder_tol(base.config, 90);  // same weights, sums in another order
      if (dt == DType::F32) {
        CHECK(rel_err(got, ref) < tol);
      } else {
        // The HF file holds rounded weights; the same rounded weights written back as llama2.c (f32, interleaved)
        // must give the same logits as the half-precision model computed from its stored dtype.
        const fs::path back = scratch(std::string("back_") + dtype_name(dt) + (sharded ? "_s" : "") + ".bin");
        save_llama2c(hf, back.string());
        const auto again = run(load_checkpoint(back.string()), tokens);
        CHECK(rel_err(got, again) < tol);
        // And close to the unrounded model, within what rounding each weight to the dtype explains.
        CHECK(rel_err(got, ref) < rounded_tol(base.config, 90, dt == DType::F16 ? kUnitF16 : kUnitBF16));
        fs::remove(back);
      }
      fs::remove_all(dir);
    }
  }
}

TEST_CASE("an open_lm SUPRA checkpoint loads and runs like the model it was written from", "[formats][supra]") {
  Checkpoint ck = small_model(4, 2, AttentionMode::Supra);
  const auto tokens = random_tokens(70, 97, 5);
  const auto ref = run(ck, tokens);
  const fs::path dir = scratch("open_lm");
  save_open_lm(ck, dir.string(), DType::F32);
  const Checkpoint back = load_checkpoint(dir.string());
  CHECK(back.config.attention == AttentionMode::Supra);
  CHECK(back.config.source_format == "open_lm");
  CHECK(rel_err(run(back, tokens), ref) < reorder_tol(ck.config, 70));  // same weights, another order
  fs::remove_all(dir);
}
