// WinoGrande (lm-eval `winogrande`, winogrande_xl validation = the official dev set), partial evaluation: the
// sentence is cut at its blank "_"; each option fills the blank and ends its own context, and the same
// continuation (the rest of the sentence after "_", stripped) is scored under both:
//   requests = [(prefix + option_i, " " + rest) for i in 0, 1];  acc = [argmax ll == gold]
// lm-eval (multiple_input) prepends the few-shot examples to each context; an example is the prefix filled with its
// correct option + " " + its rest. Our file is llm-foundry's, which stores exactly those pieces: context_options =
// the prefix with each option, continuation = the rest (we strip it again, as lm-eval's partial_target does).
#include <fmt/format.h>

#include "datasets/load.h"
#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/fewshot.h"
#include "tasks/multiple_choice.h"
#include "tasks/text_util.h"

namespace supra::tasks {

namespace {

class Winogrande final : public Task {
 public:
  std::string name() const override { return "winogrande"; }
  int version() const override { return 1; }
  std::string description() const override {
    return fmt::format("WinoGrande validation (winogrande_xl dev), {} docs (llm-foundry copy): partial scoring, "
                       "2 contexts, acc",
                       registry_records("winogrande"));
  }
  std::string dataset() const override { return "winogrande"; }
  std::string split() const override { return "validation"; }
  std::vector<MetricSpec> metrics() const override { return choice_metric_specs(false); }

  void load(const std::string& data_root) override {
    docs_ = datasets::load_winogrande(data_root);
    for (datasets::WinograndeRecord& r : docs_) r.continuation = py_strip(r.continuation);
    loaded_ = true;
  }
  int64_t size() const override { return static_cast<int64_t>(docs_.size()); }

  std::vector<Request> requests(int64_t doc, const TaskSettings& settings) const override {
    check_doc(doc);
    std::vector<std::string> shots;
    for (int64_t i : sample_fewshot(name(), size(), true, doc, settings.shots, settings.fewshot_seed)) {
      const datasets::WinograndeRecord& ex = docs_[size_t(i)];
      shots.push_back(ex.context_options[size_t(ex.gold)] + kTargetDelimiter + ex.continuation);
    }
    const std::string prefix = fewshot_prefix("", shots);
    const datasets::WinograndeRecord& r = docs_[size_t(doc)];
    std::vector<Request> out;
    for (const std::string& option : r.context_options) {
      Request q;
      q.type = RequestType::Loglikelihood;
      q.context = prefix + option;
      q.continuation = kTargetDelimiter + r.continuation;
      out.push_back(std::move(q));
    }
    return out;
  }

  DocMetrics process(int64_t doc, const std::vector<Response>& responses) const override {
    check_doc(doc);
    const datasets::WinograndeRecord& r = docs_[size_t(doc)];
    if (responses.size() != r.context_options.size())
      fail("task winogrande, doc {}: {} responses for {} contexts", doc, responses.size(), r.context_options.size());
    std::vector<double> ll;
    for (const Response& x : responses) ll.push_back(x.logprob);
    return {{"acc", {np_argmax(ll) == size_t(r.gold) ? 1.0 : 0.0, 1}}};
  }

 private:
  void check_doc(int64_t doc) const {
    if (!loaded_) fail("task winogrande: load() must be called before its documents are used");
    if (doc < 0 || doc >= size()) fail("task winogrande: doc {} is outside 0..{}", doc, size() - 1);
  }
  std::vector<datasets::WinograndeRecord> docs_;
  bool loaded_ = false;
};

}  // namespace

std::unique_ptr<Task> make_winogrande() { return std::make_unique<Winogrande>(); }

}  // namespace supra::tasks
