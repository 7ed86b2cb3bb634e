#pragma once
// The tokenizer kinds Tokenizer(path) chooses between (engine-internal).
#include <memory>
#include <string>
#include <string_view>

#include "engine/tokenizer.h"

namespace supra {

// A sentencepiece ModelProto (`.model`).
std::unique_ptr<Tokenizer::Impl> open_sentencepiece_tokenizer(const std::string& path);

// llama2.c's `tokenizer.bin`: int32 max_token_length, then per token float32 score, int32 length, bytes.
std::unique_ptr<Tokenizer::Impl> open_llama2c_tokenizer(const std::string& path);

// Whether the file's first bytes are a llama2.c tokenizer.bin header. A sentencepiece ModelProto starts with the
// tag of its first piece (0x0a), the piece's varint length, then 0x0a again: read as a little-endian int32 that
// is at least 0x0a0000, while llama2.c's max_token_length is a few dozen bytes.
bool looks_like_llama2c_tokenizer(std::string_view first_bytes);

}  // namespace supra
