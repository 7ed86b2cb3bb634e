// Key-value retrieval ("Lost in the Middle" style, EVALUATION.md section 7): a JSON object of random UUID pairs
// sized to the run's context length with the model's tokenizer, the asked pair at a chosen depth.
//
// Data: the bundled fixture scrolls_fixtures/kv_retrieval/validation.jsonl (SCROLLS layout, converted from
// llm-foundry's kv_pairs_middle_len_4096): input = `Key: "<uuid>"` + "\n\n" + a JSON object of uuid pairs,
// output = the value. Every pair of every example forms one pool of distractors.
// Document d (d < 25): the asked pair is example d's; depth kProbeDepths[d % 5]; distractors are the pool without
// the asked key, shuffled by a Python-compatible RNG seeded by (seed, d); m distractors, the largest count whose
// prompt fits L - 48 tokens (the generation budget), with round(m * depth / 100) of them before the asked pair.
// Prompt:
//   Extract the value corresponding to the specified key in the JSON object below.
//
//   JSON data:
//   {"k1": "v1", "k2": "v2", ...}
//
//   Key: "<key>"
//   Corresponding value:
// Requests: greedy generation until "\n" (48 tokens), exact match after stripping spaces and quotes (acc,
// acc_d<depth>); the loglikelihood of " <value>" (value_logprob), a graded signal for small models.
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "datasets/registry.h"
#include "core/error.h"
#include "probes/registry.h"
#include "probes/probe_grid.h"
#include "scrolls/scrolls_reader.h"
#include "tasks/py_random.h"

namespace supra::probes {

namespace {

constexpr const char* kFixture = "scrolls_fixtures/kv_retrieval/validation.jsonl";
constexpr int kGenTokens = 48;

struct Pair {
  std::string key, value;
};

// The registry entry holding the fixture file (so it is verified by sha256 like every bundled dataset).
const datasets::DatasetInfo& fixture_dataset() {
  for (const auto& d : datasets::all_datasets())
    for (const auto& f : d.files)
      if (f.path == kFixture) return d;
  fail("kv_retrieval: the datasets registry has no entry for {}", kFixture);
}

std::string strip_answer(std::string_view s) {
  const char* junk = " \t\n\"'";
  const size_t a = s.find_first_not_of(junk);
  if (a == std::string_view::npos) return "";
  const size_t b = s.find_last_not_of(junk);
  return std::string(s.substr(a, b - a + 1));
}

class KvRetrieval final : public tasks::Task {
 public:
  std::string name() const override { return "kv_retrieval"; }
  int version() const override { return 1; }
  std::string description() const override {
    return "key-value retrieval: a JSON object of UUID pairs sized to the context length, the asked pair at depths "
           "0/25/50/75/100%, exact match of the greedy value and the value's loglikelihood";
  }
  std::string dataset() const override { return fixture_dataset().name; }
  std::string split() const override { return "validation"; }
  std::vector<tasks::MetricSpec> metrics() const override {
    std::vector<tasks::MetricSpec> m = {{"acc", tasks::Aggregation::Mean, true}};
    for (int d : kProbeDepths) m.push_back({depth_metric("acc", d), tasks::Aggregation::Mean, true});
    m.push_back({"value_logprob", tasks::Aggregation::Mean, true});
    return m;
  }

  void load(const std::string& data_root) override {
    const auto& info = fixture_dataset();
    datasets::verify(info, data_root);
    const auto path = datasets::dataset_files(info, data_root).at(0);
    asked_.clear();
    pool_.clear();
    for (const scrolls::ScrollsExample& ex : scrolls::read_scrolls_jsonl(path)) {
      const std::string where = fmt::format("{} line {}", path.string(), ex.first_line);
      const scrolls::QueryDocument qd = scrolls::split_query_document(ex.input, where);
      const std::string_view q = qd.query;
      if (!q.starts_with("Key: \"") || !q.ends_with("\"") || ex.references.size() != 1)
        fail("{}: expected input `Key: \"<key>\"` + blank line + JSON object, and one output", where);
      Pair asked{std::string(q.substr(6, q.size() - 7)), ex.references[0]};
      nlohmann::ordered_json obj;
      try {
        obj = nlohmann::ordered_json::parse(qd.document);
      } catch (const std::exception& e) {
        fail("{}: the document is not a JSON object: {}", where, e.what());
      }
      if (!obj.is_object()) fail("{}: the document is not a JSON object", where);
      bool found = false;
      for (const auto& [k, v] : obj.items()) {
        if (!v.is_string()) fail("{}: value of key {} is not a string", where, k);
        pool_.push_back({k, v.get<std::string>()});
        found = found || (k == asked.key && v.get<std::string>() == asked.value);
      }
      if (!found) fail("{}: the asked key and value are not in the JSON object", where);
      asked_.push_back(std::move(asked));
    }
    if (int64_t(asked_.size()) < kProbeDocs)
      fail("{}: {} examples, the probe needs {}", path.string(), asked_.size(), kProbeDocs);
  }
  int64_t size() const override { return asked_.empty() ? 0 : kProbeDocs; }

  std::string build(const Pair& asked, const std::vector<Pair>& distractors, int64_t m, int depth) const {
    const int64_t before = items_before(m, depth);
    std::string obj = "{";
    auto add = [&obj](const Pair& p) {
      if (obj.size() > 1) obj += ", ";
      obj += fmt::format("\"{}\": \"{}\"", p.key, p.value);
    };
    for (int64_t i = 0; i < before; i++) add(distractors[size_t(i)]);
    add(asked);
    for (int64_t i = before; i < m; i++) add(distractors[size_t(i)]);
    obj += "}";
    return fmt::format(
        "Extract the value corresponding to the specified key in the JSON object below.\n\nJSON data:\n{}\n\nKey: "
        "\"{}\"\nCorresponding value:",
        obj, asked.key);
  }

  std::vector<Pair> distractors(int64_t doc, uint64_t seed) const {
    const Pair& asked = asked_[size_t(doc)];
    std::vector<Pair> d;
    for (const Pair& p : pool_)
      if (p.key != asked.key) d.push_back(p);
    tasks::PyRandom rng(uint64_t(doc), seed);
    for (size_t i = d.size(); i > 1; i--) std::swap(d[i - 1], d[size_t(rng.randbelow(i))]);  // Fisher-Yates
    return d;
  }

  std::vector<tasks::Request> requests(int64_t doc, const tasks::TaskSettings& st) const override {
    const ProbeCell cell = probe_cell(doc, name());
    if (asked_.empty()) fail("task kv_retrieval: load() must be called first");
    if (st.shots != 0) fail("task kv_retrieval takes no shots (got {})", st.shots);
    if (!st.count_tokens || st.ctx <= 0) fail("task kv_retrieval: needs the run's context length and tokenizer");
    const Pair& asked = asked_[size_t(doc)];
    const auto d = distractors(doc, st.fewshot_seed);
    const int64_t budget = st.ctx - kGenTokens;
    const int64_t per_pair = std::max<int64_t>(1, st.count_tokens(build(asked, d, 1, 0)) -
                                                      st.count_tokens(build(asked, d, 0, 0)) - 2);
    const int64_t m = largest_fitting(std::min<int64_t>(int64_t(d.size()), budget / per_pair + 2), budget,
                                      [&](int64_t k) { return st.count_tokens(build(asked, d, k, cell.depth)); });
    tasks::Request gen;
    gen.type = tasks::RequestType::GenerateUntil;
    gen.context = build(asked, d, m, cell.depth);
    gen.until = {"\n"};
    gen.max_gen_toks = kGenTokens;
    tasks::Request ll;
    ll.type = tasks::RequestType::Loglikelihood;
    ll.context = gen.context;
    ll.continuation = " " + asked.value;
    return {gen, ll};
  }

  tasks::DocMetrics process(int64_t doc, const std::vector<tasks::Response>& r) const override {
    const ProbeCell cell = probe_cell(doc, name());
    if (r.size() != 2) fail("task kv_retrieval: {} responses for 2 requests", r.size());
    const double hit = strip_answer(r[0].text) == asked_[size_t(doc)].value ? 1.0 : 0.0;
    return {{"acc", {hit, 1}}, {depth_metric("acc", cell.depth), {hit, 1}}, {"value_logprob", {r[1].logprob, 1}}};
  }

 private:
  std::vector<Pair> asked_;  // per example: the key asked and its value
  std::vector<Pair> pool_;   // every pair of every example, file order
};

}  // namespace

std::unique_ptr<tasks::Task> make_kv_retrieval() { return std::make_unique<KvRetrieval>(); }

}  // namespace supra::probes
