#pragma once
// Helpers shared by the engine tests: small random models and logits of a whole token sequence.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/cpu_gemm.h"
#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/model.h"
#include "tests/common/tolerance.h"

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
inline double rel_err(const std::vector<float>& a, const std::vector<float>& b) { return normwise_rel(a, b); }

// Normwise bound for two fp32 evaluations of one model's logits at `tokens` positions that differ only in the
// order of their sums (kernel, threads, chunking, cache): gamma of the forward pass's reduction chain.
inline double reorder_tol(const ModelConfig& c, int64_t tokens) {
  return gamma_k(forward_chain(c.n_layers, c.dim, c.hidden_dim, c.head_dim, tokens), kUnitF32);
}

// Normwise bound for logits of a model whose weights (and, with rounded_operands = 2, activations) are rounded to a
// dtype of unit roundoff u, against the fp32 model: rounding an operand perturbs each product by at most u relative
// to the sum of |terms|, once per weight matrix on the chain (to first order): per layer the attention norm, q/k/v,
// o, the FFN norm, w1/w3 and w2; then the embedding, the final norm and the classifier. Plus reordering.
inline double rounded_tol(const ModelConfig& c, int64_t tokens, double u, int rounded_operands = 1) {
  return (6.0 * c.n_layers + 3) * rounded_operands * u + reorder_tol(c, tokens);
}

// Bound on the difference of two summed log-probabilities of `n_tokens` tokens read from logits at `positions`
// positions whose largest magnitude is `logit_scale`, computed in different orders: each token's logprob (its logit
// minus the log-sum-exp of its row) moves by at most twice the logits' absolute error.
inline double logprob_tol(const ModelConfig& c, int64_t positions, int64_t n_tokens, double logit_scale) {
  return 2.0 * double(n_tokens) * reorder_tol(c, positions) * logit_scale;
}

// Largest |logit| over every position of `tokens` read in one pass: the scale of logprob comparisons.
inline double logit_scale(Model& m, const std::vector<int32_t>& tokens) {
  double s = 0;
  for (float x : logits_of(m, tokens, int64_t(tokens.size()))) s = std::max(s, double(std::abs(x)));
  return s;
}

// oneDNN's brgemm (AVX-512) makes CPU matmul rows bitwise independent of the other rows of a call and gives bf16
// compute; without it a test of either prints why it is skipped (ctest reports "SKIPPED:") and returns true.
inline bool skip_without_brgemm(const char* what) {
  if (cpu::gemm_batch_invariant()) return false;
  std::printf("SKIPPED: %s needs oneDNN's brgemm (AVX-512), which this CPU lacks\n", what);
  return true;
}

}  // namespace supra::test
