// Passkey retrieval (EVALUATION.md section 7; the LongLoRA / landmark-attention probe): a 5-digit key hidden at a
// chosen depth of repeated filler, sized to the run's context length with the model's tokenizer.
//
// Document d: depth kProbeDepths[d % 5], key drawn from a Python-compatible RNG seeded by (seed, d), so a run is
// reproducible and two seeds give two sets of keys. Prompt (lines joined by "\n"):
//   There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you
//   about the important information there.
//   <filler sentences 0 .. n_before-1>
//   The pass key is N. Remember it. N is the pass key.
//   <filler sentences n_before .. n-1>
//   What is the pass key? The pass key is
// The filler cycles through "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back
// again." one sentence at a time; n is the largest count of sentences whose prompt fits L - 12 tokens (the
// generation budget), n_before = round(n * depth / 100).
// Two requests per document: greedy generation (12 tokens, until "\n") scored by exact match of the first run of
// digits with N (acc, and acc_d<depth> for the heatmap), and the loglikelihood of " N" after the prompt
// (key_logprob, natural log): a graded signal where small models never retrieve the key exactly.
#include <array>

#include <fmt/format.h>

#include "core/error.h"
#include "probes/registry.h"
#include "probes/probe_grid.h"
#include "tasks/py_random.h"

namespace supra::probes {

namespace {

constexpr const char* kIntro =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you "
    "about the important information there.";
// The filler, one sentence at a time so the haystack can be sized to within a sentence (~5 tokens) of the budget.
constexpr std::array<const char*, 5> kFiller = {"The grass is green.", "The sky is blue.", "The sun is yellow.",
                                                "Here we go.", "There and back again."};
constexpr const char* kQuestion = "What is the pass key? The pass key is";
constexpr int kGenTokens = 12;

// Sentences [first, first + n) of the endlessly repeated filler, joined by spaces.
std::string filler(int64_t first, int64_t n) {
  std::string s;
  for (int64_t i = first; i < first + n; i++) {
    if (i > first) s += ' ';
    s += kFiller[size_t(i) % kFiller.size()];
  }
  return s;
}

class Passkey final : public tasks::Task {
 public:
  std::string name() const override { return "passkey"; }
  int version() const override { return 1; }
  std::string description() const override {
    return "passkey retrieval: a 5-digit key at depths 0/25/50/75/100% of filler sized to the context length, "
           "exact match of the greedy answer, and the key's loglikelihood";
  }
  std::string dataset() const override { return "synthetic"; }
  std::string split() const override { return "generated"; }
  std::vector<tasks::MetricSpec> metrics() const override {
    std::vector<tasks::MetricSpec> m = {{"acc", tasks::Aggregation::Mean, true}};
    for (int d : kProbeDepths) m.push_back({depth_metric("acc", d), tasks::Aggregation::Mean, true});
    m.push_back({"key_logprob", tasks::Aggregation::Mean, true});
    return m;
  }
  void load(const std::string&) override {}
  int64_t size() const override { return kProbeDocs; }

  static int64_t key_of(int64_t doc, uint64_t seed) {
    tasks::PyRandom rng(uint64_t(doc), seed);
    return 10000 + int64_t(rng.randbelow(90000));
  }

  static std::string prompt(int64_t key, int64_t n, int depth) {
    const int64_t before = items_before(n, depth);
    return fmt::format("{}\n{}\nThe pass key is {}. Remember it. {} is the pass key.\n{}\n{}", kIntro,
                       filler(0, before), key, key, filler(before, n - before), kQuestion);
  }

  std::vector<tasks::Request> requests(int64_t doc, const tasks::TaskSettings& st) const override {
    const ProbeCell cell = probe_cell(doc, name());
    if (st.shots != 0) fail("task passkey takes no shots (got {})", st.shots);
    if (!st.count_tokens || st.ctx <= 0) fail("task passkey: needs the run's context length and tokenizer");
    if (st.fewshot_seed != seed_)
      fail("task passkey: configure() was given seed {}, requests() {}", seed_, st.fewshot_seed);
    const int64_t key = key_of(doc, st.fewshot_seed);
    const int64_t budget = st.ctx - kGenTokens;
    const int64_t per_unit = std::max<int64_t>(1, st.count_tokens(kFiller[3]) - 2);  // the shortest sentence
    const int64_t n = largest_fitting(budget / per_unit + 2, budget,
                                      [&](int64_t k) { return st.count_tokens(prompt(key, k, cell.depth)); });
    tasks::Request gen;
    gen.type = tasks::RequestType::GenerateUntil;
    gen.context = prompt(key, n, cell.depth);
    gen.until = {"\n"};
    gen.max_gen_toks = kGenTokens;
    tasks::Request ll;
    ll.type = tasks::RequestType::Loglikelihood;
    ll.context = gen.context;
    ll.continuation = fmt::format(" {}", key);
    return {gen, ll};
  }

  tasks::DocMetrics process(int64_t doc, const std::vector<tasks::Response>& r) const override {
    const ProbeCell cell = probe_cell(doc, name());
    if (r.size() != 2) fail("task passkey: {} responses for 2 requests", r.size());
    const std::string& text = r[0].text;
    const size_t a = text.find_first_of("0123456789");
    const size_t b = a == std::string::npos ? a : text.find_first_not_of("0123456789", a);
    const std::string digits = a == std::string::npos ? "" : text.substr(a, b == std::string::npos ? b : b - a);
    const double hit = digits == std::to_string(key_of(doc, seed_)) ? 1.0 : 0.0;
    return {{"acc", {hit, 1}}, {depth_metric("acc", cell.depth), {hit, 1}}, {"key_logprob", {r[1].logprob, 1}}};
  }

  void configure(const tasks::TaskSettings& st) override { seed_ = st.fewshot_seed; }

 private:
  uint64_t seed_ = 0;  // of the run, for process() to know each document's key
};

}  // namespace

std::unique_ptr<tasks::Task> make_passkey() { return std::make_unique<Passkey>(); }

}  // namespace supra::probes
