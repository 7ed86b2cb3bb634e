// Perplexity of any UTF-8 text file: make_task("perplexity:<path>").
//
// The whole file is ONE document and one loglikelihood_rolling request (the harness scores it in disjoint windows of
// the context length, as lm-eval's rolling loglikelihood does), so its numbers are those of the text read start to
// end, not of pieces scored without their preceding context. Metrics, lm-eval's wikitext definitions plus tokens:
//   word_perplexity  = exp(-ll / words)   words = len(re.split(r"\s+", text))
//   byte_perplexity  = exp(-ll / bytes)   bytes = UTF-8 bytes
//   bits_per_byte    = -ll / bytes / ln 2
//   token_perplexity = exp(-ll / tokens)  tokens = Response::n_tokens (the model's own tokens scored)
// One document has no spread, so the stderr of each is NaN (aggregate() needs 2 docs to bootstrap).
// The name carries the file's identity: "perplexity:<basename>@<first 12 hex of its sha256>", so two different files
// (or an edited one) never share results. The file is read when the task is made (to name it) and again at load(),
// which fails if it changed in between.
#include <fmt/format.h>

#include <filesystem>

#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/named_text_file.h"
#include "tasks/text_util.h"

namespace supra::tasks {

namespace {

class PerplexityText final : public Task {
 public:
  explicit PerplexityText(const std::string& path) : file_("perplexity", path) {}

  std::string name() const override { return file_.task_name(); }
  int version() const override { return 1; }
  std::string description() const override {
    return fmt::format("perplexity of the text file {} ({} bytes, sha256 {}) as one rolling document: word/byte/token "
                       "perplexity, bits per byte",
                       file_.path().string(), file_.bytes(), file_.sha256());
  }
  std::string dataset() const override { return file_.path().string(); }
  std::string split() const override { return "file"; }
  std::vector<MetricSpec> metrics() const override {
    return {{"word_perplexity", Aggregation::WeightedPerplexity, false},
            {"byte_perplexity", Aggregation::WeightedPerplexity, false},
            {"bits_per_byte", Aggregation::BitsPerByte, false},
            {"token_perplexity", Aggregation::WeightedPerplexity, false}};
  }

  void load(const std::string&) override {
    std::string text = file_.read_unchanged();
    words_ = py_split_ws_count(text);
    text_ = std::move(text);
    loaded_ = true;
  }
  int64_t size() const override { return loaded_ ? 1 : 0; }

  std::vector<Request> requests(int64_t doc, const TaskSettings& settings) const override {
    check_doc(doc);
    if (settings.shots != 0) fail("task {}: a perplexity task takes no shots (found {})", name(), settings.shots);
    Request r;
    r.type = RequestType::LoglikelihoodRolling;
    r.context = text_;
    return {r};
  }

  DocMetrics process(int64_t doc, const std::vector<Response>& responses) const override {
    check_doc(doc);
    if (responses.size() != 1) fail("task {}: {} responses for 1 request", name(), responses.size());
    const double ll = responses[0].logprob;
    const auto bytes = static_cast<double>(text_.size());
    return {{"word_perplexity", {ll, static_cast<double>(words_)}},
            {"byte_perplexity", {ll, bytes}},
            {"bits_per_byte", {ll, bytes}},
            {"token_perplexity", {ll, static_cast<double>(responses[0].n_tokens)}}};
  }

 private:
  void check_doc(int64_t doc) const {
    if (!loaded_) fail("task {}: load() must be called before its documents are used", name());
    if (doc != 0) fail("task {}: doc {} is outside 0..0", name(), doc);
  }
  NamedTextFile file_;
  std::string text_;
  size_t words_ = 0;
  bool loaded_ = false;
};

}  // namespace

std::unique_ptr<Task> make_perplexity_text(const std::string& path) { return std::make_unique<PerplexityText>(path); }

}  // namespace supra::tasks
