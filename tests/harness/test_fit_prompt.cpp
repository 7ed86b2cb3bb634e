// Long-input requests: prompt parts are tokenized as one string, split at part boundaries and cut by the policy.
// The query and answer prefix survive doc_end; counts are what was cut.
#include <catch2/catch.hpp>

#include "harness/request_encoding.h"

using namespace supra;

namespace {

const Tokenizer& tok512() {
  static Tokenizer t(std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/tok512.model");
  return t;
}

std::string words(int n) {
  std::string s;
  for (int i = 0; i < n; i++) s += (i ? " " : "") + std::string(i % 2 ? "The dog ran home." : "Lily saw a cat.");
  return s;
}

bool ends_with(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  return a.size() >= b.size() && std::equal(b.begin(), b.end(), a.end() - long(b.size()));
}

}  // namespace

TEST_CASE("fit_prompt keeps prefix and suffix under doc_end and middle, and counts the cut", "[truncation]") {
  const Tokenizer& tok = tok512();
  const tasks::PromptText parts{"Read this.\n\n", words(200), "\n\nQuestion: Who ran home?\nAnswer:"};
  const auto whole = encode_text(tok, parts.prefix + parts.document + parts.suffix, false);
  const auto suffix_tokens = std::vector<int32_t>(whole.end() - 12, whole.end());
  for (auto policy : {tasks::TruncationPolicy::DocEnd, tasks::TruncationPolicy::Middle}) {
    const FittedPrompt f = fit_prompt(tok, parts, false, policy, 256, 32);
    CHECK(f.truncated.input == whole.size());
    CHECK(f.truncated.kept == 256 - 32);
    CHECK(f.truncated.dropped == whole.size() - (256 - 32));
    CHECK_FALSE(f.truncated.fell_back);
    CHECK(ends_with(f.truncated.tokens, suffix_tokens));  // query and answer prefix survive
    CHECK(std::equal(whole.begin(), whole.begin() + 4, f.truncated.tokens.begin()));  // so does the instruction
  }
  // left keeps the end of the whole prompt and loses the instruction.
  const FittedPrompt l = fit_prompt(tok, parts, false, tasks::TruncationPolicy::Left, 256, 32);
  CHECK(l.truncated.tokens == std::vector<int32_t>(whole.end() - 224, whole.end()));
  // A prompt that fits is not cut, whatever the policy.
  const FittedPrompt fits = fit_prompt(tok, parts, false, tasks::TruncationPolicy::DocEnd, 8192, 32);
  CHECK(fits.truncated.tokens == whole);
  CHECK(fits.truncated.dropped == 0);
}

TEST_CASE("fit_pair cuts the document to leave room for the whole continuation", "[truncation]") {
  const Tokenizer& tok = tok512();
  const tasks::PromptText parts{"", words(100), "\n\nHypothesis: A cat.\nConclusion:"};
  const FittedPrompt f = fit_pair(tok, parts, " Not mentioned", false, tasks::TruncationPolicy::DocEnd, 128);
  const LoglikelihoodRequest ref = encode_pair(tok, parts.document + parts.suffix, " Not mentioned", false);
  CHECK(f.continuation == ref.continuation);
  CHECK(f.truncated.tokens.size() + f.continuation.size() == 128 + 1);  // the model reads 128: the last is a target
  CHECK(ends_with(f.truncated.tokens, std::vector<int32_t>(ref.context.end() - 8, ref.context.end())));
  CHECK(f.truncated.dropped == ref.context.size() - f.truncated.tokens.size());
}

// lm-eval's loglikelihood window: the model reads (ctx + cont)[-(L+1):][:-1], L tokens, and scores cont's tokens.
// The prompt-parts path under `left` must give the model the same L tokens as that formula, computed here by hand.
TEST_CASE("fit_pair under left gives the model lm-eval's window of L input tokens", "[truncation]") {
  const Tokenizer& tok = tok512();
  const tasks::PromptText parts{"Read this.\n\n", words(60), "\n\nQuestion: Who ran home?\nAnswer:"};
  const std::string cont = " The dog";
  const LoglikelihoodRequest ref = encode_pair(tok, parts.prefix + parts.document + parts.suffix, cont, false);
  for (const int64_t L : {int64_t(32), int64_t(100)}) {
    const FittedPrompt f = fit_pair(tok, parts, cont, false, tasks::TruncationPolicy::Left, L);
    REQUIRE(f.continuation == ref.continuation);
    // By hand: full = ctx + cont; window = full[size - (L + 1), size - 1).
    std::vector<int32_t> full(ref.context);
    full.insert(full.end(), ref.continuation.begin(), ref.continuation.end());
    REQUIRE(int64_t(full.size()) > L + 1);  // the cut matters
    const std::vector<int32_t> window(full.end() - (L + 1), full.end() - 1);
    // What the model reads from the fitted request: prompt + continuation[:-1].
    std::vector<int32_t> seen(f.truncated.tokens);
    seen.insert(seen.end(), f.continuation.begin(), f.continuation.end() - 1);
    CHECK(int64_t(seen.size()) == L);
    CHECK(seen == window);
    CHECK(f.truncated.dropped == full.size() - size_t(L + 1));
  }
}

TEST_CASE("fit_pair cut for the longest choice gives every choice of a question the same prompt", "[truncation]") {
  const Tokenizer& tok = tok512();
  const tasks::PromptText parts{"", words(100), "\n\nQuestion: Who ran?\nAnswer:"};
  const std::vector<std::string> choices = {" A cat", " The dog ran home to Lily and the cat", " Lily"};
  int64_t longest = 0;
  for (const auto& c : choices)
    longest = std::max<int64_t>(longest, int64_t(encode_pair(tok, parts.document + parts.suffix, c, false).continuation.size()));
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& c : choices) {
    const FittedPrompt f = fit_pair(tok, parts, c, false, tasks::TruncationPolicy::DocEnd, 128, longest);
    CHECK(int64_t(f.truncated.tokens.size()) + longest == 128 + 1);  // the longest choice's model input is L
    prompts.push_back(f.truncated.tokens);
  }
  CHECK(prompts[0] == prompts[1]);
  CHECK(prompts[1] == prompts[2]);
}
