#pragma once
// A text corpus sampled from a model (uptraining data when no corpus is at hand). Story i starts at BOS and ends at
// EOS, at BOS (llama2.c models delimit stories with BOS) or at max_len tokens; it is written as one line (newlines
// inside a story become spaces, so a line is a document for `uptrain`). Story i draws from its own generator seeded
// by (seed, i), and stories are written in index order until the written text holds `tokens` tokens; the batch only
// sets how many stories are decoded together, never the text.
#include <cstdint>
#include <ostream>

#include "engine/model.h"
#include "engine/tokenizer.h"

namespace supra {

struct SampleOptions {
  int64_t tokens = 0;        // stop once the written stories hold this many tokens
  double temperature = 1.0;  // 0: greedy
  uint64_t seed = 0;
  int batch = 32;            // stories decoded together
  int64_t max_len = 0;       // longest story in tokens, BOS included; 0: the model's training context
};

struct SampleStats {
  int64_t stories = 0, tokens = 0;  // written
  int64_t max_len = 0;              // the story length limit used
  int64_t decoded = 0;              // tokens decoded (written or not)
  double seconds = 0;
};

SampleStats sample_corpus(Model& m, const Tokenizer& tok, const SampleOptions& o, std::ostream& out);

}  // namespace supra
