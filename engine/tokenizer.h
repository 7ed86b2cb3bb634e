#pragma once
// The tokenizer beside the weights or given with --tokenizer: a sentencepiece `.model`, or llama2.c's own
// `tokenizer.bin` (what llama2.c models ship). One interface for callers; the kind is told by the file's bytes.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace supra {

class Tokenizer {
 public:
  // One kind of tokenizer file (tokenizer_sentencepiece.cpp, tokenizer_llama2c.cpp).
  class Impl {
   public:
    virtual ~Impl() = default;
    virtual std::vector<int32_t> encode(std::string_view text) const = 0;
    virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
    virtual std::string piece(int32_t id) const = 0;
    virtual int bos_id() const = 0;
    virtual int eos_id() const = 0;
    virtual int vocab_size() const = 0;
    virtual const char* kind() const = 0;
  };

  // Reads a sentencepiece `.model` or a llama2.c `tokenizer.bin`, whatever the file is named.
  explicit Tokenizer(const std::string& path);
  Tokenizer(std::string path, std::unique_ptr<Impl> impl);
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Token ids of `text`, no BOS/EOS (callers add them as the model's config and the task contract say).
  std::vector<int32_t> encode(std::string_view text) const { return impl_->encode(text); }
  // Text of `ids`: BOS/EOS print nothing, and the space that starts the first piece (encode's dummy prefix; for
  // llama2.c also a piece right after BOS, as run.c) is dropped, so a continuation decodes alike with either kind.
  std::string decode(const std::vector<int32_t>& ids) const { return impl_->decode(ids); }
  // The vocabulary entry of one token as stored (sentencepiece's U+2581 word marker, or llama2.c's space).
  std::string piece(int32_t id) const { return impl_->piece(id); }
  int bos_id() const { return impl_->bos_id(); }
  int eos_id() const { return impl_->eos_id(); }
  int vocab_size() const { return impl_->vocab_size(); }
  // "sentencepiece" or "llama2c".
  const char* kind() const { return impl_->kind(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace supra
