// Perplexity by position (EVALUATION.md section 7): where in its context does a model stop gaining from what it has
// read? make_task("ppl_by_position:<path>") on any UTF-8 text file.
//
// configure() cuts the text, at word boundaries, into consecutive documents of at most L tokens under the model's
// tokenizer (the largest whole-word prefix of what remains that fits), so each document is one window the model
// reads from its start: the token at position i is predicted from BOS and the i tokens before it. A final remainder
// shorter than L/2 tokens is dropped (it would only weigh the early buckets), unless it is the only document.
// Each document is one loglikelihood_rolling request; its per-token log-probabilities are summed per position
// bucket: [0, 16), [16, 32), [32, 64), ... doubling up to L. Metric ppl_pos_<end> (end = the bucket's exclusive upper
// edge, what the report's v_ppl_position view and plot read) = exp(-sum logprob / tokens) over every document's
// tokens in the bucket, plus token_perplexity over all tokens. The name carries the file's identity as
// perplexity:<path> does: "ppl_by_position:<basename>@<first 12 hex of its sha256>".
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "core/error.h"
#include "probes/registry.h"
#include "probes/probe_grid.h"
#include "tasks/named_text_file.h"

namespace supra::probes {

namespace {

constexpr int64_t kFirstBucketEnd = 16;

// Exclusive upper edges of the buckets for context length L: 16, 32, 64, ..., L (the last may be shorter).
std::vector<int64_t> bucket_ends(int64_t ctx) {
  std::vector<int64_t> e;
  for (int64_t b = kFirstBucketEnd; b < ctx; b *= 2) e.push_back(b);
  e.push_back(ctx);
  return e;
}

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

class PplByPosition final : public tasks::Task {
 public:
  explicit PplByPosition(const std::string& path) : file_("ppl_by_position", path) {}

  std::string name() const override { return file_.task_name(); }
  int version() const override { return 1; }
  std::string description() const override {
    return fmt::format("perplexity by token position of {} ({} bytes, sha256 {}) cut into documents of the context "
                       "length, buckets [0,16), [16,32), ... doubling",
                       file_.path().string(), file_.bytes(), file_.sha256());
  }
  std::string dataset() const override { return file_.path().string(); }
  std::string split() const override { return "file"; }
  std::vector<tasks::MetricSpec> metrics() const override {
    std::vector<tasks::MetricSpec> m;
    for (int64_t e : bucket_ends(ctx_ > 0 ? ctx_ : kFirstBucketEnd))
      m.push_back({fmt::format("ppl_pos_{}", e), tasks::Aggregation::WeightedPerplexity, false});
    m.push_back({"token_perplexity", tasks::Aggregation::WeightedPerplexity, false});
    return m;
  }

  void load(const std::string&) override {
    text_ = file_.read_unchanged();
    word_starts_.clear();
    for (size_t i = 0; i < text_.size(); i++)
      if (!is_space(text_[i]) && (i == 0 || is_space(text_[i - 1]))) word_starts_.push_back(i);
    docs_.clear();
    ctx_ = 0;
  }

  void configure(const tasks::TaskSettings& st) override {
    if (text_.empty()) fail("task {}: load() must be called before configure()", name());
    if (!st.count_tokens || st.ctx <= 0) fail("task {}: needs the run's context length and tokenizer", name());
    if (st.ctx == ctx_) return;
    ctx_ = st.ctx;
    docs_.clear();
    const size_t n_words = word_starts_.size();
    auto piece = [&](size_t w, size_t k) {  // words [w, w + k), trailing whitespace trimmed
      const size_t a = word_starts_[w];
      size_t b = w + k < n_words ? word_starts_[w + k] : text_.size();
      while (b > a && is_space(text_[b - 1])) b--;
      return std::string_view(text_).substr(a, b - a);
    };
    for (size_t w = 0; w < n_words;) {
      // A word is at least one token, so at most L words fit.
      const int64_t k_max = int64_t(std::min(n_words - w, size_t(ctx_)));
      int64_t k = largest_fitting(k_max, ctx_, [&](int64_t kk) { return st.count_tokens(piece(w, size_t(kk))); });
      if (k == 0) k = 1;  // one word longer than L tokens: the harness scores its first L tokens' windows
      const auto doc = piece(w, size_t(k));
      const bool last = w + size_t(k) >= n_words;
      if (!last || docs_.empty() || st.count_tokens(doc) * 2 >= ctx_) docs_.push_back(doc);
      w += size_t(k);
    }
  }
  int64_t size() const override { return int64_t(docs_.size()); }

  std::vector<tasks::Request> requests(int64_t doc, const tasks::TaskSettings& st) const override {
    check_doc(doc);
    if (st.shots != 0) fail("task {} takes no shots (got {})", name(), st.shots);
    if (st.ctx != ctx_) fail("task {}: configured for ctx {}, asked at ctx {}", name(), ctx_, st.ctx);
    tasks::Request r;
    r.type = tasks::RequestType::LoglikelihoodRolling;
    r.context = std::string(docs_[size_t(doc)]);
    return {r};
  }

  tasks::DocMetrics process(int64_t doc, const std::vector<tasks::Response>& responses) const override {
    check_doc(doc);
    if (responses.size() != 1) fail("task {}: {} responses for 1 request", name(), responses.size());
    const auto& lp = responses[0].token_logprobs;
    tasks::DocMetrics m;
    double total = 0;
    size_t i = 0;
    for (int64_t end : bucket_ends(ctx_)) {
      double sum = 0;
      int64_t n = 0;
      for (; i < lp.size() && int64_t(i) < end; i++, n++) sum += lp[i];
      total += sum;
      if (n > 0) m[fmt::format("ppl_pos_{}", end)] = {sum, double(n)};
    }
    for (; i < lp.size(); i++) total += lp[i];  // beyond L: only when one word exceeded L tokens
    m["token_perplexity"] = {total, double(lp.size())};
    return m;
  }

 private:
  void check_doc(int64_t doc) const {
    if (doc < 0 || doc >= size()) fail("task {}: doc {} is outside 0..{}", name(), doc, size() - 1);
  }
  tasks::NamedTextFile file_;
  std::string text_;
  std::vector<size_t> word_starts_;
  int64_t ctx_ = 0;
  std::vector<std::string_view> docs_;  // views into text_
};

}  // namespace

std::unique_ptr<tasks::Task> make_ppl_by_position(const std::string& path) {
  return std::make_unique<PplByPosition>(path);
}

}  // namespace supra::probes
