#include "harness/request_encoding.h"

#include "engine/error.h"

namespace supra {

std::vector<int32_t> encode_text(const Tokenizer& tok, const std::string& text, bool add_bos) {
  std::vector<int32_t> ids;
  if (add_bos) ids.push_back(tok.bos_id());
  auto t = tok.encode(text);
  ids.insert(ids.end(), t.begin(), t.end());
  return ids;
}

LoglikelihoodRequest encode_pair(const Tokenizer& tok, const std::string& context, const std::string& continuation,
                                 bool add_bos) {
  LoglikelihoodRequest r;
  if (context.empty()) {
    if (tok.bos_id() < 0) fail("{}: an empty context needs a BOS token, and this tokenizer has none", tok.path());
    r.context = {tok.bos_id()};
    r.continuation = encode_text(tok, continuation, false);
    return r;
  }
  // Python's str.rstrip() whitespace, ASCII part (the contexts of our tasks end in ASCII when they end in space).
  size_t end = context.size();
  while (end > 0 && std::string(" \t\n\r\f\v").find(context[end - 1]) != std::string::npos) end--;
  const std::string ctx = context.substr(0, end);
  const std::string cont = context.substr(end) + continuation;
  const auto whole = encode_text(tok, ctx + cont, add_bos);
  r.context = encode_text(tok, ctx, add_bos);
  // lm-eval takes whole[len(enc(ctx)):] even when the split falls inside a token; it is empty only when the
  // continuation merged entirely into the context's last token, which no score can be given for.
  if (r.context.size() >= whole.size())
    fail("tokenizer {}: continuation '{}' leaves no tokens after enc(context) (context ends '{}')", tok.path(),
         cont.substr(0, 40), ctx.substr(ctx.size() > 40 ? ctx.size() - 40 : 0));
  r.continuation.assign(whole.begin() + long(r.context.size()), whole.end());
  if (r.context.empty()) r.context = {tok.bos_id()};  // context of only whitespace
  return r;
}

}  // namespace supra
