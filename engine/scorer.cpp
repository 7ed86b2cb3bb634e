#include "engine/scorer.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/error.h"
#include "engine/scorer_internal.h"

namespace supra {

Scorer::Scorer(Model& model, ScorerOptions opts) : model_(model), opts_(opts) {
  if (opts_.max_length <= 0) fail("scorer: the context length must be positive, got {}", opts_.max_length);
  if (opts_.ubatch <= 0) fail("scorer: ubatch must be positive, got {}", opts_.ubatch);
  if (opts_.max_seqs <= 0) fail("scorer: max_seqs must be positive, got {}", opts_.max_seqs);
}

void Scorer::check_ids(std::span<const int32_t> ids, const char* what, size_t request) const {
  const int vocab = model_.config().vocab_size;
  for (size_t i = 0; i < ids.size(); i++)
    if (ids[i] < 0 || ids[i] >= vocab)
      fail("request {}: {} token {} is id {}, outside the model's vocabulary (0..{})", request, what, i, ids[i],
           vocab - 1);
}

// Feeds every job's tokens through the model in micro-batches of at most `ubatch` tokens. A job is cut into pieces
// of `ubatch` tokens counted from its own start, never at the space left in a call: where a job's pieces begin (and
// so SUPRA's chunks and the rows each piece scores) must not depend on which other jobs share the calls, or the
// state-memory budget, which decides that, would change the numbers. A piece that does not fit waits for the next
// call. Pieces of one job stay in order, one per call.
void Scorer::run_jobs(std::vector<Job>& jobs) {
  Backend& be = model_.backend();
  struct Part {
    Job* job;
    int64_t offset, n;
  };
  std::vector<SeqInput> batch;
  std::vector<Part> parts;
  int64_t used = 0;
  Tensor hidden, logits;
  for (Job& j : jobs) {
    const int64_t m = int64_t(j.tokens.size()) - j.score_from;
    j.logprob.assign(size_t(std::max<int64_t>(m, 0)), 0.f);
    j.argmax.assign(size_t(std::max<int64_t>(m, 0)), -1);
    j.fed = 0;
  }
  auto flush = [&] {
    if (batch.empty()) return;
    model_.forward(batch, &hidden);
    stats_.calls++;
    stats_.rows += used;
    int64_t row = 0;
    for (const Part& p : parts) {
      Job& j = *p.job;
      const int64_t a = std::max(p.offset, j.score_from), b = p.offset + p.n;
      if (a < b) {
        const int64_t m = b - a;
        Tensor h = hidden.slice_rows(row + (a - p.offset), row + (b - p.offset));
        model_.logits(h, logits);
        Tensor targets, lp = be.alloc(DType::F32, {m}), am = be.alloc(DType::I32, {m});
        if (!j.targets.empty()) {
          targets = be.alloc(DType::I32, {m});
          be.from_host(j.targets.data() + (a - j.score_from), targets);
        }
        be.log_softmax_gather(logits, targets, lp, am);
        be.to_host(lp, j.logprob.data() + (a - j.score_from));
        be.to_host(am, j.argmax.data() + (a - j.score_from));
      }
      row += p.n;
    }
    batch.clear();
    parts.clear();
    used = 0;
  };
  for (Job& j : jobs) {
    while (j.fed < int64_t(j.tokens.size())) {
      const int64_t take = std::min(int64_t(j.tokens.size()) - j.fed, opts_.ubatch);
      if (used + take > opts_.ubatch) flush();
      batch.push_back({j.state, std::span<const int32_t>(j.tokens.data() + j.fed, size_t(take))});
      parts.push_back({&j, j.fed, take});
      j.fed += take;
      used += take;
      if (used >= opts_.ubatch) flush();
    }
  }
  flush();
}

std::vector<LoglikelihoodResult> Scorer::loglikelihood(std::span<const LoglikelihoodRequest> requests) {
  const int64_t L = opts_.max_length;
  std::vector<LoglikelihoodResult> results(requests.size());
  // Group untruncated requests by context: they share one pass over it.
  std::map<std::vector<int32_t>, std::vector<size_t>> by_context;
  std::vector<std::vector<size_t>> groups;
  for (size_t i = 0; i < requests.size(); i++) {
    const auto& r = requests[i];
    if (r.context.empty()) fail("loglikelihood request {}: empty context (the task must put BOS there)", i);
    if (r.continuation.empty()) fail("loglikelihood request {}: empty continuation", i);
    check_ids(r.context, "context", i);
    check_ids(r.continuation, "continuation", i);
    if (int64_t(r.continuation.size()) > L)
      fail("loglikelihood request {}: continuation of {} tokens does not fit the context length {}", i,
           r.continuation.size(), L);
    auto& res = results[i];
    res.n_input = int64_t(r.context.size() + r.continuation.size());
    res.n_kept = std::min(res.n_input, L + 1);
    res.n_dropped = res.n_input - res.n_kept;
    if (res.n_dropped == 0)
      by_context[r.context].push_back(i);
    else
      groups.push_back({i});
  }
  for (auto& [ctx, members] : by_context) groups.push_back(std::move(members));
  // Longest first: the slowest work starts early and memory peaks are met at once, as lm-eval orders.
  auto group_len = [&](const std::vector<size_t>& g) {
    int64_t m = 0;
    for (size_t i : g) m = std::max(m, results[i].n_kept);
    return m;
  };
  std::stable_sort(groups.begin(), groups.end(),
                   [&](const auto& a, const auto& b) { return group_len(a) > group_len(b); });

  // Passes within the state-memory budget; the same jobs whatever the schedule (only their forward calls differ).
  std::vector<std::unique_ptr<SequenceState>> prefixes(groups.size());
  int64_t done = 0;
  for (const std::vector<Slice>& pass : plan_passes(requests, groups, results)) {
    score_pass(requests, groups, pass, prefixes, results);
    for (const Slice& sl : pass) done += int64_t(sl.end - sl.begin);
    if (on_progress) on_progress(done, int64_t(requests.size()));
  }
  return results;
}

RollingResult Scorer::loglikelihood_rolling(std::span<const int32_t> tokens, int32_t prefix_token) {
  RollingResult out;
  const int64_t L = opts_.max_length, n = int64_t(tokens.size());
  if (n == 0) return out;
  check_ids(std::span<const int32_t>(&prefix_token, 1), "prefix", 0);
  check_ids(tokens, "text", 0);
  // lm-eval get_rolling_token_windows(context_len=1) + make_disjoint_window.
  std::vector<LoglikelihoodRequest> windows;
  const int64_t first = std::min(L, n);
  windows.push_back({{prefix_token}, {tokens.begin(), tokens.begin() + first}});
  int64_t predicted = first;
  while (predicted < n) {
    const int64_t pred = std::min(n - predicted, L);
    const int64_t end = predicted + pred;
    LoglikelihoodRequest w;
    w.context.assign(tokens.begin() + (end - L - 1), tokens.begin() + (end - pred));
    w.continuation.assign(tokens.begin() + (end - pred), tokens.begin() + end);
    windows.push_back(std::move(w));
    predicted = end;
  }
  auto saved = on_progress;
  on_progress = nullptr;
  auto res = loglikelihood(windows);
  on_progress = saved;
  for (auto& r : res) {
    out.logprob += r.logprob;
    out.token_logprobs.insert(out.token_logprobs.end(), r.token_logprobs.begin(), r.token_logprobs.end());
  }
  out.n_tokens = n;
  out.n_windows = int64_t(windows.size());
  return out;
}

std::vector<GenerateResult> Scorer::generate_until(std::span<const GenerateRequest> requests, const Tokenizer* tok) {
  const int64_t L = opts_.max_length;
  const int eos = tok ? tok->eos_id() : model_.config().eos_id;
  std::vector<GenerateResult> results(requests.size());
  int64_t done = 0;
  for (size_t r0 = 0, r1 = 0; r0 < requests.size(); r0 = r1) {
    // As many requests as max_seqs and the state budget allow (each state reserved at context + generation).
    size_t used = 0;
    for (r1 = r0; r1 < requests.size() && r1 - r0 < size_t(opts_.max_seqs); r1++) {
      const auto& q = requests[r1];
      const size_t need = model_.state_bytes(std::clamp<int64_t>(int64_t(q.context.size()), 0, L - q.max_gen_toks) +
                                             std::max(q.max_gen_toks, 0));
      if (opts_.state_memory && need > opts_.state_memory)
        fail("generate request {}: its state needs {} bytes, more than the state memory budget of {} bytes", r1,
             need, opts_.state_memory);
      if (opts_.state_memory && used + need > opts_.state_memory) break;
      used += need;
    }
    std::vector<std::unique_ptr<SequenceState>> states;
    std::vector<Job> jobs;
    for (size_t i = r0; i < r1; i++) {
      const auto& q = requests[i];
      if (q.context.empty()) fail("generate request {}: empty context", i);
      if (q.max_gen_toks <= 0 || q.max_gen_toks > kMaxGenTokens)
        fail("generate request {}: max_gen_toks must be in 1..{}, got {}", i, kMaxGenTokens, q.max_gen_toks);
      check_ids(q.context, "context", i);
      if (!tok && !q.until.empty()) fail("generate request {}: stop strings need a tokenizer to decode the text", i);
      const int64_t room = L - q.max_gen_toks;
      if (room <= 0)
        fail("generate request {}: max_gen_toks {} leaves no room for context in length {}", i, q.max_gen_toks, L);
      auto& res = results[i];
      res.n_input = int64_t(q.context.size());
      res.n_kept = std::min(res.n_input, room);
      res.n_dropped = res.n_input - res.n_kept;
      states.push_back(model_.new_state());
      states.back()->reserve_tokens(res.n_kept + q.max_gen_toks);
      Job j;
      j.state = states.back().get();
      j.tokens.assign(q.context.end() - res.n_kept, q.context.end());
      j.score_from = int64_t(j.tokens.size()) - 1;
      jobs.push_back(std::move(j));
    }
    run_jobs(jobs);  // prefill; the last row's argmax is the first generated token
    std::vector<size_t> active(jobs.size());
    std::iota(active.begin(), active.end(), size_t(0));
    while (!active.empty()) {
      std::vector<size_t> still;
      for (size_t k : active) {
        const auto& q = requests[r0 + k];
        auto& res = results[r0 + k];
        const int32_t next = jobs[k].argmax.back();
        if (eos >= 0 && next == eos) {
          res.stop_reason = "eos";
          continue;
        }
        res.tokens.push_back(next);
        if (tok) res.text = tok->decode(res.tokens);
        bool stopped = false;
        size_t cut = std::string::npos;
        for (const auto& u : q.until)
          if (!u.empty()) cut = std::min(cut, res.text.find(u));
        if (cut != std::string::npos) {
          res.text.resize(cut);
          res.stop_reason = "until";
          stopped = true;
        } else if (int64_t(res.tokens.size()) >= q.max_gen_toks) {
          res.stop_reason = "max_tokens";
          stopped = true;
        }
        if (!stopped) {
          jobs[k].tokens = {next};
          jobs[k].score_from = 0;
          still.push_back(k);
        }
      }
      active = std::move(still);
      if (active.empty()) break;
      std::vector<Job> step;
      for (size_t k : active) step.push_back(std::move(jobs[k]));
      run_jobs(step);
      for (size_t i = 0; i < active.size(); i++) jobs[active[i]] = std::move(step[i]);
    }
    done += int64_t(r1 - r0);
    if (on_progress) on_progress(done, int64_t(requests.size()));
  }
  return results;
}

}  // namespace supra
