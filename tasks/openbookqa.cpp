// OpenBookQA (lm-eval `openbookqa`, main): test split, the question stem as the prompt, the 4 choice texts,
// acc / acc_norm. Data: the official AllenAI TSVs. lm-eval draws few-shot examples from the train split, which we do
// not bundle; ours come from the validation split (dev.tsv), sampled as tasks/fewshot.h describes.
#include <fmt/format.h>

#include "datasets/load.h"
#include "tasks/builtin.h"
#include "tasks/multiple_choice.h"

namespace supra::tasks {

namespace {

std::vector<ChoiceDoc> to_docs(const std::vector<datasets::OpenbookqaRecord>& records) {
  std::vector<ChoiceDoc> out;
  for (const datasets::OpenbookqaRecord& r : records)
    out.push_back({r.question_stem, std::vector<std::string>(r.choices.begin(), r.choices.end()), r.answer});
  return out;
}

class Openbookqa final : public ChoiceTask {
 public:
  Openbookqa()
      : ChoiceTask({.name = "openbookqa",
                    .description = fmt::format("OpenBookQA main test, {} docs (official AllenAI TSV; shots from the "
                                               "validation split): question stem, 4 choices, acc/acc_norm",
                                               registry_records("openbookqa")),
                    .dataset = "openbookqa",
                    .split = "test"}) {}

 protected:
  void load_docs(const std::filesystem::path& root) override {
    docs_ = to_docs(datasets::load_openbookqa("openbookqa", root));
    pool_ = to_docs(datasets::load_openbookqa("openbookqa_dev", root));
    pool_is_eval_ = false;
  }
};

}  // namespace

std::unique_ptr<Task> make_openbookqa() { return std::make_unique<Openbookqa>(); }

}  // namespace supra::tasks
