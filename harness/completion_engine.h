#pragma once
// The engine behind `supra-eval serve`: one thread owns the model (the one that calls run(): the thread that made
// the backend, so its thread settings, e.g. OpenMP's thread count, apply); HTTP threads queue the prompts of their
// requests and wait for the outputs. Each round takes what is queued (up to max_batch prompts), computes the contexts they
// share once (the prefix cache, harness/prefix_cache.h), feeds every prompt's remaining tokens through batched
// forwards, then decodes all of them step by step together. What a prompt gets does not depend on what else is in
// its batch, except for floating-point rounding of the batched matrix products.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/tokenizer.h"
#include "harness/prefix_cache.h"

namespace supra {

// One prompt of a completions request, already checked by the server (ids in the vocabulary, length within ctx).
struct CompletionJob {
  std::vector<int32_t> prompt;   // non-empty
  bool echo = false;             // also score every prompt token
  int logprobs = -1;             // -1: no log-probabilities; else this many alternatives per position (0 allowed)
  int max_tokens = 16;           // tokens to generate (0 allowed with echo)
  double temperature = 1.0;      // 0: greedy (argmax, first on ties)
  double top_p = 1.0;            // nucleus sampling mass
  int top_k = 0;                 // 0: all tokens
  std::optional<uint64_t> seed;  // same seed, same prompt, same settings: same tokens
  std::vector<std::string> stop;  // the text is cut before the first stop string found
};

struct CompletionOutput {
  std::vector<TokenScore> prompt_scores;  // echo: one per prompt token ([0] has no prediction)
  std::vector<int32_t> generated;          // tokens generated (EOS not included)
  std::vector<TokenScore> generated_scores;
  std::string text;                       // generated text, cut before the first stop string
  std::string finish_reason;              // "stop" (EOS or a stop string) | "length"
  int64_t cached_tokens = 0;              // prompt tokens whose state came from the prefix cache
};

struct CompletionEngineOptions {
  int64_t ctx = 0;            // context length: prompt + generated tokens must fit
  int max_batch = 32;         // prompts per round
  int64_t ubatch = 512;       // tokens per forward call
  size_t cache_bytes = 0;     // prefix cache budget; 0 disables it
  int max_logprobs = 20;      // most alternatives per position a request may ask for
};

class CompletionEngine {
 public:
  CompletionEngine(Model& model, const Tokenizer* tok, CompletionEngineOptions opts);
  // Requests still queued get an error.
  ~CompletionEngine();
  CompletionEngine(const CompletionEngine&) = delete;
  CompletionEngine& operator=(const CompletionEngine&) = delete;

  // Thread safe. The outputs of `jobs`, in order, or the engine's error.
  std::future<std::vector<CompletionOutput>> submit(std::vector<CompletionJob> jobs);
  // Serves the queue on the calling thread until stop().
  void run();
  // Thread safe: run() returns after the round in progress; later submits fail.
  void stop();

  struct Stats {
    int64_t requests = 0, prompts = 0, rounds = 0;
    int64_t fed_tokens = 0;    // tokens fed through the model (prompts, shared prefixes, generated)
    int64_t cached_tokens = 0;  // prompt tokens taken from the cache instead
    size_t cache_bytes = 0, cache_entries = 0;
  };
  Stats stats() const;
  const CompletionEngineOptions& options() const { return opts_; }
  int eos_id() const { return eos_; }

 private:
  struct Pending {
    std::vector<CompletionJob> jobs;
    std::promise<std::vector<CompletionOutput>> done;
  };
  struct Item;
  struct Feed;
  void run_round(std::vector<Pending>& round);
  void build_prefixes(std::vector<Item>& items, int top_k);
  void prefill(std::vector<Item>& items, int top_k);
  void decode(std::vector<Item>& items, int top_k);
  void feed(std::vector<Feed>& feeds);
  size_t take_scores(const CacheHit& hit, const std::vector<int32_t>& tokens, int top_k,
                     std::vector<TokenScore>& scores) const;

  Model& model_;
  const Tokenizer* tok_;
  CompletionEngineOptions opts_;
  int eos_ = -1;
  bool rewindable_ = false;  // this model's states can be cut to a prefix (KV caches): whole prompts are cached
  PrefixCache cache_;  // engine thread only

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  Stats stats_;
};

// Log-softmax of one logits row [V], computed as the CPU backend's log_softmax_gather does (fp32 max, fp64 sum), so
// a token's value equals the scorer's for the same logits.
void log_softmax_row(const float* logits, int64_t V, float* out);
// The `k` most likely tokens of a log-softmax row, highest first (lower id first on ties).
std::vector<std::pair<int32_t, float>> top_tokens(const std::vector<float>& row, int k);

}  // namespace supra
