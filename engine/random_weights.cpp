// Weights made from a seed: whole random checkpoints for benchmarks, and the SUPRA feature maps added to a
// softmax model (SUPRA.md section 4). Values come from a counter-based generator (splitmix64 of seed, tensor,
// row, column), so every row is independent: filled in parallel, identical for any thread count, and a 7B bf16
// model takes seconds, not minutes.
#include <cmath>

#include <fmt/format.h>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "core/error.h"
#include "core/parallel_errors.h"
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
  if (dtype == DType::I32) fail("random weights: i32 is not a weight dtype");  // checked before the region
  ParallelErrors errors;  // the row buffer's allocation may throw
#pragma omp parallel
  {
    std::vector<float> buf;
    errors.guard([&] { buf.resize(static_cast<size_t>(cols)); });
    const bool ok = buf.size() == static_cast<size_t>(cols);
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      if (!ok) continue;
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
  errors.rethrow();
  return t;
}

constexpr uint64_t kSupraStreams = 1ull << 40;  // feature-map streams never collide with base-weight streams

// Weight `wt` of a model seeded with `seed`. Streams: model-level weights their own (0-2); layer i's base weights
// 16 + 16 i + k; its feature-map weights kSupraStreams + 4 i + k (so adding feature maps to a model leaves its
// other weights as they were).
Tensor random_weight(const Weight& wt, DType dtype, uint64_t seed) {
  uint64_t stream = uint64_t(wt.stream);
  if (wt.layer >= 0) stream += wt.supra_only() ? kSupraStreams + uint64_t(wt.layer) * 4 : 16 + uint64_t(wt.layer) * 16;
  switch (wt.init) {
    case Init::Normal: return fill(dtype, wt.shape, seed, stream, Dist::Normalish, 0.02f);  // Llama-style init std
    case Init::Ones: return fill(dtype, wt.shape, seed, stream, Dist::Ones, 1);
    case Init::FanIn: break;
  }
  // torch.nn.Linear's default init: weight (kaiming_uniform, a=sqrt(5)) and bias both U(-1/sqrt(fan_in), +).
  const float bound = float(1.0 / std::sqrt(double(wt.shape.back())));
  return fill(dtype, wt.shape, seed, stream, Dist::Uniform, bound);
}

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

  ModelWeights& w = ck.weights;
  w.layers.resize(size_t(c.n_layers));
  for_each_weight(c, [&](const Weight& wt) { wt.in(w) = random_weight(wt, dtype, seed); });
  if (c.tie_embeddings) w.output = w.tok_embeddings;
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
  for_each_weight(c, [&](const Weight& wt) {
    if (wt.supra_only()) wt.in(out.weights) = random_weight(wt, c.weight_dtype, seed);
  });
  c.validate(ckpt.path);
  out.fingerprint = sha256_hex(fmt::format("supra:{}:seed={}:slopes={}", base, seed,
                                           slopes == DecaySlopes::RetNet ? "retnet" : "alibi"));
  ckpt = std::move(out);
}

}  // namespace supra
