#pragma once
// The scoring API the task runners use (EVALUATION.md sections 1-2): loglikelihood of (context, continuation)
// token pairs with is_greedy, rolling loglikelihood over long texts, greedy generation until stop strings.
// Requests are run longest first in batches; continuations sharing a context are scored from one pass over it
// (the state after the context is forked per continuation).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/tokenizer.h"

namespace supra {

struct ScorerOptions {
  int64_t max_length = 0;  // context length L: the model sees at most L tokens of a request
  int64_t ubatch = 512;    // tokens per forward call (bounds activation memory, whatever the document length)
  int max_seqs = 32;       // requests (or groups sharing a context) in flight at once
  // Bytes of sequence states live at once (KV caches or SUPRA states, at their real sizes: Model::state_bytes); 0
  // for no limit. Only the schedule depends on it: the same jobs run, cut into the same pieces, and only which of
  // them share a forward call changes. On the CPU no kernel lets a row depend on the other rows of its call, so the
  // results are bitwise the same; on CUDA cuBLAS picks kernels by shape, so they may differ by reordered sums. A
  // request that alone needs more is an error.
  size_t state_memory = 0;
};

// How full the forward calls were: GEMMs run near the machine's peak only with many rows per call, so small
// requests (a 40-token HellaSwag choice) are packed with other documents' requests up to `ubatch` rows.
struct ForwardStats {
  int64_t calls = 0, rows = 0;
  double mean_rows() const { return calls ? double(rows) / double(calls) : 0.0; }
};

struct LoglikelihoodRequest {
  std::vector<int32_t> context;  // non-empty (lm-eval puts BOS there when a context is empty)
  std::vector<int32_t> continuation;
};

struct LoglikelihoodResult {
  double logprob = 0;                // sum over continuation tokens, fp32 log-softmax, summed in double
  bool is_greedy = true;             // every argmax equals the continuation token
  std::vector<float> token_logprobs;  // one per continuation token
  // Token accounting of LEFT truncation: input = len(context + continuation); kept = tokens of the request the
  // model saw (as input or as the last target) = min(input, L + 1); dropped = input - kept (from the left).
  int64_t n_input = 0, n_kept = 0, n_dropped = 0;
};

struct RollingResult {
  double logprob = 0;
  int64_t n_tokens = 0;
  std::vector<float> token_logprobs;  // for every token of the text, in order
  int64_t n_windows = 0;
};

// The longest generation a request may ask for: a bound on the time one request can take (every entry point, the
// command line, tasks and servers, goes through the scorer, which refuses more with a message).
inline constexpr int kMaxGenTokens = 1 << 15;

struct GenerateRequest {
  std::vector<int32_t> context;
  std::vector<std::string> until;  // stop strings; the output is cut before the first one found
  int max_gen_toks = 256;  // 1..kMaxGenTokens
};

struct GenerateResult {
  std::string text;
  std::vector<int32_t> tokens;
  std::string stop_reason;  // "until", "eos", "max_tokens"
  int64_t n_input = 0, n_kept = 0, n_dropped = 0;  // context tokens, kept after left truncation, dropped
};

// Every entry point checks every token id of a request (context, continuation, prefix) against the model's
// vocabulary before any work: an id outside [0, vocab_size) is an error naming the request, the position and the id,
// never a read outside the embedding or the logits.
class Scorer {
 public:
  Scorer(Model& model, ScorerOptions opts);
  std::vector<LoglikelihoodResult> loglikelihood(std::span<const LoglikelihoodRequest> requests);
  // lm-eval's rolling windows: disjoint prediction windows of L tokens, the first conditioned on `prefix_token`
  // (BOS/EOT), each later one on the token before it.
  RollingResult loglikelihood_rolling(std::span<const int32_t> tokens, int32_t prefix_token);
  // Greedy. Left-truncates each context to L - max_gen_toks tokens. Stops at EOS (when the tokenizer has one),
  // at a stop string, or after max_gen_toks tokens.
  std::vector<GenerateResult> generate_until(std::span<const GenerateRequest> requests, const Tokenizer& tok) {
    return generate_until(requests, &tok);
  }
  // Token ids in and out need no tokenizer: with `tok` null, EOS is the model config's, no text is decoded and a
  // request may carry no stop strings.
  std::vector<GenerateResult> generate_until(std::span<const GenerateRequest> requests, const Tokenizer* tok);

  // Called after each batch with (requests done, total): progress reporting.
  std::function<void(int64_t, int64_t)> on_progress;

  // Every forward call since this scorer was made.
  const ForwardStats& forward_stats() const { return stats_; }

 private:
  struct Job;
  struct Slice;
  void run_jobs(std::vector<Job>& jobs);
  // One pass of loglikelihood scoring (scorer_schedule.cpp): the slices' shared contexts not yet computed, then
  // their continuations; a context's state is dropped after its last continuation.
  void score_pass(std::span<const LoglikelihoodRequest> requests, const std::vector<std::vector<size_t>>& groups,
                  const std::vector<Slice>& pass, std::vector<std::unique_ptr<SequenceState>>& prefixes,
                  std::vector<LoglikelihoodResult>& results);
  // The passes that score the groups (longest first) within opts_.state_memory and opts_.max_seqs.
  std::vector<std::vector<Slice>> plan_passes(std::span<const LoglikelihoodRequest> requests,
                                              const std::vector<std::vector<size_t>>& groups,
                                              const std::vector<LoglikelihoodResult>& results) const;
  void check_ids(std::span<const int32_t> ids, const char* what, size_t request) const;

  Model& model_;
  ScorerOptions opts_;
  ForwardStats stats_;
};

}  // namespace supra
