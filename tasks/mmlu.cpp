// MMLU (lm-eval `mmlu_<subject>` and the group `mmlu`), lm-eval's default template:
//   description = "The following are multiple choice questions (with answers) about {subject, '_' -> ' '}.\n\n"
//   doc_to_text = "{question.strip()}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer:",  choices "A".."D" (" A".." D")
//   5 shots from the dev split with the first_n sampler: the subject's first k dev rows in file order, each
//   doc_to_text + " " + letter, joined and ended by "\n\n", after the description.
// The group `mmlu` evaluates every subject's test rows (subjects alphabetical), each with its own description and
// shots, and its acc is the mean over all of them: the micro-average lm-eval reports for the group
// (weight_by_size). Its stderr is the plain mean stderr over all docs (lm-eval pools the subjects' variances
// instead; the two differ slightly).
// Data: hendrycks/test CSVs as committed on 2020-09-08, a PRE-RELEASE snapshot (test 14079 rows vs 14042 in the final
// release, a few subjects differ): not comparable with published MMLU numbers (datasets/data/mmlu/PROVENANCE.md).
#include <fmt/format.h>

#include <map>
#include <mutex>

#include "datasets/load.h"
#include "datasets/registry.h"
#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/fewshot.h"
#include "tasks/multiple_choice.h"
#include "tasks/text_util.h"

namespace supra::tasks {

const std::vector<std::string>& mmlu_subjects() {
  static const std::vector<std::string> subjects = {
      "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
      "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
      "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
      "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
      "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
      "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
      "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
      "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
      "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios",
      "nutrition", "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
      "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
      "world_religions"};
  return subjects;
}

namespace {

constexpr int kMmluVersion = 1;

// load_mmlu verifies 57 files; the group and 57 subject tasks of one run share one read per split and data root.
const std::vector<datasets::MmluRecord>& cached_mmlu(const std::string& split, const std::filesystem::path& root) {
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, std::vector<datasets::MmluRecord>> cache;
  const std::lock_guard<std::mutex> lock(mu);
  const auto key = std::make_pair(split, datasets::data_root(root).string());
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, datasets::load_mmlu(split, root)).first;
  return it->second;
}

ChoiceDoc mmlu_doc(const datasets::MmluRecord& r) {
  ChoiceDoc d;
  d.text = fmt::format("{}\nA. {}\nB. {}\nC. {}\nD. {}\nAnswer:", py_strip(r.question), r.choices[0], r.choices[1],
                       r.choices[2], r.choices[3]);
  d.choices = {"A", "B", "C", "D"};
  d.gold = r.answer;
  return d;
}

size_t subject_records(const std::string& subject) {
  const std::string path = "mmlu/test/" + subject + "_test.csv";
  for (const datasets::DataFile& f : datasets::find_dataset("mmlu_test").files)
    if (f.path == path) return f.records;
  fail("mmlu: the registry has no file {}", path);
}

class Mmlu final : public ChoiceTask {
 public:
  explicit Mmlu(std::string subject)
      : ChoiceTask({.name = subject.empty() ? "mmlu" : "mmlu_" + subject,
                    .description = describe(subject),
                    .dataset = "mmlu_test",
                    .split = "test",
                    .version = kMmluVersion,
                    .norm = false,
                    .default_shots = 5}),
        subject_(std::move(subject)) {}

 protected:
  void load_docs(const std::filesystem::path& root) override {
    subject_of_.clear();
    dev_.clear();
    std::map<std::string, size_t> index;
    for (const std::string& s : mmlu_subjects()) {
      index[s] = dev_.size();
      dev_.emplace_back();
    }
    for (const datasets::MmluRecord& r : cached_mmlu("dev", root)) {
      const auto it = index.find(r.subject);
      if (it == index.end()) fail("mmlu: the dev split has an unknown subject \"{}\"", r.subject);
      dev_[it->second].push_back(mmlu_doc(r));
    }
    for (const datasets::MmluRecord& r : cached_mmlu("test", root)) {
      if (!subject_.empty() && r.subject != subject_) continue;
      const auto it = index.find(r.subject);
      if (it == index.end()) fail("mmlu: the test split has an unknown subject \"{}\"", r.subject);
      docs_.push_back(mmlu_doc(r));
      subject_of_.push_back(it->second);
    }
    if (docs_.empty()) fail("task {}: no test rows for subject \"{}\"", info_.name, subject_);
    pool_is_eval_ = false;
  }

  std::string context_prefix(int64_t doc, const TaskSettings& settings) const override {
    const size_t s = subject_of_[size_t(doc)];
    const std::string& subject = mmlu_subjects()[s];
    const std::vector<ChoiceDoc>& dev = dev_[s];
    if (settings.shots < 0) fail("task {}: the number of shots must be >= 0, found {}", info_.name, settings.shots);
    if (size_t(settings.shots) > dev.size())
      fail("task {}: {} shots asked, but subject {} has only {} dev examples (first_n sampler)", info_.name,
           settings.shots, subject, dev.size());
    std::vector<std::string> shots;
    for (int i = 0; i < settings.shots; ++i) shots.push_back(shot_text(dev[size_t(i)]));
    return fewshot_prefix("The following are multiple choice questions (with answers) about " +
                              py_replace(subject, "_", " ") + ".\n\n",
                          shots);
  }

 private:
  static std::string describe(const std::string& subject) {
    if (subject.empty())
      return fmt::format("MMLU, all 57 subjects, test {} docs: PRE-RELEASE snapshot (hendrycks/test 2020-09-08; final "
                         "release has 14042), 5-shot first_n from dev, acc = micro-average",
                         registry_records("mmlu_test"));
    return fmt::format("MMLU {}, test {} docs: PRE-RELEASE snapshot (hendrycks/test 2020-09-08), 5-shot first_n "
                       "from dev, acc",
                       subject, subject_records(subject));
  }

  std::string subject_;
  std::vector<size_t> subject_of_;          // per doc: index into mmlu_subjects()
  std::vector<std::vector<ChoiceDoc>> dev_;  // per subject: its dev rows in file order
};

}  // namespace

std::unique_ptr<Task> make_mmlu(std::string_view subject) {
  if (!subject.empty()) {
    bool known = false;
    for (const std::string& s : mmlu_subjects()) known = known || s == subject;
    if (!known) fail("mmlu: unknown subject \"{}\"", subject);
  }
  return std::make_unique<Mmlu>(std::string(subject));
}

}  // namespace supra::tasks
