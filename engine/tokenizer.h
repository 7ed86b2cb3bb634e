#pragma once
// SentencePiece tokenizer (the `.model` file beside the weights or given with --tokenizer).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace supra {

class Tokenizer {
 public:
  explicit Tokenizer(const std::string& model_path);
  ~Tokenizer();
  // Token ids of `text`, no BOS/EOS (callers add them as the model's config and the task contract say).
  std::vector<int32_t> encode(std::string_view text) const;
  std::string decode(const std::vector<int32_t>& ids) const;
  // The text a single token contributes after `prev` (handles the leading-space marker and byte pieces).
  std::string piece(int32_t id) const;
  int bos_id() const;
  int eos_id() const;
  int vocab_size() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
};

}  // namespace supra
