// The trainable model: gradients of the whole model (finite differences, double) in both attention modes, and
// equality of its forward with the inference engine's (supra::Model), before and after a save/load round trip.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/io/checkpoint_writer.h"
#include "engine/model.h"
#include "tests/common/tolerance.h"
#include "train/trainable_model.h"

using namespace supra;
using namespace supra::train;
using supra::test::normwise_rel;
namespace fs = std::filesystem;

namespace {

Checkpoint tiny(int heads, int kv_heads, AttentionMode mode, bool tied, uint64_t seed, int dim_per_head = 4) {
  ModelConfig c = named_shape("dim=" + std::to_string(heads * dim_per_head) + ",hidden=12,layers=2,heads=" +
                              std::to_string(heads) + ",kv_heads=" + std::to_string(kv_heads) + ",vocab=11,ctx=64");
  c.tie_embeddings = tied;
  Checkpoint ck = random_checkpoint(c, DType::F32, seed);
  if (mode == AttentionMode::Supra) add_supra_feature_maps(ck, seed + 1);
  return ck;
}

std::vector<int32_t> tokens(int B, int L, int V, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> t(size_t(B) * (L + 1));
  for (auto& x : t) x = int32_t(rng() % uint64_t(V));
  return t;
}

// Max relative error of d loss / d param over a sample of parameters of every tensor.
double model_gradcheck(TrainableModel<double>& m, const std::vector<int32_t>& tok, int B, int L) {
  // Random weights of std 0.02 give a nearly flat loss; scale them up so every path carries gradient.
  for (const auto& p : m.param_info())
    if (p.decay)
      for (size_t i = 0; i < p.numel(); i++) m.params()[p.offset + i] *= 20.0;
  m.zero_grads();
  m.step(tok.data(), B, L, true);
  const std::vector<double> g = m.grads();
  double worst = 0;
  for (const auto& p : m.param_info()) {
    double num_max = 0, err_max = 0;
    const size_t stride = std::max<size_t>(1, p.numel() / 12);
    for (size_t i = 0; i < p.numel(); i += stride) {
      const size_t k = p.offset + i;
      const double x0 = m.params()[k], h = 1e-5;
      m.params()[k] = x0 + h;
      const double lp = m.step(tok.data(), B, L, false);
      m.params()[k] = x0 - h;
      const double lm = m.step(tok.data(), B, L, false);
      m.params()[k] = x0;
      const double num = (lp - lm) / (2 * h);
      num_max = std::max(num_max, std::abs(num));
      err_max = std::max(err_max, std::abs(num - g[k]));
    }
    const double e = num_max > 0 ? err_max / num_max : err_max;
    INFO(p.name << " max rel error " << e);
    // Central differences in double: truncation h^2 |f'''|/6 plus rounding u|f|/h (~1e-11) give ~1e-10 on these
    // scaled weights (measured up to 2e-6 only where the loss is strongly curved); a wrong gradient is off by O(1).
    CHECK(e < 1e-5);
    worst = std::max(worst, e);
  }
  return worst;
}

std::vector<float> engine_logits(const Checkpoint& ck, const std::vector<int32_t>& tok, int B, int L, int chunk) {
  auto be = make_cpu_backend(1);
  ModelOptions mo;
  mo.form = SupraForm::Chunked;
  mo.chunk = chunk;
  Model m(ck, *be, mo);
  std::vector<float> out;
  for (int b = 0; b < B; b++) {
    auto st = m.new_state();
    SeqInput in{st.get(), std::span<const int32_t>(tok.data() + size_t(b) * (L + 1), size_t(L))};
    Tensor hidden, logits;
    m.forward(std::span<const SeqInput>(&in, 1), &hidden);
    m.logits(hidden, logits);
    std::vector<float> host(size_t(L) * ck.config.vocab_size);
    be->to_host(logits, host.data());
    out.insert(out.end(), host.begin(), host.end());
  }
  return out;
}

// Normwise bound for the trainer's fp32 logits against the engine's: two implementations of one function whose
// sums run in other orders (tests/common/tolerance.h), over L positions.
double reorder_tol(const ModelConfig& c, int L) {
  return supra::test::gamma_k(supra::test::forward_chain(c.n_layers, c.dim, c.hidden_dim, c.head_dim, L),
                              supra::test::kUnitF32);
}

}  // namespace

TEST_CASE("gradcheck: whole model, SUPRA with GQA (separate Ak, bk), across chunk boundaries", "[gradcheck][model]") {
  TrainableModel<double> m(tiny(4, 2, AttentionMode::Supra, true, 3), 4);
  const auto tok = tokens(2, 10, 11, 5);
  std::printf("gradcheck %-40s max rel error %.3e\n", "model supra gqa", model_gradcheck(m, tok, 2, 10));
}

TEST_CASE("gradcheck: whole model, SUPRA with H == Hkv (shared Aq, bq), untied output", "[gradcheck][model]") {
  TrainableModel<double> m(tiny(2, 2, AttentionMode::Supra, false, 4), 3);
  const auto tok = tokens(2, 9, 11, 6);
  std::printf("gradcheck %-40s max rel error %.3e\n", "model supra mha", model_gradcheck(m, tok, 2, 9));
}

TEST_CASE("gradcheck: whole model, softmax with GQA", "[gradcheck][model]") {
  TrainableModel<double> m(tiny(4, 2, AttentionMode::Softmax, true, 5), 4);
  const auto tok = tokens(2, 8, 11, 7);
  std::printf("gradcheck %-40s max rel error %.3e\n", "model softmax gqa", model_gradcheck(m, tok, 2, 8));
}

TEST_CASE("the trainer's forward equals the engine's, before and after saving as open_lm", "[model]") {
  const int B = 2, L = 40, chunk = 16;  // 40 tokens: chunks of 16, 16 and 8
  for (AttentionMode mode : {AttentionMode::Supra, AttentionMode::Softmax})
    for (RopePairing pairing : {RopePairing::RotateHalf, RopePairing::Interleaved}) {
      Checkpoint ck = tiny(4, 2, AttentionMode::Softmax, true, 9, 8);
      ck.config.rope_pairing = pairing;  // as a llama2.c model would load
      if (mode == AttentionMode::Supra) add_supra_feature_maps(ck, 10);
      INFO(mode_name(mode) << " " << pairing_name(pairing));
      const auto tok = tokens(B, L, ck.config.vocab_size, 11);
      TrainableModel<float> tm(ck, chunk);
      // Train weights away from the random init a little so the check is not about a special point.
      for (auto& p : tm.params()) p *= 1.5f;
      tm.step(tok.data(), B, L, false);
      const std::vector<float> mine = tm.last_logits();
      const Checkpoint out = tm.to_checkpoint();
      CHECK(normwise_rel(mine, engine_logits(out, tok, B, L, chunk)) < reorder_tol(ck.config, L));
      const fs::path dir = fs::temp_directory_path() / ("supra_train_eq_" + std::to_string(::getpid()));
      fs::remove_all(dir);
      save_open_lm(out, dir.string(), DType::F32);
      const Checkpoint back = load_checkpoint(dir.string());
      CHECK(back.config.attention == mode);
      CHECK(normwise_rel(mine, engine_logits(back, tok, B, L, chunk)) < reorder_tol(ck.config, L));
      // And the trainer on the reloaded (rotate-half) checkpoint computes the same function again.
      TrainableModel<float> again(back, chunk);
      again.step(tok.data(), B, L, false);
      CHECK(normwise_rel(mine, again.last_logits()) < reorder_tol(ck.config, L));
      fs::remove_all(dir);
    }
}

TEST_CASE("the trainer's forward equals the engine's on stories260K and its SUPRA conversion", "[model]") {
  Checkpoint ck = load_checkpoint(std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin");
  const int B = 1, L = 70, chunk = 64;
  const auto tok = tokens(B, L, ck.config.vocab_size, 12);
  {
    TrainableModel<float> tm(ck, chunk);
    tm.step(tok.data(), B, L, false);
    CHECK(normwise_rel(tm.last_logits(), engine_logits(ck, tok, B, L, chunk)) < reorder_tol(ck.config, L));
  }
  add_supra_feature_maps(ck, 1);
  TrainableModel<float> tm(ck, chunk);
  tm.step(tok.data(), B, L, false);
  CHECK(normwise_rel(tm.last_logits(), engine_logits(ck, tok, B, L, chunk)) < reorder_tol(ck.config, L));
}
