#include "harness/task_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>

#include "core/build_info.h"
#include "core/error.h"
#include "core/sha256.h"
#include "harness/progress.h"
#include "harness/request_encoding.h"
#include "harness/state_memory.h"
#include "tasks/truncation.h"

namespace supra {

namespace {

template <class Result>
void set_counts(SampleRow& row, const Result& r) {
  row.n_input = r.n_input;
  row.n_kept = r.n_kept;
  row.n_dropped = r.n_dropped;
}

// The requests of a batch by kind, each with its index in the batch.
struct Sorted {
  std::vector<LoglikelihoodRequest> ll;
  std::vector<size_t> ll_idx;
  std::vector<GenerateRequest> gen;
  std::vector<size_t> gen_idx;
};

// A request whose prompt comes in parts. The prompt is cut here, by the run's policy; the scorer then sees a request
// that fits and cuts nothing.
void add_fitted(const Tokenizer& tok, const tasks::Request& r, size_t i, int64_t doc, const std::string& task,
                int64_t ctx, bool add_bos, tasks::TruncationPolicy policy, int64_t room_for, SampleRow& row,
                Sorted& sorted) {
  if (r.type == tasks::RequestType::LoglikelihoodRolling)
    fail("{} doc {}: a rolling request cannot carry prompt parts", task, doc);
  FittedPrompt f = r.type == tasks::RequestType::Loglikelihood
                       ? fit_pair(tok, *r.parts, r.continuation, add_bos, policy, ctx, room_for)
                       : fit_prompt(tok, *r.parts, add_bos, policy, ctx, r.max_gen_toks);
  // Counts of the whole request (store/README.md): a loglikelihood request's continuation is never cut.
  const int64_t n_cont = r.type == tasks::RequestType::Loglikelihood ? int64_t(f.continuation.size()) : 0;
  row.n_input = int64_t(f.truncated.input) + n_cont;
  row.n_kept = int64_t(f.truncated.kept) + n_cont;
  row.n_dropped = int64_t(f.truncated.dropped);
  if (r.type == tasks::RequestType::Loglikelihood) row.n_continuation = n_cont;
  row.truncation = std::string(tasks::truncation_policy_name(f.truncated.applied));
  if (r.type == tasks::RequestType::Loglikelihood) {
    sorted.ll.push_back({std::move(f.truncated.tokens), std::move(f.continuation)});
    sorted.ll_idx.push_back(i);
  } else {
    GenerateRequest g;
    g.context = std::move(f.truncated.tokens);
    g.until = r.until;
    g.max_gen_toks = r.max_gen_toks;
    sorted.gen.push_back(std::move(g));
    sorted.gen_idx.push_back(i);
  }
}

// Per request, the continuation length its prompt is cut for (0: its own). Under doc_end and middle the choices of
// one question (loglikelihood requests of a document with the same prompt) are cut for the longest of them, so
// they keep one prompt that the scorer computes once and forks per choice. Under `left` each choice keeps lm-eval's
// own window (ctx + cont)[-(L+1):][:-1], which differs with the choice's length.
std::vector<int64_t> shared_rooms(const Tokenizer& tok, const std::vector<tasks::Request>& reqs,
                                  const std::vector<int64_t>& req_doc, bool add_bos, tasks::TruncationPolicy policy) {
  std::vector<int64_t> room(reqs.size(), 0);
  if (policy == tasks::TruncationPolicy::Left) return room;
  std::map<std::tuple<int64_t, std::string, std::string, std::string>, std::vector<size_t>> questions;
  for (size_t i = 0; i < reqs.size(); i++)
    if (reqs[i].parts && reqs[i].type == tasks::RequestType::Loglikelihood)
      questions[{req_doc[i], reqs[i].parts->prefix, reqs[i].parts->document, reqs[i].parts->suffix}].push_back(i);
  for (const auto& [key, members] : questions) {
    int64_t longest = 0;
    for (size_t i : members) {
      const tasks::PromptText& p = *reqs[i].parts;
      longest = std::max(longest, int64_t(encode_pair(tok, p.prefix + p.document + p.suffix, reqs[i].continuation,
                                                      add_bos).continuation.size()));
    }
    for (size_t i : members) room[i] = longest;
  }
  return room;
}

// A request of whole texts: encoded as it is; a rolling one is scored at once.
void add_plain(EngineSession& s, Scorer& scorer, const tasks::Request& r, size_t i, int64_t doc,
               const std::string& task, int64_t ctx, bool add_bos, tasks::Response& out, SampleRow& row,
               Sorted& sorted) {
  const Tokenizer& tok = s.require_tokenizer();
  switch (r.type) {
    case tasks::RequestType::Loglikelihood:
      sorted.ll.push_back(encode_pair(tok, r.context, r.continuation, add_bos));
      sorted.ll_idx.push_back(i);
      row.n_continuation = int64_t(sorted.ll.back().continuation.size());
      // lm-eval asserts len(continuation) <= max_length: a choice longer than the context cannot be scored.
      if (int64_t(sorted.ll.back().continuation.size()) > ctx)
        fail("{} doc {}: a continuation of {} tokens does not fit --ctx {} (lm-eval refuses it too); use a longer "
             "context or another task",
             task, doc, sorted.ll.back().continuation.size(), ctx);
      break;
    case tasks::RequestType::LoglikelihoodRolling: {
      const auto ids = encode_text(tok, r.context, false);
      const RollingResult rr = scorer.loglikelihood_rolling(ids, tok.bos_id());
      out.logprob = rr.logprob;
      out.n_tokens = rr.n_tokens;
      out.token_logprobs = rr.token_logprobs;
      row.logprob = rr.logprob;
      row.n_input = row.n_kept = rr.n_tokens;  // every token is scored, window by window
      break;
    }
    case tasks::RequestType::GenerateUntil: {
      GenerateRequest g;
      g.context = encode_text(tok, r.context, add_bos);
      if (g.context.empty()) g.context = {tok.bos_id()};
      g.until = r.until;
      g.max_gen_toks = r.max_gen_toks;
      sorted.gen.push_back(std::move(g));
      sorted.gen_idx.push_back(i);
      break;
    }
  }
}

// Runs the requests of a batch of documents; responses come back in the same order.
std::vector<tasks::Response> run_requests(EngineSession& s, Scorer& scorer, const std::vector<tasks::Request>& reqs,
                                          const std::vector<int64_t>& req_doc, const std::string& task,
                                          int64_t ctx, bool add_bos, tasks::TruncationPolicy policy,
                                          std::vector<SampleRow>& rows) {
  const Tokenizer& tok = s.require_tokenizer();
  std::vector<tasks::Response> out(reqs.size());
  rows.assign(reqs.size(), SampleRow{});
  Sorted sorted;
  const std::vector<int64_t> room = shared_rooms(tok, reqs, req_doc, add_bos, policy);
  for (size_t i = 0; i < reqs.size(); i++) {
    const auto& r = reqs[i];
    rows[i].request = int64_t(i);
    rows[i].type = tasks::request_type_name(r.type);
    if (r.parts)
      add_fitted(tok, r, i, req_doc[i], task, ctx, add_bos, policy, room[i], rows[i], sorted);
    else
      add_plain(s, scorer, r, i, req_doc[i], task, ctx, add_bos, out[i], rows[i], sorted);
  }
  if (!sorted.ll.empty()) {
    const auto res = scorer.loglikelihood(sorted.ll);
    for (size_t k = 0; k < res.size(); k++) {
      const size_t i = sorted.ll_idx[k];
      out[i].logprob = res[k].logprob;
      out[i].is_greedy = res[k].is_greedy;
      rows[i].logprob = res[k].logprob;
      rows[i].is_greedy = res[k].is_greedy;
      if (!reqs[i].parts) set_counts(rows[i], res[k]);  // fitted prompts keep the counts of their own cut
    }
  }
  if (!sorted.gen.empty()) {
    const auto res = scorer.generate_until(sorted.gen, tok);
    for (size_t k = 0; k < res.size(); k++) {
      const size_t i = sorted.gen_idx[k];
      out[i].text = res[k].text;
      rows[i].generated = res[k].text;
      if (!reqs[i].parts) set_counts(rows[i], res[k]);
    }
  }
  return out;
}

// The run's key: everything that changes its numbers.
RunKey run_key(EngineSession& s, const tasks::Task& task, const RunSettings& st, const tasks::TaskSettings& ts,
               tasks::TruncationPolicy policy) {
  RunKey k;
  k.model = s.ckpt.path;
  k.model_sha256 = checkpoint_sha256(s.ckpt);
  k.mode = mode_name(s.ckpt.config.attention);
  k.form = s.ckpt.config.attention == AttentionMode::Supra ? form_name(s.model->options().form) : "";
  k.task = task.name();
  k.task_version = task.version();
  k.shots = ts.shots;
  k.seed = st.seed;
  k.ctx = st.ctx;
  k.truncation = std::string(tasks::truncation_policy_name(policy));
  k.data_sha256 = task.data_sha256();
  k.dtype = st.dtype.empty() ? dtype_name(s.ckpt.config.weight_dtype) : st.dtype;
  k.device = st.device;
  k.add_bos = st.add_bos;
  k.limit = st.limit;
  k.tokenizer_sha256 = s.tokenizer ? sha256_file(s.tokenizer->path()) : "";
  k.cpu_dtype = s.backend->device() == Device::CPU && s.backend->compute_dtype() == DType::BF16 ? "bf16" : "";
  k.kv_dtype = s.ckpt.config.attention == AttentionMode::Softmax ? dtype_name(s.model->options().kv_dtype) : "";
  k.chunk = s.ckpt.config.attention == AttentionMode::Supra && s.model->options().form == SupraForm::Chunked
                ? s.model->options().chunk
                : 0;
  return k;
}

// Says on stderr whose lease the run was taken from, if anyone's.
void note_lease_taken(const Store& store, const RunKey& k, const Store::Lease& lease, bool take_over) {
  if (lease.taken_from && take_over)
    std::fprintf(stderr, "%s: taking run %s over from %s, as --take-over asks; resuming it\n", store.path().c_str(),
                 k.summary().c_str(), lease.taken_from->describe().c_str());
  else if (lease.taken_from)
    std::fprintf(stderr, "%s: run %s was left unfinished by %s, %s; resuming it\n", store.path().c_str(),
                 k.summary().c_str(), lease.taken_from->describe().c_str(),
                 lease.taken_from->same_host
                     ? "which is no longer running"
                     : fmt::format("whose lease lapsed ({} minutes without progress)",
                                   Store::kForeignLeaseLapseSeconds / 60)
                           .c_str());
}

// One batch of documents: their requests run, and per document its samples and metrics.
std::vector<DocResult> run_docs(EngineSession& s, Scorer& scorer, tasks::Task& task, const tasks::TaskSettings& ts,
                                const RunSettings& st, tasks::TruncationPolicy policy,
                                const std::vector<int64_t>& doc_ids, int64_t& n_requests) {
  std::vector<tasks::Request> reqs;
  std::vector<int64_t> req_doc;
  std::vector<std::pair<size_t, size_t>> span;  // per doc: [first request, end)
  for (int64_t doc : doc_ids) {
    auto r = task.requests(doc, ts);
    span.push_back({reqs.size(), reqs.size() + r.size()});
    reqs.insert(reqs.end(), r.begin(), r.end());
    req_doc.insert(req_doc.end(), r.size(), doc);
  }
  std::vector<SampleRow> rows;
  const auto resp = run_requests(s, scorer, reqs, req_doc, task.name(), st.ctx, st.add_bos, policy, rows);
  std::vector<DocResult> docs;
  for (size_t i = 0; i < doc_ids.size(); i++) {
    const auto [a, e] = span[i];
    DocResult d;
    d.doc = doc_ids[i];
    for (size_t j = a; j < e; j++) {
      SampleRow r = rows[j];
      r.request = int64_t(j - a);
      d.samples.push_back(std::move(r));
    }
    const tasks::DocMetrics m =
        task.process(d.doc, std::vector<tasks::Response>(resp.begin() + long(a), resp.begin() + long(e)));
    for (const auto& [name, mv] : m) d.metrics[name] = {mv.value, mv.weight};
    docs.push_back(std::move(d));
  }
  n_requests += int64_t(reqs.size());
  return docs;
}

}  // namespace

std::vector<MetricRow> aggregate_run(Store& store, int64_t run_id, const tasks::Task& task, int64_t n_docs) {
  std::vector<MetricRow> out;
  const auto values = store.doc_metrics(run_id);
  for (const tasks::MetricSpec& spec : task.metrics()) {
    auto it = values.find(spec.name);
    if (it == values.end()) continue;
    std::vector<tasks::MetricValue> mv;
    for (const auto& [v, w] : it->second) mv.push_back({v, w});
    const tasks::Aggregate a = tasks::aggregate(spec.aggregation, mv);
    out.push_back({spec.name, a.value, a.stderr_, a.n, tasks::aggregation_name(spec.aggregation),
                   spec.higher_is_better});
  }
  std::map<std::string, double> by_name;
  int64_t n_min = n_docs;
  for (const MetricRow& m : out) {
    by_name[m.name] = m.value;
    n_min = std::min(n_min, m.n);
  }
  for (const auto& [name, value] : task.derived_metrics(by_name))
    out.push_back({name, value, std::nan(""), n_min, "derived", true});
  return out;
}

RunOutcome run_task(Store& store, EngineSession& s, tasks::Task& task, const RunSettings& st) {
  const auto t0 = std::chrono::steady_clock::now();
  if (st.ctx <= 0) fail("--ctx: context lengths must be positive, got {}", st.ctx);
  if (st.batch_docs <= 0) fail("--batch: must be positive, got {}", st.batch_docs);
  task.load(st.data_root);
  const tasks::TruncationPolicy policy =
      st.truncation.empty() ? task.default_truncation() : tasks::parse_truncation_policy(st.truncation);
  if (policy != tasks::TruncationPolicy::Left && !task.has_documents())
    fail("--truncation {}: task {} has no document to cut (only `left` applies to it)",
         tasks::truncation_policy_name(policy), task.name());
  tasks::TaskSettings ts;
  ts.shots = st.shots >= 0 ? st.shots : task.default_shots();
  ts.fewshot_seed = st.seed;
  ts.ctx = st.ctx;
  const Tokenizer& tok = s.require_tokenizer();
  ts.count_tokens = [&tok](std::string_view text) { return int64_t(tok.encode(text).size()); };
  task.configure(ts);
  const int64_t n_docs = st.limit >= 0 ? std::min(st.limit, task.size()) : task.size();
  const int64_t lo = st.doc_lo, hi = st.doc_hi < 0 ? n_docs : st.doc_hi;
  if (lo < 0 || lo > hi || hi > n_docs)
    fail("{}: documents [{}, {}) asked, but the run has {} documents", task.name(), lo, hi, n_docs);
  const bool whole_run = lo == 0 && hi == n_docs;

  RunOutcome o;
  o.key = run_key(s, task, st, ts, policy);
  const RunKey& k = o.key;
  nlohmann::json config = {{"model_config", s.ckpt.config.to_json()},
                           {"task_description", task.description()},
                           {"dataset", task.dataset()},
                           {"split", task.split()},
                           {"chunk", s.model->options().chunk},
                           {"batch_docs", st.batch_docs}};
  o.run_id = store.open_run(k, n_docs, s.ckpt.config.train_ctx, config, build_git_revision());
  o.n_docs = n_docs;

  // One writer per run: the lease is checked and refreshed with every batch and dropped when the run finishes, or
  // here on any error; a killed process leaves a lease naming a dead pid, which the next run takes over.
  const Store::Lease lease = store.acquire_lease(o.run_id, lo, hi, k.summary(), st.take_over);
  struct Release {
    Store& store;
    int64_t run_id;
    bool held = true;
    ~Release() {
      if (held) store.release_lease(run_id);
    }
  } release{store, o.run_id};
  note_lease_taken(store, k, lease, st.take_over);

  // Read after taking the lease: a run taken over continues from what its last owner committed.
  const std::set<int64_t> done = store.finished_docs(o.run_id);
  std::vector<int64_t> pending;
  for (int64_t d = lo; d < hi; d++)
    if (!done.count(d)) pending.push_back(d);

  ScorerOptions so{st.ctx, 512, 32};
  so.state_memory = st.state_memory ? st.state_memory : default_state_memory(s);
  Scorer scorer(*s.model, so);
  int64_t finished = (hi - lo) - int64_t(pending.size());
  Progress progress(fmt::format("{} {} ctx {}", task.name(), k.mode, st.ctx), hi - lo, finished);
  for (size_t b0 = 0; b0 < pending.size(); b0 += size_t(st.batch_docs)) {
    const size_t b1 = std::min(pending.size(), b0 + size_t(st.batch_docs));
    const std::vector<int64_t> batch(pending.begin() + long(b0), pending.begin() + long(b1));
    const std::vector<DocResult> docs = run_docs(s, scorer, task, ts, st, policy, batch, o.n_new_requests);
    store.write_docs(o.run_id, docs);
    o.n_new_docs += int64_t(docs.size());
    finished += int64_t(docs.size());
    if (!st.quiet) progress.update(finished);
  }
  if (!st.quiet) progress.finish();
  o.forwards = scorer.forward_stats();

  if (whole_run) {
    o.metrics = aggregate_run(store, o.run_id, task, n_docs);
    store.finish_run(o.run_id, o.metrics);  // drops the lease in the same transaction
    release.held = false;
  }
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return o;
}

}  // namespace supra
