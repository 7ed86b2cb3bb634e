#include "harness/prefix_cache.h"

#include <algorithm>

#include "core/error.h"

namespace supra {

namespace {

// Remembered prompts are tokens only; this bounds their memory independently of the state budget.
constexpr size_t kSeenTokens = size_t(1) << 20;
constexpr size_t kSeenPrompts = 4096;

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) i++;
  return i;
}

}  // namespace

size_t CachedPrefix::bytes() const {
  size_t b = sizeof(*this) + tokens.size() * sizeof(int32_t) + next_row.size() * sizeof(float);
  if (state) b += state->bytes();
  for (const TokenScore& s : scores) b += sizeof(s) + s.top.size() * sizeof(s.top[0]);
  return b;
}

std::unique_ptr<SequenceState> CacheHit::fork() const {
  if (whole()) return entry->state->fork();
  auto f = entry->state->fork_prefix(int64_t(resume));
  if (!f) fail("prefix cache: internal error: a state that cannot be cut was used as rewindable");
  return f;
}

CacheHit PrefixCache::best(std::span<const int32_t> prompt, int top_k) {
  CacheHit hit;
  auto at = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    const CachedPrefix& e = **it;
    if (e.top_k < top_k) continue;
    const size_t m = common_prefix(e.tokens, prompt);
    size_t resume = 0;
    if (m == e.tokens.size())
      resume = m;
    else if (e.rewindable && m >= 2)
      resume = m - 1;
    if (resume > hit.resume) {
      hit = {*it, resume};
      at = it;
    }
  }
  if (at != entries_.end()) entries_.splice(entries_.begin(), entries_, at);
  return hit;
}

void PrefixCache::insert(std::shared_ptr<const CachedPrefix> entry) {
  const size_t b = entry->bytes();
  if (!enabled() || b > budget_) return;
  for (auto it = entries_.begin(); it != entries_.end(); ++it)
    if ((*it)->tokens == entry->tokens) {
      bytes_ -= (*it)->bytes();
      entries_.erase(it);
      break;
    }
  while (!entries_.empty() && bytes_ + b > budget_) {
    bytes_ -= entries_.back()->bytes();
    entries_.pop_back();
  }
  entries_.push_front(std::move(entry));
  bytes_ += b;
}

void PrefixCache::remember(std::span<const int32_t> prompt) {
  if (!enabled()) return;
  seen_.emplace_front(prompt.begin(), prompt.end());
  seen_tokens_ += prompt.size();
  while (seen_.size() > 1 && (seen_.size() > kSeenPrompts || seen_tokens_ > kSeenTokens)) {
    seen_tokens_ -= seen_.back().size();
    seen_.pop_back();
  }
}

size_t PrefixCache::longest_common_prefix(std::span<const int32_t> prompt) const {
  size_t best = 0;
  for (const auto& s : seen_) best = std::max(best, common_prefix(s, prompt));
  for (const auto& e : entries_) best = std::max(best, common_prefix(e->tokens, prompt));
  return best;
}

}  // namespace supra
