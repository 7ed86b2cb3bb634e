#pragma once
// The Task interface (lm-eval's contract, EVALUATION.md sections 1-4): a task turns documents into requests on
// strings, and the model's responses back into per-document metrics, which aggregate into the task's numbers.
// Tasks know nothing of tokenizers, models, SQLite or CUDA: the harness tokenises the requests (continuation
// tokens = enc(ctx + cont)[len(enc(ctx)):]), runs them and stores everything.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/truncation.h"

namespace supra::tasks {

enum class RequestType { Loglikelihood, LoglikelihoodRolling, GenerateUntil };
const char* request_type_name(RequestType t);

// The text of a long-input prompt in three parts, so the run's truncation policy (EVALUATION.md section 6) can cut
// the document and keep the instruction, query and answer prefix: prompt = prefix + document + suffix. The harness
// tokenizes it into PromptTokens (tasks/truncation.h).
struct PromptText {
  std::string prefix;    // instruction, few-shot examples ("" when none)
  std::string document;  // the long text that may be cut
  std::string suffix;    // query and answer prefix, e.g. "\n\nQuestion: ...\nAnswer:"
};

struct Request {
  RequestType type = RequestType::Loglikelihood;
  std::string context;       // loglikelihood: the context (may be empty: the harness scores it after BOS)
                             // rolling: the whole text; generate_until: the prompt
  std::string continuation;  // loglikelihood only, with its leading delimiter (" " + choice)
  std::vector<std::string> until;  // generate_until only
  int max_gen_toks = 0;            // generate_until only
  // Long-input requests (loglikelihood or generate_until) set `parts` instead of `context`; the harness tokenizes
  // each part and fits the prompt into L - (generation budget or continuation length) with the run's policy.
  std::optional<PromptText> parts;
};

struct Response {
  double logprob = 0;      // loglikelihood / rolling: sum of log-probabilities (natural log)
  bool is_greedy = false;  // loglikelihood
  std::string text;        // generate_until: the generated text (cut at the stop string)
  int64_t n_tokens = 0;    // rolling: tokens scored
  std::vector<float> token_logprobs;  // rolling: one per token of the text, in order (perplexity by position)
};

// How per-document values combine into a task number.
enum class Aggregation {
  Mean,                // mean of values; stderr = sample std / sqrt(n)
  Perplexity,          // exp(-mean(values)) (lm-eval "perplexity": values are per-doc loglikelihoods)
  WeightedPerplexity,  // exp(-sum(values) / sum(weights)) (word/byte/token perplexity of rolling tasks)
  BitsPerByte,         // -sum(values) / sum(weights) / ln 2
};
const char* aggregation_name(Aggregation a);

struct MetricValue {
  double value = 0;
  double weight = 1;  // used by the weighted aggregations (tokens, words or bytes of the doc)
};
using DocMetrics = std::map<std::string, MetricValue>;

struct MetricSpec {
  std::string name;
  Aggregation aggregation = Aggregation::Mean;
  bool higher_is_better = true;
};

// Settings of a run that change a task's requests (part of every result's key).
struct TaskSettings {
  int shots = 0;                // few-shot examples per doc
  uint64_t fewshot_seed = 1234;  // lm-eval's default fewshot_seed (probes also seed their data with it)
  int64_t ctx = 0;              // context length L of the run: probes size their data to it
  // Tokens of a text under the model's tokenizer (no BOS). Set by the harness; probes size their data with it.
  std::function<int64_t(std::string_view)> count_tokens;
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual int version() const = 0;  // bumped whenever prompts, data or scoring change; stored with results
  virtual std::string description() const = 0;
  virtual std::string dataset() const = 0;  // registry name of its data (datasets/registry.h)
  virtual std::string split() const = 0;
  virtual int default_shots() const { return 0; }  // the paper's setting
  // Truncation policy when the run names none: Left (lm-eval) for short-input tasks; long-document tasks, whose
  // requests carry PromptText, use DocEnd (ZeroSCROLLS). A task without PromptText supports only Left.
  virtual TruncationPolicy default_truncation() const { return TruncationPolicy::Left; }
  virtual bool has_documents() const { return false; }  // requests carry PromptText
  // sha256 of data the user supplied (not in the bundled registry), part of the run key; "" for bundled data.
  // Valid after load().
  virtual std::string data_sha256() const { return ""; }
  virtual std::vector<MetricSpec> metrics() const = 0;
  // Loads the documents (verifying the data's sha256 first). Called once before the others.
  virtual void load(const std::string& data_root) = 0;
  // Called once per run after load() and before size(): probes whose documents depend on the context length (e.g.
  // a text cut into L-token documents) prepare them here. The same task object may serve several runs.
  virtual void configure(const TaskSettings& settings) { (void)settings; }
  virtual int64_t size() const = 0;
  // The requests for document `doc` (0 <= doc < size()), in a fixed order.
  virtual std::vector<Request> requests(int64_t doc, const TaskSettings& settings) const = 0;
  // Per-document metrics from the responses to requests(doc), in the same order.
  virtual DocMetrics process(int64_t doc, const std::vector<Response>& responses) const = 0;
  // Task numbers that are functions of other metrics' aggregates, not means of per-document values (SCROLLS's
  // summarisation score: the geometric mean of the ROUGE-1/2/L means). Given every aggregate value by name; the
  // harness stores the results with no stderr, higher is better.
  virtual std::vector<std::pair<std::string, double>> derived_metrics(
      const std::map<std::string, double>& aggregates) const {
    (void)aggregates;
    return {};
  }
};

// Aggregate of one metric over documents: value, stderr (NaN when undefined) and n.
struct Aggregate {
  double value = 0, stderr_ = 0;
  int64_t n = 0;
};
Aggregate aggregate(Aggregation how, const std::vector<MetricValue>& values);

// lm-eval's bootstrap_stderr(f, xs, iters) for f = the aggregation: resamples drawn in chunks of min(1000, iters),
// chunk c from random.Random(seed + c) with rnd.choices(xs, k=len(xs)); the sample standard deviation (n - 1) of the
// resampled aggregates. iters that are not a multiple of the chunk are rounded down to whole chunks, as lm-eval
// does. Errors: no values, fewer than 2 resamples.
double bootstrap_stderr(Aggregation how, const std::vector<MetricValue>& values, int iters = 1000,
                        uint64_t seed = 0);

}  // namespace supra::tasks
