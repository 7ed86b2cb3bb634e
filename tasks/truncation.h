#pragma once
// Fitting a long prompt into a context of L tokens while leaving room for G generated tokens (EVALUATION.md §6).
//
// A prompt is three token spans in order: prefix (instruction, few-shot examples), document, suffix (the query and
// the answer prefix, e.g. "\n\nQuestion: ...\nAnswer:"). The input budget is B = L - G (G = 0 for scoring requests
// that generate nothing). When the whole prompt fits in B nothing is cut, whatever the policy.
//
//   left     lm-eval: keep the last B tokens of the whole prompt (generate_until truncates its context to
//            max_length - max_gen_toks from the left). Loses the start of the prompt: instruction first, then
//            the start of the document.
//   doc_end  ZeroSCROLLS (the default for SCROLLS-style tasks): keep prefix and suffix whole and cut the END of the
//            document, keeping its first B - |prefix| - |suffix| tokens.
//   middle   LongBench: keep prefix and suffix whole, keep the first ceil(D/2) and the last floor(D/2) tokens of the
//            document where D = B - |prefix| - |suffix|, drop its middle. (LongBench itself cuts the whole prompt
//            and keeps 2*floor(D/2), wasting a token on odd budgets; we cut only the document and use all of D.)
//
// When prefix + suffix alone exceed B, doc_end and middle cannot keep their promise. Rather than abort a sweep
// (a 2-shot prompt at 2k can do this), they fall back to `left` on the whole prompt and say so: `fell_back` is true
// and `applied` is TruncationPolicy::Left. Callers store both, so such samples can be counted or excluded later.
// A budget B <= 0 (G >= L) is an error, as in lm-eval.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace supra::tasks {

enum class TruncationPolicy { Left, DocEnd, Middle };

// The one table of policy names, as stored in the run key and in samples: "left", "doc_end", "middle".
inline constexpr std::array<std::pair<TruncationPolicy, std::string_view>, 3> kTruncationPolicyNames = {{
    {TruncationPolicy::Left, "left"},
    {TruncationPolicy::DocEnd, "doc_end"},
    {TruncationPolicy::Middle, "middle"},
}};

// A name of the table; anything else is an error that lists the valid names.
TruncationPolicy parse_truncation_policy(std::string_view name);
std::string_view truncation_policy_name(TruncationPolicy policy);

// A prompt's tokens in its three parts (the tokenized PromptText of a request), cut by truncate_prompt.
struct PromptTokens {
  std::span<const int32_t> prefix;
  std::span<const int32_t> document;
  std::span<const int32_t> suffix;
};

struct Truncated {
  std::vector<int32_t> tokens;  // the kept prompt, in order
  size_t input = 0;             // |prefix| + |document| + |suffix|
  size_t kept = 0;              // tokens.size()
  size_t dropped = 0;           // input - kept
  TruncationPolicy requested = TruncationPolicy::Left;
  TruncationPolicy applied = TruncationPolicy::Left;  // differs from requested only when fell_back
  bool fell_back = false;       // doc_end/middle could not keep prefix + suffix whole and used `left`
};

// context_length = L, generation_budget = G.
Truncated truncate_prompt(const PromptTokens& parts, TruncationPolicy policy, size_t context_length,
                          size_t generation_budget);

}  // namespace supra::tasks
