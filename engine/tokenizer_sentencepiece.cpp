// The sentencepiece kind of Tokenizer: a ModelProto `.model`, run by libsentencepiece.
#include <sentencepiece_processor.h>

#include "core/error.h"
#include "engine/tokenizer_kinds.h"

namespace supra {

namespace {

class SentencePieceTokenizer final : public Tokenizer::Impl {
 public:
  explicit SentencePieceTokenizer(const std::string& path) : path_(path) {
    const auto status = sp_.Load(path);
    if (!status.ok())
      fail("{}: cannot load the tokenizer: not a llama2.c tokenizer.bin (its first int32, max_token_length, is not "
           "1..65535), and sentencepiece cannot read it as a .model: {}",
           path, status.ToString());
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int> ids;
    const auto status = sp_.Encode(text, &ids);
    if (!status.ok()) fail("{}: cannot encode text: {}", path_, status.ToString());
    return {ids.begin(), ids.end()};
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::vector<int> v(ids.begin(), ids.end());
    std::string out;
    const auto status = sp_.Decode(v, &out);
    if (!status.ok()) fail("{}: cannot decode ids: {}", path_, status.ToString());
    return out;
  }

  std::string piece(int32_t id) const override { return sp_.IdToPiece(id); }
  int bos_id() const override { return sp_.bos_id(); }
  int eos_id() const override { return sp_.eos_id(); }
  int vocab_size() const override { return sp_.GetPieceSize(); }
  const char* kind() const override { return "sentencepiece"; }

 private:
  std::string path_;
  sentencepiece::SentencePieceProcessor sp_;
};

}  // namespace

std::unique_ptr<Tokenizer::Impl> open_sentencepiece_tokenizer(const std::string& path) {
  return std::make_unique<SentencePieceTokenizer>(path);
}

}  // namespace supra
