// LAMBADA (lm-eval `lambada_openai`, OpenAI's detokenised test set): output_type loglikelihood, one request per doc:
//   context = text.split(' ')[:-1] joined by ' ';  continuation = ' ' + text.split(' ')[-1]
//   perplexity = exp(-mean(ll)) over docs (lower is better);  acc = is_greedy (every target token is the argmax)
// Our file (llm-foundry) stores the two halves without the separating space, so the continuation is " " + the stored
// last word (for the one record whose last word is "\n\nrecorder" that gives " \n\nrecorder", as lm-eval's split on
// ' ' does). Few-shot examples (not used by the paper) follow lm-eval literally: context + " " (target delimiter) +
// " word" (doc_to_target), i.e. two spaces before the word.
#include <fmt/format.h>

#include "datasets/load.h"
#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/fewshot.h"

namespace supra::tasks {

namespace {

class LambadaOpenai final : public Task {
 public:
  std::string name() const override { return "lambada_openai"; }
  int version() const override { return 1; }
  std::string description() const override {
    return fmt::format("LAMBADA (OpenAI detokenised) test, {} docs (llm-foundry copy): last word given the passage, "
                       "perplexity and acc (greedy)",
                       registry_records("lambada_openai"));
  }
  std::string dataset() const override { return "lambada_openai"; }
  std::string split() const override { return "test"; }
  std::vector<MetricSpec> metrics() const override {
    return {{"perplexity", Aggregation::Perplexity, false}, {"acc", Aggregation::Mean, true}};
  }

  void load(const std::string& data_root) override {
    docs_ = datasets::load_lambada_openai(data_root);
    loaded_ = true;
  }
  int64_t size() const override { return static_cast<int64_t>(docs_.size()); }

  std::vector<Request> requests(int64_t doc, const TaskSettings& settings) const override {
    check_doc(doc);
    std::vector<std::string> shots;
    for (int64_t i : sample_fewshot(name(), size(), true, doc, settings.shots, settings.fewshot_seed))
      shots.push_back(docs_[size_t(i)].context + kTargetDelimiter + " " + docs_[size_t(i)].continuation);
    Request q;
    q.type = RequestType::Loglikelihood;
    q.context = fewshot_prefix("", shots) + docs_[size_t(doc)].context;
    q.continuation = " " + docs_[size_t(doc)].continuation;
    return {q};
  }

  DocMetrics process(int64_t doc, const std::vector<Response>& responses) const override {
    check_doc(doc);
    if (responses.size() != 1) fail("task lambada_openai, doc {}: {} responses for 1 request", doc, responses.size());
    return {{"perplexity", {responses[0].logprob, 1}}, {"acc", {responses[0].is_greedy ? 1.0 : 0.0, 1}}};
  }

 private:
  void check_doc(int64_t doc) const {
    if (!loaded_) fail("task lambada_openai: load() must be called before its documents are used");
    if (doc < 0 || doc >= size()) fail("task lambada_openai: doc {} is outside 0..{}", doc, size() - 1);
  }
  std::vector<datasets::LambadaRecord> docs_;
  bool loaded_ = false;
};

}  // namespace

std::unique_ptr<Task> make_lambada_openai() { return std::make_unique<LambadaOpenai>(); }

}  // namespace supra::tasks
