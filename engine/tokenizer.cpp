#include "engine/tokenizer.h"

#include <sentencepiece_processor.h>

#include "engine/error.h"

namespace supra {

Tokenizer::Tokenizer(const std::string& model_path)
    : path_(model_path), sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = sp_->Load(model_path);
  if (!status.ok()) fail("{}: cannot load the sentencepiece tokenizer: {}", model_path, status.ToString());
}

Tokenizer::~Tokenizer() = default;

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto status = sp_->Encode(text, &ids);
  if (!status.ok()) fail("{}: cannot encode text: {}", path_, status.ToString());
  return {ids.begin(), ids.end()};
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::vector<int> v(ids.begin(), ids.end());
  std::string out;
  const auto status = sp_->Decode(v, &out);
  if (!status.ok()) fail("{}: cannot decode ids: {}", path_, status.ToString());
  return out;
}

std::string Tokenizer::piece(int32_t id) const { return sp_->IdToPiece(id); }
int Tokenizer::bos_id() const { return sp_->bos_id(); }
int Tokenizer::eos_id() const { return sp_->eos_id(); }
int Tokenizer::vocab_size() const { return sp_->GetPieceSize(); }

}  // namespace supra
