#include "harness/completion_engine.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "core/error.h"

namespace supra {

void log_softmax_row(const float* l, int64_t V, float* out) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < V; j++) mx = std::max(mx, l[j]);
  double sum = 0;
  for (int64_t j = 0; j < V; j++) sum += std::exp(double(l[j] - mx));
  const double ls = std::log(sum);
  for (int64_t j = 0; j < V; j++) out[j] = float(double(l[j] - mx) - ls);
}

std::vector<std::pair<int32_t, float>> top_tokens(const std::vector<float>& row, int k) {
  k = std::min<int>(k, int(row.size()));
  if (k <= 0) return {};
  std::vector<int32_t> idx(row.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto better = [&](int32_t a, int32_t b) { return row[size_t(a)] > row[size_t(b)] || (row[size_t(a)] == row[size_t(b)] && a < b); };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
  std::vector<std::pair<int32_t, float>> out;
  for (int i = 0; i < k; i++) out.emplace_back(idx[size_t(i)], row[size_t(idx[size_t(i)])]);
  return out;
}

namespace {

TokenScore score_of(const std::vector<float>& row, int32_t token, int k) {
  return {row[size_t(token)], top_tokens(row, k)};
}

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) i++;
  return i;
}

// The next token drawn from a log-softmax row: argmax at temperature 0, else from softmax(row / T) restricted to the
// top_k most likely tokens and the smallest set of them holding top_p of the mass.
int32_t pick(const std::vector<float>& row, const CompletionJob& job, std::mt19937_64& rng) {
  const auto argmax = int32_t(std::max_element(row.begin(), row.end()) - row.begin());  // first on ties
  if (job.temperature <= 0) return argmax;
  std::vector<int32_t> idx(row.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return row[size_t(a)] > row[size_t(b)]; });
  if (job.top_k > 0 && size_t(job.top_k) < idx.size()) idx.resize(size_t(job.top_k));
  std::vector<double> p(idx.size());
  double total = 0;
  for (size_t i = 0; i < idx.size(); i++)
    total += (p[i] = std::exp((double(row[size_t(idx[i])]) - double(row[size_t(argmax)])) / job.temperature));
  if (job.top_p < 1.0) {
    double kept = 0;
    size_t n = 0;
    while (n < p.size() && kept < job.top_p * total) kept += p[n++];
    p.resize(std::max<size_t>(n, 1));
    total = std::accumulate(p.begin(), p.end(), 0.0);
  }
  double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  for (size_t i = 0; i < p.size(); i++) {
    if (u < p[i]) return idx[i];
    u -= p[i];
  }
  return idx[p.size() - 1];
}

}  // namespace

// One prompt in flight during a round.
struct CompletionEngine::Item {
  const CompletionJob* job = nullptr;
  CompletionOutput* out = nullptr;
  std::unique_ptr<SequenceState> state;
  std::vector<float> row;  // log-softmax [V] predicting the next token
  std::mt19937_64 rng;
  int32_t last = -1;  // the token fed at the next decode step
  bool active = false;
};

// Tokens appended to one state. With all_rows, `scores` receives the score of tokens[i + 1] from row i; the last
// row's log-softmax goes to `last_row` always.
struct CompletionEngine::Feed {
  SequenceState* state = nullptr;
  std::span<const int32_t> tokens;
  bool all_rows = false;
  int top_k = 0;
  std::vector<TokenScore> scores;
  std::vector<float> last_row;
};

CompletionEngine::CompletionEngine(Model& model, const Tokenizer* tok, CompletionEngineOptions opts)
    : model_(model), tok_(tok), opts_(opts), cache_(opts.cache_bytes) {
  if (opts_.ctx <= 0) fail("serve: the context length must be positive, got {}", opts_.ctx);
  if (opts_.max_batch <= 0) fail("serve: --max-batch must be positive, got {}", opts_.max_batch);
  if (opts_.ubatch <= 0) fail("serve: ubatch must be positive, got {}", opts_.ubatch);
  eos_ = tok ? tok->eos_id() : model.config().eos_id;
  rewindable_ = model_.new_state()->fork_prefix(0) != nullptr;
}

CompletionEngine::~CompletionEngine() {
  stop();
  std::lock_guard<std::mutex> lock(mu_);
  for (Pending& p : queue_)
    p.done.set_exception(std::make_exception_ptr(Error("serve: the server is shutting down")));
}

void CompletionEngine::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

std::future<std::vector<CompletionOutput>> CompletionEngine::submit(std::vector<CompletionJob> jobs) {
  Pending p;
  p.jobs = std::move(jobs);
  auto fut = p.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) fail("serve: the engine is shutting down");
    queue_.push_back(std::move(p));
  }
  cv_.notify_one();
  return fut;
}

CompletionEngine::Stats CompletionEngine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CompletionEngine::run() {
  for (;;) {
    std::vector<Pending> round;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      size_t prompts = 0;
      // Whole requests, at least one, up to max_batch prompts.
      while (!queue_.empty() && (round.empty() || prompts + queue_.front().jobs.size() <= size_t(opts_.max_batch))) {
        prompts += queue_.front().jobs.size();
        round.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    run_round(round);
  }
}

void CompletionEngine::run_round(std::vector<Pending>& round) {
  std::vector<std::vector<CompletionOutput>> outs(round.size());
  std::vector<Item> items;
  int top_k = 1;
  for (size_t r = 0; r < round.size(); r++) {
    outs[r].resize(round[r].jobs.size());
    for (size_t j = 0; j < round[r].jobs.size(); j++) {
      Item it;
      it.job = &round[r].jobs[j];
      it.out = &outs[r][j];
      it.rng.seed(it.job->seed ? *it.job->seed : std::random_device{}());
      top_k = std::max(top_k, it.job->logprobs);
      items.push_back(std::move(it));
    }
  }
  try {
    build_prefixes(items, top_k);
    prefill(items, top_k);
    decode(items, top_k);
  } catch (...) {
    for (Pending& p : round) p.done.set_exception(std::current_exception());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.requests += int64_t(round.size());
    stats_.prompts += int64_t(items.size());
    stats_.rounds++;
    stats_.cache_bytes = cache_.bytes();
    stats_.cache_entries = cache_.entries();
  }
  for (size_t r = 0; r < round.size(); r++) round[r].done.set_value(std::move(outs[r]));
}

// Feeds every state its tokens in micro-batches of at most ubatch tokens (a long feed is split across calls, its
// pieces in order), computing logits only for the rows asked for.
void CompletionEngine::feed(std::vector<Feed>& feeds) {
  Backend& be = model_.backend();
  const int64_t V = model_.config().vocab_size;
  struct Part {
    size_t feed;
    int64_t offset, n;
  };
  std::vector<SeqInput> batch;
  std::vector<Part> parts;
  std::vector<size_t> fed(feeds.size(), 0);
  int64_t used = 0, total = 0;
  Tensor hidden, logits;
  std::vector<float> host, row(size_t(V), 0.f);
  for (Feed& f : feeds) {
    if (f.tokens.empty()) fail("serve: internal error: an empty feed");
    f.scores.assign(f.all_rows ? f.tokens.size() - 1 : 0, TokenScore{});
    total += int64_t(f.tokens.size());
  }
  auto flush = [&] {
    if (batch.empty()) return;
    model_.forward(batch, &hidden);
    int64_t base = 0;
    for (const Part& p : parts) {
      Feed& f = feeds[p.feed];
      const int64_t n_tok = int64_t(f.tokens.size());
      const int64_t a = f.all_rows ? p.offset : std::max(p.offset, n_tok - 1), b = p.offset + p.n;
      if (a < b) {
        model_.logits(hidden.slice_rows(base + (a - p.offset), base + (b - p.offset)), logits);
        host.resize(size_t((b - a) * V));
        be.to_host(logits, host.data());
        for (int64_t i = a; i < b; i++) {
          log_softmax_row(host.data() + (i - a) * V, V, row.data());
          if (i + 1 < n_tok)
            f.scores[size_t(i)] = score_of(row, f.tokens[size_t(i + 1)], f.top_k);
          else
            f.last_row = row;
        }
      }
      base += p.n;
    }
    batch.clear();
    parts.clear();
    used = 0;
  };
  for (size_t k = 0; k < feeds.size(); k++) {
    Feed& f = feeds[k];
    while (fed[k] < f.tokens.size()) {
      const int64_t take = std::min(int64_t(f.tokens.size() - fed[k]), opts_.ubatch - used);
      batch.push_back({f.state, f.tokens.subspan(fed[k], size_t(take))});
      parts.push_back({k, int64_t(fed[k]), take});
      fed[k] += size_t(take);
      used += take;
      if (used >= opts_.ubatch) flush();
    }
  }
  flush();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.fed_tokens += total;
}

// The contexts this round's prompts share with each other or with recent prompts, computed once into the cache
// (shorter ones first, so a longer shared context goes on from a shorter one).
void CompletionEngine::build_prefixes(std::vector<Item>& items, int top_k) {
  if (!cache_.enabled()) return;
  std::set<std::vector<int32_t>> wanted;
  for (size_t i = 0; i < items.size(); i++) {
    const auto& P = items[i].job->prompt;
    // A cut KV cache serves a prompt sharing part of an earlier one directly (prefill); a SUPRA state cannot be
    // cut, so the part shared with a recent prompt is computed into an entry of its own, for the prompts after.
    size_t m = rewindable_ ? 0 : cache_.longest_common_prefix(P);
    for (size_t j = 0; j < items.size(); j++)
      if (j != i) m = std::max(m, common_prefix(P, items[j].job->prompt));
    if (m < 2) continue;
    std::vector<int32_t> T(P.begin(), P.begin() + int64_t(m));
    // Not worth a forward of its own when the cache already reaches within a token of it.
    if (rewindable_ && cache_.best(T, top_k).resume + 1 >= m) continue;
    wanted.insert(std::move(T));
  }
  while (!wanted.empty()) {
    // This wave: the wanted prefixes with no other wanted prefix inside them.
    std::vector<std::vector<int32_t>> wave;
    for (const auto& T : wanted) {
      bool inner = false;
      for (const auto& U : wanted)
        if (U.size() < T.size() && common_prefix(U, T) == U.size()) inner = true;
      if (!inner) wave.push_back(T);
    }
    for (const auto& T : wave) wanted.erase(T);
    std::vector<CacheHit> bases;
    std::vector<std::unique_ptr<SequenceState>> states;
    std::vector<Feed> feeds;
    std::vector<const std::vector<int32_t>*> targets;
    for (const auto& T : wave) {
      const CacheHit hit = cache_.best(T, top_k);
      if (hit.whole() && hit.resume == T.size()) continue;
      states.push_back(hit.entry ? hit.fork() : model_.new_state());
      Feed f;
      f.state = states.back().get();
      f.tokens = std::span<const int32_t>(T).subspan(hit.resume);
      f.all_rows = true;
      f.top_k = top_k;
      feeds.push_back(std::move(f));
      bases.push_back(hit);
      targets.push_back(&T);
    }
    if (feeds.empty()) continue;
    feed(feeds);
    for (size_t k = 0; k < feeds.size(); k++) {
      auto entry = std::make_shared<CachedPrefix>();
      const auto& T = *targets[k];
      entry->tokens = T;
      entry->top_k = top_k;
      entry->scores.resize(T.size());
      const size_t r = take_scores(bases[k], T, top_k, entry->scores);
      for (size_t i = 0; i < feeds[k].scores.size(); i++) entry->scores[r + 1 + i] = std::move(feeds[k].scores[i]);
      entry->next_row = std::move(feeds[k].last_row);
      entry->state = std::move(states[k]);
      entry->rewindable = rewindable_;
      cache_.insert(std::move(entry));
    }
  }
}

// Every prompt's state and next-token row: from the longest cached prefix (forked) plus the rest of the prompt,
// or from scratch.
void CompletionEngine::prefill(std::vector<Item>& items, int top_k) {
  std::vector<Feed> feeds;
  std::vector<size_t> owner;
  std::vector<size_t> from;
  std::vector<int> alternatives;  // alternatives every scored position of the prompt holds
  for (size_t i = 0; i < items.size(); i++) {
    Item& it = items[i];
    const CompletionJob& job = *it.job;
    const auto& P = job.prompt;
    const size_t n = P.size();
    const int need_k = job.echo ? std::max(job.logprobs, 0) : 0;
    const CacheHit hit = cache_.enabled() ? cache_.best(P, need_k) : CacheHit{};
    const size_t p = hit.resume;
    it.out->cached_tokens = int64_t(p);
    if (job.echo) {
      it.out->prompt_scores.assign(n, TokenScore{});
      take_scores(hit, P, top_k, it.out->prompt_scores);
    }
    if (hit.whole() && p == n) {
      it.row = hit.entry->next_row;
      if (job.max_tokens > 1) it.state = hit.entry->state->fork();
    } else {
      it.state = hit.entry ? hit.fork() : model_.new_state();
      Feed f;
      f.state = it.state.get();
      f.tokens = std::span<const int32_t>(P).subspan(p);
      f.all_rows = job.echo;
      f.top_k = top_k;
      feeds.push_back(std::move(f));
      owner.push_back(i);
      from.push_back(p);
      alternatives.push_back(hit.entry ? std::min(top_k, hit.entry->top_k) : top_k);
    }
    cache_.remember(P);
  }
  {
    int64_t cached = 0;
    for (const Item& it : items) cached += it.out->cached_tokens;
    std::lock_guard<std::mutex> lock(mu_);
    stats_.cached_tokens += cached;
  }
  if (feeds.empty()) return;
  feed(feeds);
  for (size_t k = 0; k < feeds.size(); k++) {
    Item& it = items[owner[k]];
    for (size_t i = 0; i < feeds[k].scores.size(); i++)
      it.out->prompt_scores[from[k] + 1 + i] = std::move(feeds[k].scores[i]);
    it.row = std::move(feeds[k].last_row);
    // A scored prompt whose state can be cut (a KV cache) is kept whole: a later prompt sharing any part of it goes
    // on from there (lm-eval's next answer choice to the same question, which arrives later in its order).
    const CompletionJob& job = *it.job;
    if (cache_.enabled() && rewindable_ && job.echo && job.logprobs >= 0) {
      auto entry = std::make_shared<CachedPrefix>();
      entry->tokens = job.prompt;
      entry->scores = it.out->prompt_scores;
      entry->top_k = alternatives[k];
      entry->next_row = it.row;
      entry->state = job.max_tokens > 1 ? it.state->fork() : std::move(it.state);
      entry->rewindable = true;
      cache_.insert(std::move(entry));
    }
  }
}

// Copies what a cache hit already scored into `scores` (positions [0, resume], the last one from the entry's
// next_row when the whole entry is a prefix); returns `resume`.
size_t CompletionEngine::take_scores(const CacheHit& hit, const std::vector<int32_t>& tokens, int top_k,
                                     std::vector<TokenScore>& scores) const {
  if (!hit.entry) return 0;
  const CachedPrefix& e = *hit.entry;
  const size_t r = hit.resume;
  if (hit.whole()) {
    std::copy(e.scores.begin(), e.scores.begin() + long(r), scores.begin());
    if (r < tokens.size()) scores[r] = score_of(e.next_row, tokens[r], top_k);
  } else {
    std::copy(e.scores.begin(), e.scores.begin() + long(r + 1), scores.begin());
  }
  return r;
}

// Generation, every prompt one token per step, all prompts of the round in one forward per step.
void CompletionEngine::decode(std::vector<Item>& items, int top_k) {
  for (Item& it : items) {
    it.out->finish_reason = "length";
    it.active = it.job->max_tokens > 0;
    const int k = it.job->logprobs;
    // Alternatives beyond what this prompt asked for (the round computed the most any prompt asked) are dropped.
    for (TokenScore& s : it.out->prompt_scores)
      if (int(s.top.size()) > std::max(k, 0)) s.top.resize(size_t(std::max(k, 0)));
  }
  for (;;) {
    std::vector<Feed> feeds;
    std::vector<Item*> fed;
    for (Item& it : items) {
      if (!it.active) continue;
      const CompletionJob& job = *it.job;
      CompletionOutput& out = *it.out;
      const int32_t t = pick(it.row, job, it.rng);
      if (eos_ >= 0 && t == eos_) {
        out.finish_reason = "stop";
        it.active = false;
        continue;
      }
      if (job.logprobs >= 0) out.generated_scores.push_back(score_of(it.row, t, job.logprobs));
      out.generated.push_back(t);
      if (tok_) {
        out.text = tok_->decode(out.generated);
        size_t cut = std::string::npos;
        for (const auto& s : job.stop)
          if (!s.empty()) cut = std::min(cut, out.text.find(s));
        if (cut != std::string::npos) {
          out.text.resize(cut);
          out.finish_reason = "stop";
          it.active = false;
          continue;
        }
      }
      if (int(out.generated.size()) >= job.max_tokens) {
        it.active = false;
        continue;
      }
      it.last = t;
      Feed f;
      f.state = it.state.get();
      f.tokens = std::span<const int32_t>(&it.last, 1);
      feeds.push_back(std::move(f));
      fed.push_back(&it);
    }
    if (feeds.empty()) break;
    feed(feeds);
    for (size_t k = 0; k < feeds.size(); k++) fed[k]->row = std::move(feeds[k].last_row);
  }
  (void)top_k;
}

}  // namespace supra
