// Weights made from a seed: whole random checkpoints for benchmarks, and the SUPRA feature maps added to a
// softmax model (SUPRA.md section 4). Values come from a counter-based generator (splitmix64 of seed, tensor,
// row, column), so every row is independent: filled in parallel, identical for any thread count, and a 7B bf16
// model takes seconds, not minutes.
#include <cmath>

#include <fmt/format.h>

#include "engine/checkpoint.h"
#include "engine/checkpoint_io.h"
#include "core/error.h"
#include "core/splitmix64.h"
#include "core/sha256.h"

namespace supra {

namespace {

enum class Dist {
  // Irwin-Hall sum of 4 uniforms scaled to std `scale`: bell-shaped, bounded at 3.46 std, one hash per value.
  // Not exactly normal; nothing measured with random weights depends on the tails.
  Normalish,
  Uniform,  // U(-scale, scale)
  Ones,
};

// Tensor `stream` of a model seeded with `seed`; 1-D tensors are one row.
Tensor fill(DType dtype, std::vector<int64_t> shape, uint64_t seed, uint64_t stream, Dist dist, float scale) {
  Tensor t = host_tensor(dtype, std::move(shape));
  const int64_t rows = t.shape.size() == 1 ? 1 : t.rows();
  const int64_t cols = t.numel() / rows;
  const uint64_t tensor_key = splitmix64(seed ^ splitmix64(stream));
  const size_t esize = dtype_size(dtype);
  const float uniform_step = float(double(scale) * 0x1.0p-52);
  // The Irwin-Hall sum s of 4 uniforms has mean 2 and variance 4/12: (s - 2) * sqrt(3) has std 1. Below,
  // sum - 131070 equals (s - 2) * 65536 (the +0.5 offsets folded in).
  const float bell_step = float(std::sqrt(3.0) * scale / 65536.0);
#pragma omp parallel
  {
    std::vector<float> buf(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const uint64_t row_key = splitmix64(tensor_key + uint64_t(r));
      for (int64_t i = 0; i < cols; i++) {
        if (dist == Dist::Ones) {
          buf[i] = 1.f;
          continue;
        }
        const uint64_t x = splitmix64(row_key + uint64_t(i) * 0x9e3779b97f4a7c15ull);
        if (dist == Dist::Uniform) {
          buf[i] = float(int64_t(x >> 11) - (int64_t(1) << 52)) * uniform_step;  // centred, [-scale, scale)
        } else {
          // Sum of four 16-bit uniforms (c + 0.5) / 65536, centred; integer adds keep this cheap.
          const int64_t sum = int64_t(x & 0xffff) + int64_t((x >> 16) & 0xffff) + int64_t((x >> 32) & 0xffff) +
                              int64_t(x >> 48);
          buf[i] = float(sum - 131070) * bell_step;
        }
      }
      convert_from_f32(dtype, buf.data(), static_cast<char*>(t.data) + size_t(r) * size_t(cols) * esize,
                       size_t(cols));
    }
  }
  return t;
}

// torch.nn.Linear's default init: weight (kaiming_uniform, a=sqrt(5)) and bias both U(-1/sqrt(fan_in), +).
void feature_maps(LayerWeights& L, const ModelConfig& c, DType dtype, uint64_t seed, uint64_t stream) {
  const int64_t Q = c.q_dim(), KV = c.kv_dim();
  const float bq = float(1.0 / std::sqrt(double(Q))), bk = float(1.0 / std::sqrt(double(KV)));
  L.phi_q_w = fill(dtype, {Q, Q}, seed, stream + 0, Dist::Uniform, bq);
  L.phi_q_b = fill(dtype, {Q}, seed, stream + 1, Dist::Uniform, bq);
  if (c.separate_kv_feature_map) {
    L.phi_k_w = fill(dtype, {KV, KV}, seed, stream + 2, Dist::Uniform, bk);
    L.phi_k_b = fill(dtype, {KV}, seed, stream + 3, Dist::Uniform, bk);
  }
}

constexpr uint64_t kSupraStreams = 1ull << 40;  // feature-map streams never collide with base-weight streams

}  // namespace

Checkpoint random_checkpoint(const ModelConfig& config, DType dtype, uint64_t seed) {
  if (dtype == DType::I32) fail("random_checkpoint: weights must be f32, f16 or bf16");
  Checkpoint ck;
  ck.config = config;
  ModelConfig& c = ck.config;
  c.source_format = "random";
  c.weight_dtype = dtype;
  c.validate("random_checkpoint");
  ck.path = fmt::format("random:seed={}", seed);

  const int64_t D = c.dim, F = c.hidden_dim, V = c.vocab_size, Q = c.q_dim(), KV = c.kv_dim();
  const float sigma = 0.02f;  // the usual init std of Llama-style models
  ModelWeights& w = ck.weights;
  w.tok_embeddings = fill(dtype, {V, D}, seed, 0, Dist::Normalish, sigma);
  w.output = c.tie_embeddings ? w.tok_embeddings : fill(dtype, {V, D}, seed, 1, Dist::Normalish, sigma);
  w.final_norm = fill(dtype, {D}, seed, 2, Dist::Ones, 1);
  w.layers.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; i++) {
    LayerWeights& L = w.layers[i];
    const uint64_t s = 16 + uint64_t(i) * 16;
    L.attn_norm = fill(dtype, {D}, seed, s + 0, Dist::Ones, 1);
    L.wq = fill(dtype, {Q, D}, seed, s + 1, Dist::Normalish, sigma);
    L.wk = fill(dtype, {KV, D}, seed, s + 2, Dist::Normalish, sigma);
    L.wv = fill(dtype, {KV, D}, seed, s + 3, Dist::Normalish, sigma);
    L.wo = fill(dtype, {D, Q}, seed, s + 4, Dist::Normalish, sigma);
    L.ffn_norm = fill(dtype, {D}, seed, s + 5, Dist::Ones, 1);
    L.w_gate = fill(dtype, {F, D}, seed, s + 6, Dist::Normalish, sigma);
    L.w_up = fill(dtype, {F, D}, seed, s + 7, Dist::Normalish, sigma);
    L.w_down = fill(dtype, {D, F}, seed, s + 8, Dist::Normalish, sigma);
    if (c.attention == AttentionMode::Supra) feature_maps(L, c, dtype, seed, kSupraStreams + uint64_t(i) * 4);
  }
  // No files to hash: the fingerprint is the recipe.
  ck.fingerprint = sha256_hex(fmt::format("random:{}:seed={}", c.to_json().dump(), seed));
  return ck;
}

void add_supra_feature_maps(Checkpoint& ckpt, uint64_t seed, DecaySlopes slopes) {
  if (ckpt.config.attention == AttentionMode::Supra)
    fail("{}: already a SUPRA model; add_supra_feature_maps converts softmax models", ckpt.path);
  if (slopes == DecaySlopes::Checkpoint)
    fail("add_supra_feature_maps: a softmax checkpoint has no decay slopes to read: choose alibi or retnet");
  // The derived model's fingerprint: the base model's plus the recipe (computed before the weights change).
  const std::string base = checkpoint_sha256(ckpt);

  // open_lm SUPRA applies rotate-half RoPE; re-order q/k rows of an interleaved (llama2.c) model so its softmax
  // attention is unchanged under the new pairing.
  Checkpoint out = with_rope_pairing(ckpt, RopePairing::RotateHalf);
  ModelConfig& c = out.config;
  c.attention = AttentionMode::Supra;
  c.separate_kv_feature_map = c.n_heads != c.n_kv_heads;
  c.decay_kind = slopes;
  c.decay_slopes = slopes == DecaySlopes::RetNet ? retnet_slopes(c.n_heads) : alibi_slopes(c.n_heads);
  for (int i = 0; i < c.n_layers; i++)
    feature_maps(out.weights.layers[i], c, c.weight_dtype, seed, kSupraStreams + uint64_t(i) * 4);
  c.validate(ckpt.path);
  out.fingerprint = sha256_hex(fmt::format("supra:{}:seed={}:slopes={}", base, seed,
                                           slopes == DecaySlopes::RetNet ? "retnet" : "alibi"));
  ckpt = std::move(out);
}

}  // namespace supra
