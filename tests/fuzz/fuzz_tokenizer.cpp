// libFuzzer target: a tokenizer file, either kind (llama2.c tokenizer.bin or a sentencepiece .model, told by its
// first bytes), through Tokenizer(path); one it accepts encodes and decodes a fixed text. Seeds: the bundled
// tok512.bin and tok512.model and the shared Llama 2 tokenizer.model (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>

#include "engine/tokenizer.h"
#include "tests/fuzz/fuzz_util.h"

using namespace supra;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string f = fuzz::put(fuzz::scratch() / "tokenizer", data, size);
  fuzz::expect_refusal_or_success([&] {
    const Tokenizer tok(f);
    const std::vector<int32_t> ids = tok.encode("Once upon a time, \xC3\xA9t\xC3\xA9 <0x0A> \xF0\x9F\x99\x82 end.");
    (void)tok.decode(ids);
    for (int32_t id : ids) (void)tok.piece(id);
    if (tok.vocab_size() > 0) (void)tok.piece(tok.vocab_size() - 1);
  });
  return 0;
}
