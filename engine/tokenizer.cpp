// Tokenizer: tells the kind of tokenizer file by its first bytes and forwards to that kind.
#include "engine/tokenizer.h"

#include <fstream>

#include "core/error.h"
#include "engine/tokenizer_kinds.h"

namespace supra {

namespace {

std::unique_ptr<Tokenizer::Impl> open_any(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the tokenizer file", path);
  char head[4] = {};
  in.read(head, sizeof head);
  if (looks_like_llama2c_tokenizer(std::string_view(head, size_t(in.gcount())))) return open_llama2c_tokenizer(path);
  return open_sentencepiece_tokenizer(path);
}

}  // namespace

Tokenizer::Tokenizer(const std::string& path) : path_(path), impl_(open_any(path)) {}

Tokenizer::Tokenizer(std::string path, std::unique_ptr<Impl> impl) : path_(std::move(path)), impl_(std::move(impl)) {
  if (!impl_) fail("{}: no tokenizer implementation given", path_);
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

}  // namespace supra
