#pragma once
// Training data: a corpus file becomes one token stream of documents, each encoded as BOS + its tokens (as llama2.c's
// pretokenizer writes TinyStories), cut into packed fixed-length sequences of L+1 tokens
// that overlap by one token (the last token of one is the first of the next), so every token is a target once.
// Training visits them in a seeded random order per epoch; the position (epoch, index) is all that a resumed run
// needs to continue the same order.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tokenizer.h"

namespace supra::train {

// The token stream of a corpus file. A .jsonl file holds one document per line as a JSON object with a string field
// "text" (multi-line documents kept: what `sample` writes); any other file is one document per non-empty line.
// Errors name the file and line.
std::vector<int32_t> tokenize_corpus(const std::string& file, const Tokenizer& tok);

class PackedData {
 public:
  PackedData(std::vector<int32_t> tokens, int seq_len, uint64_t seed);
  int seq_len() const { return L_; }
  int64_t n_sequences() const { return n_; }
  int64_t n_tokens() const { return int64_t(tokens_.size()); }
  // Sequence i (in file order): L+1 tokens.
  const int32_t* sequence(int64_t i) const { return tokens_.data() + i * L_; }

  struct Cursor {
    int64_t epoch = 0, index = 0;  // next sequence: order(epoch)[index]
  };
  // Fills out[B, L+1] with the next B sequences of the seeded order and advances the cursor (a new epoch
  // reshuffles).
  void next_batch(Cursor& c, int B, std::vector<int32_t>& out) const;
  // The visiting order of an epoch: a Fisher-Yates shuffle driven by splitmix64(seed, epoch), so the same seed
  // gives the same order on every machine and library version.
  std::vector<int64_t> order(int64_t epoch) const;

 private:
  std::vector<int32_t> tokens_;
  int L_;
  uint64_t seed_;
  int64_t n_;
  mutable int64_t cached_epoch_ = -1;
  mutable std::vector<int64_t> cached_order_;
};

}  // namespace supra::train
