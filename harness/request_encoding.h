#pragma once
// Task requests (strings) to engine requests (token ids), exactly as lm-eval's HFLM encodes them
// (EVALUATION.md section 2).
#include <string>
#include <vector>

#include "engine/scorer.h"
#include "engine/tokenizer.h"

namespace supra {

// Trailing whitespace of the context moves to the front of the continuation; continuation tokens are
// enc(ctx + cont)[len(enc(ctx)):]; an empty context becomes [BOS] with enc(cont). With add_bos, BOS starts every
// encoding (lm-eval's add_bos_token).
LoglikelihoodRequest encode_pair(const Tokenizer& tok, const std::string& context, const std::string& continuation,
                                 bool add_bos);

// Tokens of a text, with BOS first when add_bos.
std::vector<int32_t> encode_text(const Tokenizer& tok, const std::string& text, bool add_bos);

}  // namespace supra
