#pragma once
// The completions server's prefix cache: the model state after a recently scored token prefix, with what scoring
// it produced (each token's log-probability and top alternatives, and the log-softmax row that predicts the token
// after it), so a prompt that starts with that prefix forks the state and feeds only the rest. lm-eval sends one
// request per answer choice with the same context: the context is computed once and each choice goes on from a
// fork. Bounded by bytes (states dominate: a KV cache grows with the prefix, a SUPRA state does not); the least
// recently used entries go first. Used by the engine thread only (no locking).
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "engine/sequence_state.h"

namespace supra {

// One scored position: the log-probability of the token there given the ones before it, and the k most likely
// tokens at that position with their log-probabilities (highest first).
struct TokenScore {
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;
};

struct CachedPrefix {
  std::vector<int32_t> tokens;                 // the prefix, p tokens
  std::unique_ptr<SequenceState> state;        // after all p tokens
  std::vector<TokenScore> scores;              // [p]; scores[0] is unused (the first token has no prediction)
  int top_k = 0;                               // alternatives kept per position
  std::vector<float> next_row;                 // log-softmax [V] at position p-1: predicts the token after the prefix
  bool rewindable = false;                     // state->fork_prefix works (a KV cache): a shorter prefix is usable
  size_t bytes() const;
};

// Where a prompt goes on from a cached entry: a fork of its state after `resume` tokens of the prompt. `resume` is
// the entry's length when the entry is a prefix of the prompt (its next_row then scores the token after it), else
// (a rewindable entry sharing m >= 2 tokens with the prompt) m - 1, so the prompt's token m - 1 is fed again to
// score token m.
struct CacheHit {
  std::shared_ptr<const CachedPrefix> entry;
  size_t resume = 0;
  bool whole() const { return entry && resume == entry->tokens.size(); }
  // The entry's state cut to `resume` tokens (a fork).
  std::unique_ptr<SequenceState> fork() const;
};

class PrefixCache {
 public:
  explicit PrefixCache(size_t budget_bytes) : budget_(budget_bytes) {}
  bool enabled() const { return budget_ > 0; }
  // Of the entries that kept at least `top_k` alternatives per position, the one a prompt resumes from furthest
  // (an entry that is a prefix of the prompt, or a rewindable one cut to the part it shares); an empty hit when
  // none. Marks it recently used.
  CacheHit best(std::span<const int32_t> prompt, int top_k);
  // Keeps the entry when it fits the budget, evicting the least recently used ones. The same tokens replace an
  // older entry.
  void insert(std::shared_ptr<const CachedPrefix> entry);

  // Recently seen prompts (tokens only, no state): where a new prompt parts from one of them is a likely shared
  // context (the end of lm-eval's context before its answer choices), worth a state in the cache.
  void remember(std::span<const int32_t> prompt);
  // The longest common prefix of `prompt` with any remembered prompt or cached entry (0 when none).
  size_t longest_common_prefix(std::span<const int32_t> prompt) const;

  size_t bytes() const { return bytes_; }
  size_t entries() const { return entries_.size(); }

 private:
  size_t budget_;
  size_t bytes_ = 0;
  std::list<std::shared_ptr<const CachedPrefix>> entries_;  // most recently used first
  std::list<std::vector<int32_t>> seen_;                    // most recent first
  size_t seen_tokens_ = 0;
};

}  // namespace supra
