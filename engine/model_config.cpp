#include "engine/model_config.h"

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"

namespace supra {

const char* mode_name(AttentionMode m) { return m == AttentionMode::Softmax ? "softmax" : "supra"; }

AttentionMode parse_mode(const std::string& s) {
  if (s == "softmax") return AttentionMode::Softmax;
  if (s == "supra") return AttentionMode::Supra;
  fail("unknown attention mode '{}': expected softmax or supra", s);
}

const char* form_name(SupraForm f) {
  switch (f) {
    case SupraForm::Parallel: return "parallel";
    case SupraForm::Chunked: return "chunked";
    case SupraForm::Recurrent: return "recurrent";
  }
  return "?";
}

SupraForm parse_form(const std::string& s) {
  if (s == "parallel") return SupraForm::Parallel;
  if (s == "chunked") return SupraForm::Chunked;
  if (s == "recurrent") return SupraForm::Recurrent;
  fail("unknown SUPRA form '{}': expected parallel, chunked or recurrent", s);
}

const char* pairing_name(RopePairing p) { return p == RopePairing::RotateHalf ? "rotate_half" : "interleaved"; }

static const char* decay_name(DecaySlopes d) {
  switch (d) {
    case DecaySlopes::Alibi: return "alibi";
    case DecaySlopes::RetNet: return "retnet";
    case DecaySlopes::Checkpoint: return "checkpoint";
  }
  return "?";
}

std::vector<float> alibi_slopes(int n_heads) {
  if (n_heads <= 0) fail("alibi_slopes: n_heads must be positive, got {}", n_heads);
  // Slopes of a power of two n: 2^(-8(h+1)/n).
  auto pow2 = [](int n) {
    std::vector<float> s(n);
    for (int h = 0; h < n; h++) s[h] = float(std::pow(2.0, -8.0 * (h + 1) / n));
    return s;
  };
  int p = 1;
  while (p * 2 <= n_heads) p *= 2;
  std::vector<float> s = pow2(p);
  if (p == n_heads) return s;
  // ALiBi paper's rule for other H: then every other slope of the next power of two.
  std::vector<float> extra = pow2(2 * p);
  for (int i = 0; i < n_heads - p; i++) s.push_back(extra[2 * i]);
  return s;
}

std::vector<float> retnet_slopes(int n_heads) {
  std::vector<float> s(n_heads);
  for (int h = 0; h < n_heads; h++) s[h] = float(-std::log1p(-std::pow(2.0, -5.0 - h)));
  return s;
}

void ModelConfig::validate(const std::string& where) const {
  auto in_range = [&](const char* name, long v, long max) {
    if (v <= 0 || v > max) fail("{}: {} must be in 1..{}, got {}", where, name, max, v);
  };
  in_range("dim", dim, kMaxDim);
  in_range("hidden_dim", hidden_dim, kMaxHidden);
  in_range("n_layers", n_layers, kMaxLayers);
  in_range("n_heads", n_heads, kMaxHeads);
  in_range("n_kv_heads", n_kv_heads, kMaxHeads);
  in_range("head_dim", head_dim, kMaxHeadDim);
  in_range("vocab_size", vocab_size, kMaxVocab);
  in_range("train_ctx (the training context length)", train_ctx, kMaxTrainCtx);
  // -1 is "unknown" (the scorer then has no EOS); anything else must be a row of the embedding.
  auto token = [&](const char* name, int id) {
    if (id < -1 || id >= vocab_size)
      fail("{}: {} must be a token id in 0..{} (vocab_size - 1) or absent, got {}", where, name, vocab_size - 1, id);
  };
  token("bos_id", bos_id);
  token("eos_id", eos_id);
  if (n_heads % n_kv_heads != 0)
    fail("{}: n_heads ({}) must be a multiple of n_kv_heads ({})", where, n_heads, n_kv_heads);
  if (head_dim % 2 != 0) fail("{}: head_dim must be even for RoPE, got {}", where, head_dim);
  if (!(norm_eps > 0)) fail("{}: norm_eps must be positive, got {}", where, norm_eps);
  if (!(rope_theta > 0)) fail("{}: rope_theta must be positive, got {}", where, rope_theta);
  if (sliding_window && *sliding_window <= 0)
    fail("{}: sliding_window must be positive or null, got {}", where, *sliding_window);
  if (attention == AttentionMode::Supra) {
    if (int(decay_slopes.size()) != n_heads)
      fail("{}: SUPRA needs one decay slope per query head ({}), got {}", where, n_heads, decay_slopes.size());
    for (float s : decay_slopes)
      if (!(s >= 0) || !std::isfinite(s)) fail("{}: decay slopes must be finite and >= 0, got {}", where, s);
    if (separate_kv_feature_map != (n_heads != n_kv_heads))
      fail("{}: SUPRA uses a separate k feature map exactly when n_heads != n_kv_heads", where);
  }
}

nlohmann::json ModelConfig::to_json() const {
  nlohmann::json j = {
      {"source_format", source_format},
      {"architecture", architecture},
      {"dim", dim},
      {"hidden_dim", hidden_dim},
      {"n_layers", n_layers},
      {"n_heads", n_heads},
      {"n_kv_heads", n_kv_heads},
      {"head_dim", head_dim},
      {"vocab_size", vocab_size},
      {"train_ctx", train_ctx},
      {"norm_eps", norm_eps},
      {"rope_theta", rope_theta},
      {"rope_pairing", pairing_name(rope_pairing)},
      {"sliding_window", sliding_window ? nlohmann::json(*sliding_window) : nlohmann::json(nullptr)},
      {"tie_embeddings", tie_embeddings},
      {"bos_id", bos_id},
      {"eos_id", eos_id},
      {"weight_dtype", dtype_name(weight_dtype)},
      {"attention", mode_name(attention)},
  };
  if (attention == AttentionMode::Supra) {
    j["decay"] = decay_name(decay_kind);
    j["decay_slopes"] = decay_slopes;
    j["separate_kv_feature_map"] = separate_kv_feature_map;
    j["groupnorm_eps"] = groupnorm_eps;
  }
  return j;
}

std::string ModelConfig::summary() const {
  return fmt::format("{} {} ({}): D={} F={} L={} H={} Hkv={} d={} V={} ctx={} rope={} {} {}", architecture,
                     mode_name(attention), source_format, dim, hidden_dim, n_layers, n_heads, n_kv_heads, head_dim,
                     vocab_size, train_ctx, pairing_name(rope_pairing), rope_theta, dtype_name(weight_dtype));
}

}  // namespace supra
