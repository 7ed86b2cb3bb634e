#pragma once
// Task requests (strings) to engine requests (token ids), exactly as lm-eval's HFLM encodes them
// (EVALUATION.md section 2).
#include <string>
#include <vector>

#include "engine/scorer.h"
#include "engine/tokenizer.h"
#include "tasks/task.h"
#include "tasks/truncation.h"

namespace supra {

// Trailing whitespace of the context moves to the front of the continuation; continuation tokens are
// enc(ctx + cont)[len(enc(ctx)):]; an empty context becomes [BOS] with enc(cont). With add_bos, BOS starts every
// encoding (lm-eval's add_bos_token).
LoglikelihoodRequest encode_pair(const Tokenizer& tok, const std::string& context, const std::string& continuation,
                                 bool add_bos);

// Tokens of a text, with BOS first when add_bos.
std::vector<int32_t> encode_text(const Tokenizer& tok, const std::string& text, bool add_bos);

// A long-input prompt cut to fit the context by a truncation policy (EVALUATION.md section 6).
struct FittedPrompt {
  tasks::Truncated truncated;         // kept prompt tokens and the input / kept / dropped counts
  std::vector<int32_t> continuation;  // fit_pair only
};

// The prompt prefix + document + suffix is tokenized as ONE string (as lm-eval does), then split into the three
// spans at the token boundaries of enc(prefix) and enc(prefix + document), so cutting the document never changes
// how the rest tokenizes. BOS (add_bos) belongs to the prefix. Budget: L - max_gen_toks.
FittedPrompt fit_prompt(const Tokenizer& tok, const tasks::PromptText& parts, bool add_bos,
                        tasks::TruncationPolicy policy, int64_t ctx, int64_t max_gen_toks);

// The same for a loglikelihood request: the continuation is encoded as encode_pair does against the whole prompt,
// and the prompt is cut to L + 1 - len(continuation) tokens, so the model reads at most L tokens (prompt +
// continuation[:-1]) and scores every continuation token with nothing cut; under `left` this is lm-eval's window
// (ctx + cont)[-(L+1):][:-1].
// `room_for` > len(continuation) cuts the prompt as for a continuation of that many tokens: the choices of one
// question, cut for the longest, then share one prompt (the scorer computes it once and forks it per choice).
FittedPrompt fit_pair(const Tokenizer& tok, const tasks::PromptText& parts, const std::string& continuation,
                      bool add_bos, tasks::TruncationPolicy policy, int64_t ctx, int64_t room_for = 0);

}  // namespace supra
