// lm-eval's encoding of (context, continuation): continuation tokens are enc(ctx + cont)[len(enc(ctx)):], trailing
// context whitespace moves into the continuation, an empty context becomes BOS.
#include <catch2/catch.hpp>

#include "harness/request_encoding.h"

using namespace supra;

namespace {
const Tokenizer& tok512() {
  static Tokenizer t(std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/tok512.model");
  return t;
}
}  // namespace

TEST_CASE("continuation tokens come from encoding the whole string", "[encoding]") {
  const Tokenizer& tok = tok512();
  const auto r = encode_pair(tok, "The cat sat on the", " mat", false);
  CHECK(r.context == tok.encode("The cat sat on the"));
  const auto whole = tok.encode("The cat sat on the mat");
  CHECK(r.continuation == std::vector<int32_t>(whole.begin() + long(r.context.size()), whole.end()));
  // On a word boundary the tail equals enc(" mat") (sentencepiece folds the leading space into its "▁" marker).
  CHECK(tok.encode(" mat") == r.continuation);
}

TEST_CASE("a context split inside a word still gives the whole string's tokens", "[encoding]") {
  const Tokenizer& tok = tok512();
  const auto r = encode_pair(tok, "Once upon a ti", "me, there was a little girl", false);
  const auto whole = tok.encode("Once upon a time, there was a little girl");
  // enc(ctx) is a prefix of enc(ctx + cont) only when the split falls on a token boundary; either way the
  // continuation is the tail of the whole encoding after len(enc(ctx)) tokens.
  CHECK(r.continuation == std::vector<int32_t>(whole.begin() + long(r.context.size()), whole.end()));
  // Here the two differ: enc("me, there ...") starts a new word "▁me" the whole string never has.
  CHECK(tok.encode("me, there was a little girl") != r.continuation);
}

TEST_CASE("a continuation swallowed by the context's last token is refused", "[encoding]") {
  CHECK_THROWS_WITH(encode_pair(tok512(), "Once upon a ti", "me", false), Catch::Contains("leaves no tokens"));
}

TEST_CASE("trailing context spaces move to the continuation - empty context becomes BOS", "[encoding]") {
  const Tokenizer& tok = tok512();
  const auto a = encode_pair(tok, "Answer: ", "yes", false);
  const auto b = encode_pair(tok, "Answer:", " yes", false);
  CHECK(a.context == b.context);
  CHECK(a.continuation == b.continuation);
  const auto e = encode_pair(tok, "", "Once upon a time", false);
  CHECK(e.context == std::vector<int32_t>{tok.bos_id()});
  CHECK(e.continuation == tok.encode("Once upon a time"));
  const auto bos = encode_pair(tok, "Answer:", " yes", true);
  CHECK(bos.context.front() == tok.bos_id());
  CHECK(bos.continuation == b.continuation);
}
