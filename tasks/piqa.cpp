// PIQA (lm-eval `piqa`): the official validation files, "Question: {goal}\nAnswer:", choices [sol1, sol2],
// acc / acc_norm. The texts are used as stored (the official jsonl is what lm-eval's HF dataset holds; some
// solutions end in a space, which stays part of the choice as it does in lm-eval).
#include <fmt/format.h>

#include "datasets/load.h"
#include "tasks/builtin.h"
#include "tasks/multiple_choice.h"

namespace supra::tasks {

namespace {

class Piqa final : public ChoiceTask {
 public:
  Piqa()
      : ChoiceTask({.name = "piqa",
                    .description = fmt::format("PIQA validation, {} docs (official ybisk valid.jsonl + labels): "
                                               "2 solutions, acc/acc_norm",
                                               registry_records("piqa")),
                    .dataset = "piqa",
                    .split = "validation"}) {}

 protected:
  void load_docs(const std::filesystem::path& root) override {
    for (const datasets::PiqaRecord& r : datasets::load_piqa(root)) {
      ChoiceDoc d;
      d.text = "Question: " + r.goal + "\nAnswer:";
      d.choices = {r.sol1, r.sol2};
      d.gold = r.label;
      docs_.push_back(std::move(d));
    }
  }
};

}  // namespace

std::unique_ptr<Task> make_piqa() { return std::make_unique<Piqa>(); }

}  // namespace supra::tasks
