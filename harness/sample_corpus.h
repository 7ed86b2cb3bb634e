#pragma once
// A text corpus sampled from a model (uptraining data when no corpus is at hand). Story i starts at BOS and ends at
// EOS, at BOS (llama2.c models delimit stories with BOS) or at max_len tokens. Story i draws from its own generator
// seeded by (seed, i), and stories are written in index order until the written text holds `tokens` tokens; the
// batch only sets how many stories are decoded together, never the text.
#include <cstdint>
#include <ostream>
#include <string>

#include "engine/model.h"
#include "engine/tokenizer.h"

namespace supra {

// How the stories are written.
//   jsonl: one JSON record {"text": story} per line, the story exactly as decoded (newlines and paragraphs kept; a
//          byte sequence that is not UTF-8 becomes U+FFFD): the training corpus `uptrain` reads, one document each.
//   text:  the stories exactly as decoded, separated by a blank line: the form people evaluate on
//          (`perplexity --file`, ppl_by_position).
//   lines: one story per line with its newlines turned into spaces and the ends trimmed: the corpus format of the
//          bundled twin until 2026-12 (its PROVENANCE.md regenerates its corpus with it, byte for byte).
enum class CorpusFormat { Jsonl, Text, Lines };
// "jsonl" | "text" | "lines"; error otherwise.
CorpusFormat parse_corpus_format(const std::string& name);
// The format a file name implies: .jsonl -> jsonl, anything else -> text.
CorpusFormat corpus_format_for_path(const std::string& path);

struct SampleOptions {
  CorpusFormat format = CorpusFormat::Jsonl;
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
