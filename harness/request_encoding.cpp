#include "harness/request_encoding.h"

#include <algorithm>

#include "core/error.h"

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

namespace {

// Splits the tokens of the whole prompt into prefix / document / suffix spans and applies the policy.
tasks::Truncated cut(const Tokenizer& tok, const tasks::PromptText& parts, const std::vector<int32_t>& whole,
                       bool add_bos, tasks::TruncationPolicy policy, int64_t ctx, int64_t budget_used) {
  if (ctx - budget_used <= 0)
    fail("a generation budget or continuation of {} tokens leaves no room for the prompt at --ctx {}", budget_used,
         ctx);
  const size_t n = whole.size();
  const size_t a = std::min(n, encode_text(tok, parts.prefix, add_bos).size());
  const size_t b = std::clamp(encode_text(tok, parts.prefix + parts.document, add_bos).size(), a, n);
  const std::span<const int32_t> all(whole);
  tasks::PromptTokens p{all.subspan(0, a), all.subspan(a, b - a), all.subspan(b)};
  return tasks::truncate_prompt(p, policy, size_t(ctx), size_t(budget_used));
}

}  // namespace

FittedPrompt fit_prompt(const Tokenizer& tok, const tasks::PromptText& parts, bool add_bos,
                        tasks::TruncationPolicy policy, int64_t ctx, int64_t max_gen_toks) {
  FittedPrompt f;
  auto whole = encode_text(tok, parts.prefix + parts.document + parts.suffix, add_bos);
  if (whole.empty()) whole = {tok.bos_id()};
  f.truncated = cut(tok, parts, whole, add_bos, policy, ctx, max_gen_toks);
  return f;
}

FittedPrompt fit_pair(const Tokenizer& tok, const tasks::PromptText& parts, const std::string& continuation,
                      bool add_bos, tasks::TruncationPolicy policy, int64_t ctx, int64_t room_for) {
  FittedPrompt f;
  LoglikelihoodRequest r = encode_pair(tok, parts.prefix + parts.document + parts.suffix, continuation, add_bos);
  f.continuation = std::move(r.continuation);
  // The model reads prompt + continuation[:-1] (the last continuation token is only a target), so the prompt may
  // keep L + 1 - |continuation| tokens: under `left` that is lm-eval's window (ctx + cont)[-(L+1):][:-1] exactly.
  const int64_t room = std::max(int64_t(f.continuation.size()), room_for);
  f.truncated = cut(tok, parts, r.context, add_bos, policy, ctx, room - 1);
  return f;
}

}  // namespace supra
