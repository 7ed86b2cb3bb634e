// Loglikelihood scoring within a state-memory budget: which groups of requests (and which of their continuations)
// are live at once, from the states' real sizes. Every request is scored by the same job (the same tokens into a
// state holding the same rows) whatever the schedule; only which jobs share a forward call changes.
#include <algorithm>
#include <limits>

#include "core/error.h"
#include "engine/scorer_internal.h"

namespace supra {

namespace {

// A group of several requests shares its context: computed once (all but its last token), then forked per
// continuation (a KV fork shares the context's rows and owns only its own; a SUPRA fork copies the state).
bool shares_context(const std::vector<size_t>& group) { return group.size() >= 2; }

}  // namespace

std::vector<std::vector<Scorer::Slice>> Scorer::plan_passes(std::span<const LoglikelihoodRequest> requests,
                                                           const std::vector<std::vector<size_t>>& groups,
                                                           const std::vector<LoglikelihoodResult>& results) const {
  const size_t budget = opts_.state_memory ? opts_.state_memory : std::numeric_limits<size_t>::max();
  // Bytes of a group's context state and of one member's own state, as reserved by score_pass.
  auto context_bytes = [&](const std::vector<size_t>& g) {
    return shares_context(g) ? model_.state_bytes(int64_t(requests[g[0]].context.size()) - 1) : size_t(0);
  };
  auto member_bytes = [&](const std::vector<size_t>& g, size_t i) {
    return shares_context(g) ? model_.state_bytes(int64_t(requests[i].continuation.size()))
                             : model_.state_bytes(results[i].n_kept - 1);
  };
  std::vector<std::vector<Slice>> passes;
  size_t g = 0;
  while (g < groups.size()) {
    // Whole groups while they fit.
    std::vector<Slice> pass;
    size_t used = 0;
    for (; g < groups.size() && pass.size() < size_t(opts_.max_seqs); g++) {
      size_t need = context_bytes(groups[g]);
      for (size_t i : groups[g]) need += member_bytes(groups[g], i);
      if (used + need > budget) break;
      pass.push_back({g, 0, groups[g].size()});
      used += need;
    }
    if (!pass.empty()) {
      passes.push_back(std::move(pass));
      continue;
    }
    // Group g alone does not fit: its context once, its continuations as many at a time as fit beside it.
    const std::vector<size_t>& grp = groups[g];
    const size_t ctx_bytes = context_bytes(grp);
    for (size_t b = 0; b < grp.size();) {
      size_t e = b, used_here = ctx_bytes;
      while (e < grp.size() && used_here + member_bytes(grp, grp[e]) <= budget) {
        used_here += member_bytes(grp, grp[e]);
        e++;
      }
      if (e == b)
        fail("loglikelihood request {}: its states need {} bytes ({} of shared context, {} of its own), more than the "
             "state memory budget of {} bytes; give a larger --state-memory",
             grp[b], ctx_bytes + member_bytes(grp, grp[b]), ctx_bytes, member_bytes(grp, grp[b]), budget);
      passes.push_back({{g, b, e}});
      b = e;
    }
    g++;
  }
  return passes;
}

void Scorer::score_pass(std::span<const LoglikelihoodRequest> requests, const std::vector<std::vector<size_t>>& groups,
                        const std::vector<Slice>& pass, std::vector<std::unique_ptr<SequenceState>>& prefixes,
                        std::vector<LoglikelihoodResult>& results) {
  // Phase 1: the shared context (all but its last token) of every group with several members, once.
  std::vector<Job> prefix_jobs;
  for (const Slice& sl : pass) {
    const std::vector<size_t>& grp = groups[sl.group];
    if (!shares_context(grp) || prefixes[sl.group]) continue;
    const auto& ctx = requests[grp[0]].context;
    prefixes[sl.group] = model_.new_state();
    prefixes[sl.group]->reserve_tokens(int64_t(ctx.size()) - 1);
    Job j;
    j.state = prefixes[sl.group].get();
    j.tokens.assign(ctx.begin(), ctx.end() - 1);
    j.score_from = int64_t(j.tokens.size());
    if (!j.tokens.empty()) prefix_jobs.push_back(std::move(j));
  }
  run_jobs(prefix_jobs);
  // Phase 2: every continuation, from a fork of its shared context or from scratch.
  std::vector<std::unique_ptr<SequenceState>> states;
  std::vector<Job> jobs;
  std::vector<size_t> job_request;
  for (const Slice& sl : pass) {
    const std::vector<size_t>& grp = groups[sl.group];
    for (size_t m = sl.begin; m < sl.end; m++) {
      const size_t i = grp[m];
      const auto& r = requests[i];
      Job j;
      if (shares_context(grp)) {
        states.push_back(prefixes[sl.group]->fork());
        j.tokens.push_back(r.context.back());
        j.tokens.insert(j.tokens.end(), r.continuation.begin(), r.continuation.end() - 1);
        j.score_from = 0;
      } else {
        states.push_back(model_.new_state());
        // Model input = (ctx + cont)[-(L+1):][:-1]
        std::vector<int32_t> full(r.context);
        full.insert(full.end(), r.continuation.begin(), r.continuation.end());
        j.tokens.assign(full.end() - results[i].n_kept, full.end() - 1);
        j.score_from = int64_t(j.tokens.size() - r.continuation.size());
      }
      states.back()->reserve_tokens(states.back()->n_past() + int64_t(j.tokens.size()));
      j.state = states.back().get();
      j.targets = r.continuation;
      jobs.push_back(std::move(j));
      job_request.push_back(i);
    }
  }
  run_jobs(jobs);
  for (size_t k = 0; k < jobs.size(); k++) {
    auto& res = results[job_request[k]];
    const Job& j = jobs[k];
    res.token_logprobs = j.logprob;
    res.logprob = 0;
    res.is_greedy = true;
    for (size_t t = 0; t < j.logprob.size(); t++) {
      res.logprob += double(j.logprob[t]);
      if (j.argmax[t] != j.targets[t]) res.is_greedy = false;
    }
  }
  // A context whose last continuation is done is dropped.
  for (const Slice& sl : pass)
    if (sl.end == groups[sl.group].size()) prefixes[sl.group].reset();
}

}  // namespace supra
