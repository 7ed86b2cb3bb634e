#include "tasks/truncation.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace supra::tasks {
namespace {

void append(std::vector<int32_t>& out, std::span<const int32_t> part) { out.insert(out.end(), part.begin(), part.end()); }

// The last `budget` tokens of prefix + document + suffix.
std::vector<int32_t> keep_last(const PromptTokens& p, size_t budget) {
  std::vector<int32_t> all;
  all.reserve(p.prefix.size() + p.document.size() + p.suffix.size());
  append(all, p.prefix);
  append(all, p.document);
  append(all, p.suffix);
  if (all.size() > budget) all.erase(all.begin(), all.end() - std::ptrdiff_t(budget));
  return all;
}

}  // namespace

TruncationPolicy parse_truncation_policy(std::string_view name) {
  for (const auto& [policy, policy_name] : kTruncationPolicyNames)
    if (name == policy_name) return policy;
  std::vector<std::string_view> names;
  for (const auto& entry : kTruncationPolicyNames) names.push_back(entry.second);
  fail("unknown truncation policy '{}': expected one of {}", name, fmt::join(names, ", "));
}

std::string_view truncation_policy_name(TruncationPolicy policy) {
  for (const auto& [p, name] : kTruncationPolicyNames)
    if (p == policy) return name;
  return "?";
}

Truncated truncate_prompt(const PromptTokens& parts, TruncationPolicy policy, size_t context_length,
                          size_t generation_budget) {
  if (generation_budget >= context_length) {
    fail("truncation: generation budget {} leaves no room for the prompt in a context of {} tokens",
         generation_budget, context_length);
  }
  const size_t budget = context_length - generation_budget;
  const size_t frame = parts.prefix.size() + parts.suffix.size();
  const size_t doc = parts.document.size();

  Truncated r;
  r.input = frame + doc;
  r.requested = policy;
  r.applied = policy;

  if (r.input <= budget) {
    r.tokens = keep_last(parts, budget);  // everything fits: nothing is cut
  } else if (policy == TruncationPolicy::Left) {
    r.tokens = keep_last(parts, budget);
  } else if (frame > budget) {
    r.fell_back = true;
    r.applied = TruncationPolicy::Left;
    r.tokens = keep_last(parts, budget);
  } else {
    const size_t doc_budget = budget - frame;  // < doc, since the whole prompt did not fit
    r.tokens.reserve(budget);
    append(r.tokens, parts.prefix);
    if (policy == TruncationPolicy::DocEnd) {
      append(r.tokens, parts.document.first(doc_budget));
    } else {
      const size_t head = doc_budget - doc_budget / 2, tail = doc_budget / 2;
      append(r.tokens, parts.document.first(head));
      append(r.tokens, parts.document.last(tail));
    }
    append(r.tokens, parts.suffix);
  }
  r.kept = r.tokens.size();
  r.dropped = r.input - r.kept;
  return r;
}

}  // namespace supra::tasks
