// The seven official SCROLLS tasks and the spec-driven task behind them and the fixture tasks (scrolls_tasks.h).
#include "scrolls/scrolls_tasks.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datasets/registry.h"
#include "core/error.h"
#include "core/sha256.h"
#include "scrolls/fixtures.h"
#include "scrolls/registry.h"
#include "scrolls/metrics.h"
#include "scrolls/normalize.h"
#include "scrolls/scrolls_reader.h"
#include "scrolls/unicode.h"
#include "tasks/fewshot.h"
#include "tasks/multiple_choice.h"
#include "tasks/text_util.h"

namespace supra::scrolls {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSummaryQuery = "What is a summary of the preceding text?";
// lm-eval's ContractNLI.CHOICES, in its order (the order decides argmax ties).
const std::vector<std::string> kContractNliChoices = {"Not mentioned", "Entailment", "Contradiction"};

bool is_choice_kind(ScrollsKind k) { return k == ScrollsKind::Quality || k == ScrollsKind::ContractNli; }
bool is_summary_kind(ScrollsKind k) { return k == ScrollsKind::Summary || k == ScrollsKind::QuerySummary; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the SCROLLS file", path.string());
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) fail("{}: read error", path.string());
  return buf.str();
}

// One example, holding only what its requests and scoring need: the input text (query and document are views
// into it), the references, and for multiple choice the options and the gold index.
struct Doc {
  std::string input;
  size_t query_pos = 0, query_len = 0;  // the query within `input` (empty for plain summaries)
  size_t doc_pos = 0, doc_len = 0;      // the document within `input`
  std::vector<std::string> references;
  std::vector<std::string> choices;  // Quality / ContractNli
  int gold = -1;
  bool yes_no = false;  // Qasper: answered by loglikelihood of " yes" / " no"

  std::string_view query() const { return std::string_view(input).substr(query_pos, query_len); }
  std::string_view document() const { return std::string_view(input).substr(doc_pos, doc_len); }
};

size_t offset_in(const std::string& whole, std::string_view part) { return size_t(part.data() - whole.data()); }

class ScrollsTask final : public tasks::Task {
 public:
  ScrollsTask(ScrollsSpec spec, ScrollsSource source) : spec_(std::move(spec)), source_(std::move(source)) {}

  std::string name() const override { return spec_.name; }
  int version() const override { return 1; }
  std::string description() const override {
    if (source_.dataset.empty() && source_.path.empty() && file_.empty())
      return fmt::format("{}; data: --data DIR reads DIR/{}/validation.jsonl, or {}:<path>", spec_.about, spec_.name,
                         spec_.name);
    return fmt::format("{}; data: {}", spec_.about, data_label());
  }
  std::string dataset() const override { return data_label(); }
  std::string split() const override {
    if (!source_.dataset.empty()) return datasets::find_dataset(source_.dataset).split;
    return source_.path.empty() ? "validation" : "file";  // a named file may hold any split
  }
  int default_shots() const override { return spec_.default_shots; }
  tasks::TruncationPolicy default_truncation() const override { return tasks::TruncationPolicy::DocEnd; }
  bool has_documents() const override { return true; }
  std::string data_sha256() const override { return sha256_; }

  // SCROLLS's summarisation score: the geometric mean of the three ROUGE task numbers (each a mean x 100).
  std::vector<std::pair<std::string, double>> derived_metrics(
      const std::map<std::string, double>& agg) const override {
    if (!is_summary_kind(spec_.kind) || !agg.count("rouge1") || !agg.count("rouge2") || !agg.count("rougeL"))
      return {};
    return {{"score", geometric_mean3(agg.at("rouge1"), agg.at("rouge2"), agg.at("rougeL"))}};
  }

  std::vector<tasks::MetricSpec> metrics() const override {
    using tasks::Aggregation;
    if (is_summary_kind(spec_.kind))
      return {{"rouge1", Aggregation::Mean, true}, {"rouge2", Aggregation::Mean, true}, {"rougeL", Aggregation::Mean, true}};
    if (is_choice_kind(spec_.kind)) {
      std::vector<tasks::MetricSpec> m = tasks::choice_metric_specs(true);
      m.push_back({"em", Aggregation::Mean, true});
      return m;
    }
    return {{"f1", Aggregation::Mean, true}, {"em", Aggregation::Mean, true}};
  }

  void load(const std::string& data_root) override {
    docs_.clear();
    sha256_.clear();
    file_.clear();
    loaded_ = false;
    fs::path file;
    std::vector<ScrollsExample> examples;
    if (!source_.dataset.empty()) {
      // Bundled data: verified against the registry's sha256, which fixes it; data_sha256() stays "".
      examples = load_bundled_scrolls(source_.dataset, data_root);
      file = datasets::dataset_files(datasets::find_dataset(source_.dataset), data_root).front();
    } else {
      file = user_file(data_root);
      // Hash the very bytes we parse, so the run key describes the data that was scored.
      std::string text = read_file(file);
      sha256_ = sha256_hex(text);
      examples = parse_scrolls_jsonl(text, file.string());
    }
    if (examples.empty()) fail("task {}: {} holds no examples", spec_.name, file.string());
    file_ = file.string();
    docs_.reserve(examples.size());
    for (ScrollsExample& ex : examples) docs_.push_back(make_doc(std::move(ex), file));
    loaded_ = true;
  }

  int64_t size() const override { return int64_t(docs_.size()); }

  std::vector<tasks::Request> requests(int64_t doc, const tasks::TaskSettings& settings) const override {
    const Doc& d = at(doc);
    std::vector<std::string> shots;
    for (int64_t i : tasks::sample_fewshot(spec_.name, size(), true, doc, settings.shots, settings.fewshot_seed))
      shots.push_back(shot_text(docs_[size_t(i)]));
    tasks::PromptText parts{tasks::fewshot_prefix("", shots), std::string(d.document()), "\n\n" + query_line(d)};

    std::vector<tasks::Request> out;
    auto loglikelihood = [&](const std::string& choice) {
      tasks::Request r;
      r.type = tasks::RequestType::Loglikelihood;
      r.continuation = tasks::kTargetDelimiter + choice;
      r.parts = parts;
      out.push_back(std::move(r));
    };
    if (is_choice_kind(spec_.kind)) {
      for (const std::string& c : d.choices) loglikelihood(c);
    } else if (d.yes_no) {
      loglikelihood("yes");
      loglikelihood("no");
    } else {
      tasks::Request r;
      r.type = tasks::RequestType::GenerateUntil;
      r.until = {"\n"};
      r.max_gen_toks = spec_.max_gen_toks;
      r.parts = std::move(parts);
      out.push_back(std::move(r));
    }
    return out;
  }

  tasks::DocMetrics process(int64_t doc, const std::vector<tasks::Response>& responses) const override {
    const Doc& d = at(doc);
    const size_t expected = is_choice_kind(spec_.kind) ? d.choices.size() : d.yes_no ? 2 : 1;
    if (responses.size() != expected)
      fail("task {}, doc {}: {} responses for {} requests", spec_.name, doc, responses.size(), expected);
    if (is_choice_kind(spec_.kind)) {
      tasks::DocMetrics m = tasks::choice_metrics(spec_.name, doc, responses, d.choices, d.gold, true);
      m["em"] = {100.0 * m.at("acc_norm").value, 1};  // lm-eval's SCROLLS em is acc_norm x 100
      return m;
    }
    if (is_summary_kind(spec_.kind)) {
      const RougeF r = max_rouge(responses[0].text, d.references);
      return {{"rouge1", {100 * r.rouge1, 1}}, {"rouge2", {100 * r.rouge2, 1}}, {"rougeL", {100 * r.rougeL, 1}}};
    }
    std::string prediction;
    if (d.yes_no) {
      // lm-eval compares the (loglikelihood, is_greedy) tuples: is_greedy breaks an exact tie.
      const tasks::Response &yes = responses[0], &no = responses[1];
      const bool pick_yes = yes.logprob > no.logprob || (yes.logprob == no.logprob && yes.is_greedy && !no.is_greedy);
      prediction = pick_yes ? " yes" : " no";
    } else {
      prediction = responses[0].text;
      // lm-eval's Qasper: an empty answer means the model found none.
      if (spec_.kind == ScrollsKind::Qasper && tasks::py_strip(prediction).empty()) prediction = "Unanswerable";
    }
    return {{"f1", {100 * max_token_f1(prediction, d.references), 1}},
            {"em", {100 * max_exact_match(prediction, d.references), 1}}};
  }

 private:
  std::string data_label() const {
    if (!source_.dataset.empty()) return source_.dataset;
    if (!file_.empty()) return file_;  // the file load() read
    if (!source_.path.empty()) return source_.path;
    return "tau/scrolls:" + spec_.name;  // not loaded yet: the official dataset it expects (lm-eval's name)
  }

  fs::path user_file(const std::string& data_root) const {
    if (!source_.path.empty()) return source_.path;
    if (data_root.empty())
      fail("task {}: no SCROLLS data given; pass --data DIR to read DIR/{}/validation.jsonl (the layout of the "
           "official SCROLLS zips), or name the file as {}:<path to its JSONL>",
           spec_.name, spec_.name, spec_.name);
    const fs::path file = fs::path(data_root) / spec_.name / "validation.jsonl";
    if (!fs::exists(file))
      fail("task {}: {} does not exist (--data DIR must hold {}/validation.jsonl, as the official SCROLLS zips do; "
           "or name the file as {}:<path>)",
           spec_.name, file.string(), spec_.name, spec_.name);
    return file;
  }

  const Doc& at(int64_t doc) const {
    if (!loaded_) fail("task {}: load() must be called before its documents are used", spec_.name);
    if (doc < 0 || doc >= size()) fail("task {}: doc {} is outside 0..{}", spec_.name, doc, size() - 1);
    return docs_[size_t(doc)];
  }

  // The query line after the document (and, without its leading "\n\n", the start of a few-shot example).
  std::string query_line(const Doc& d) const {
    switch (spec_.kind) {
      case ScrollsKind::Summary:
        return fmt::format("Question: {}\nAnswer:", kSummaryQuery);
      case ScrollsKind::ContractNli:
        return fmt::format("Hypothesis: {}\nConclusion:", d.query());
      default:
        return fmt::format("Question: {}\nAnswer:", d.query());
    }
  }

  // A document-free example (see scrolls_tasks.h): its query line and its answer.
  std::string shot_text(const Doc& d) const {
    const std::string answer = is_choice_kind(spec_.kind) ? d.choices[size_t(d.gold)] : d.references.front();
    return query_line(d) + tasks::kTargetDelimiter + answer;
  }

  Doc make_doc(ScrollsExample&& ex, const fs::path& file) const {
    const std::string where = fmt::format("{}:{}", file.string(), ex.first_line);
    // Scoring needs answers: a test split (null outputs) cannot be evaluated.
    if (ex.references.empty())
      fail("{}: example '{}' has no reference output (a test split hides its answers; use validation)", where, ex.id);
    Doc d;
    d.input = std::move(ex.input);
    d.references = std::move(ex.references);
    if (spec_.kind == ScrollsKind::Summary) {
      d.doc_pos = 0;
      d.doc_len = d.input.size();
      return d;
    }
    const QueryDocument qd = split_query_document(d.input, where);
    d.query_pos = offset_in(d.input, qd.query);
    d.query_len = qd.query.size();
    d.doc_pos = offset_in(d.input, qd.document);
    d.doc_len = qd.document.size();
    switch (spec_.kind) {
      case ScrollsKind::Qasper:
        d.yes_no = std::all_of(d.references.begin(), d.references.end(), [](const std::string& r) {
          const std::string n = squad_normalize(r);
          return n == "yes" || n == "no";
        });
        break;
      case ScrollsKind::Quality: {
        QualityOptions q = parse_quality_options(qd.document, where);
        d.choices = std::move(q.choices);
        d.doc_pos = offset_in(d.input, q.article);
        d.doc_len = q.article.size();
        // lm-eval: gold = choices.index(normalised first output).
        const std::string gold = collapse_whitespace(d.references.front());
        auto it = std::find(d.choices.begin(), d.choices.end(), gold);
        if (it == d.choices.end())
          fail("{}: field 'output' (\"{}\") is not one of the {} options parsed from the input", where, gold,
               d.choices.size());
        d.gold = int(it - d.choices.begin());
        break;
      }
      case ScrollsKind::ContractNli: {
        d.choices = kContractNliChoices;
        auto it = std::find(d.choices.begin(), d.choices.end(), d.references.front());
        if (it == d.choices.end())
          fail("{}: field 'output' is \"{}\", expected Not mentioned, Entailment or Contradiction", where,
               d.references.front());
        d.gold = int(it - d.choices.begin());
        break;
      }
      default:
        break;
    }
    if (is_choice_kind(spec_.kind))
      for (const std::string& c : d.choices)
        if (c.empty()) fail("{}: an empty option (acc_norm divides by its length)", where);
    return d;
  }

  ScrollsSpec spec_;
  ScrollsSource source_;
  std::vector<Doc> docs_;
  std::string sha256_;
  std::string file_;
  bool loaded_ = false;
};

}  // namespace

std::string collapse_whitespace(std::string_view s) {
  const std::u32string cps = unicode::decode_utf8(s);
  std::string out;
  bool pending_space = false;
  for (char32_t c : cps) {
    if (unicode::is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    unicode::append_utf8(out, c);
  }
  return out;
}

QualityOptions parse_quality_options(std::string_view text, std::string_view source) {
  const size_t d_marker = text.find("(D)");
  if (d_marker == std::string_view::npos)
    fail("{}: expected the options (A) .. (D) after the question; found no \"(D)\"", source);
  const size_t blank = text.find("\n\n", d_marker);
  if (blank == std::string_view::npos)
    fail("{}: expected a blank line (\"\\n\\n\") between the options and the article; found none after \"(D)\"",
         source);
  const std::string_view options = text.substr(0, blank);
  // re.split(r" *\([A-D]\) *", options)[1:]: the pieces between markers, each marker with its surrounding spaces.
  std::vector<std::string> pieces;
  size_t start = 0, i = 0;
  while (i + 3 <= options.size()) {
    if (options[i] == '(' && options[i + 1] >= 'A' && options[i + 1] <= 'D' && options[i + 2] == ')') {
      size_t left = i;
      while (left > start && options[left - 1] == ' ') --left;
      pieces.emplace_back(options.substr(start, left - start));
      size_t right = i + 3;
      while (right < options.size() && options[right] == ' ') ++right;
      start = i = right;
    } else {
      ++i;
    }
  }
  pieces.emplace_back(options.substr(start));
  QualityOptions out;
  for (size_t k = 1; k < pieces.size(); ++k) out.choices.push_back(collapse_whitespace(pieces[k]));
  if (out.choices.size() < 2)
    fail("{}: expected options (A) .. (D) after the question, parsed {}", source, out.choices.size());
  // doc["text"][split:].strip(), with Python's whitespace. The stripped text starts with a non-space code point, so
  // its first occurrence in the unstripped text is where it starts (UTF-8 is self-synchronising).
  const std::string_view rest = text.substr(blank);
  const std::string stripped = tasks::py_strip(rest);
  const std::string_view article = rest.substr(rest.find(stripped), stripped.size());
  out.article = article;
  return out;
}

const std::vector<ScrollsSpec>& official_scrolls_specs() {
  static const std::vector<ScrollsSpec> specs = {
      {"gov_report", ScrollsKind::Summary, 1024, 0,
       "SCROLLS GovReport: summarise a government report; ROUGE-1/2/L (generation budget 1024)"},
      {"summ_screen_fd", ScrollsKind::Summary, 512, 0,
       "SCROLLS SummScreenFD: summarise a TV episode transcript; ROUGE-1/2/L (generation budget 512)"},
      {"qmsum", ScrollsKind::QuerySummary, 512, 0,
       "SCROLLS QMSum: query-based meeting summary; ROUGE-1/2/L (generation budget 512)"},
      {"qasper", ScrollsKind::Qasper, 128, 2,
       "SCROLLS Qasper: questions on NLP papers, yes/no by loglikelihood, others generated; F1 (budget 128)"},
      {"narrative_qa", ScrollsKind::QA, 64, 0,
       "SCROLLS NarrativeQA: questions on books and movie scripts; F1 (generation budget 64)"},
      {"quality", ScrollsKind::Quality, 0, 0,
       "SCROLLS QuALITY: 4-option multiple choice on long articles, by loglikelihood; EM = acc_norm x 100"},
      {"contract_nli", ScrollsKind::ContractNli, 0, 0,
       "SCROLLS ContractNLI: entailment / contradiction / not mentioned in a contract, by loglikelihood; EM"},
  };
  return specs;
}

const ScrollsSpec& official_scrolls_spec(const std::string& name) {
  std::vector<std::string_view> names;
  for (const ScrollsSpec& s : official_scrolls_specs()) {
    if (s.name == name) return s;
    names.push_back(s.name);
  }
  fail("{} is not an official SCROLLS task ({})", name, fmt::join(names, ", "));
}

std::unique_ptr<tasks::Task> make_spec_task(ScrollsSpec spec, ScrollsSource source) {
  if (!source.path.empty() && !source.dataset.empty())
    fail("task {}: give a file or a bundled dataset, not both", spec.name);
  return std::make_unique<ScrollsTask>(std::move(spec), std::move(source));
}

std::unique_ptr<tasks::Task> make_scrolls_task(const std::string& name, const std::string& path) {
  return make_spec_task(official_scrolls_spec(name), ScrollsSource{path, ""});
}

}  // namespace supra::scrolls
