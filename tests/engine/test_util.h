#pragma once
// Helpers shared by the engine tests: small random models and logits of a whole token sequence.
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/model.h"

namespace supra::test {

inline std::string repo_path(const std::string& rel) { return std::string(SUPRA_SOURCE_DIR) + "/" + rel; }

// A small random model of the given shape; SUPRA mode adds feature maps as the converter does.
inline Checkpoint small_model(int heads, int kv_heads, AttentionMode mode, int ctx = 128, uint64_t seed = 7) {
  const std::string spec = "dim=" + std::to_string(heads * 16) + ",hidden=96,layers=2,heads=" +
                           std::to_string(heads) + ",kv_heads=" + std::to_string(kv_heads) +
                           ",vocab=97,ctx=" + std::to_string(ctx);
  Checkpoint ck = random_checkpoint(named_shape(spec), DType::F32, seed);
  if (mode == AttentionMode::Supra) add_supra_feature_maps(ck, seed + 1);
  return ck;
}

inline std::vector<int32_t> random_tokens(int64_t n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> d(0, vocab - 1);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = d(rng);
  return t;
}

// Logits [n, V] of `tokens` fed in pieces of `piece` tokens into one fresh state (piece 1 = incremental decoding).
inline std::vector<float> logits_of(Model& m, const std::vector<int32_t>& tokens, int64_t piece,
                                    SequenceState* state = nullptr) {
  std::unique_ptr<SequenceState> own;
  if (!state) {
    own = m.new_state();
    state = own.get();
  }
  const int64_t V = m.config().vocab_size;
  std::vector<float> out;
  Tensor hidden, logits;
  for (size_t i = 0; i < tokens.size(); i += size_t(piece)) {
    const size_t n = std::min(tokens.size() - i, size_t(piece));
    SeqInput in{state, std::span<const int32_t>(tokens.data() + i, n)};
    m.forward(std::span<const SeqInput>(&in, 1), &hidden);
    m.logits(hidden, logits);
    std::vector<float> host(n * size_t(V));
    m.backend().to_host(logits, host.data());
    out.insert(out.end(), host.begin(), host.end());
  }
  return out;
}

// max |a - b| / max |b|: relative error normalised by the reference's scale.
inline double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); i++) {
    num = std::max(num, std::abs(double(a[i]) - double(b[i])));
    den = std::max(den, std::abs(double(b[i])));
  }
  return den > 0 ? num / den : num;
}

}  // namespace supra::test
