// ARC-Easy and ARC-Challenge (lm-eval `arc_easy`, `arc_challenge`): test split, "Question: {question}\nAnswer:",
// the choice texts, acc / acc_norm. Our files are llm-foundry's, whose query is "Question: {question}" (without
// "\nAnswer:"), so the prompt is the query + "\nAnswer:".
#include <fmt/format.h>

#include "datasets/load.h"
#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/multiple_choice.h"

namespace supra::tasks {

namespace {

class Arc final : public ChoiceTask {
 public:
  explicit Arc(std::string_view which)
      : ChoiceTask({.name = std::string(which),
                    .description = fmt::format("ARC-{} test, {} docs (llm-foundry copy of allenai ARC): "
                                               "choice texts, acc/acc_norm",
                                               which == "arc_easy" ? "Easy" : "Challenge", registry_records(which)),
                    .dataset = std::string(which),
                    .split = "test"}) {}

 protected:
  void load_docs(const std::filesystem::path& root) override {
    const std::vector<datasets::ChoiceRecord> records = datasets::load_choices(info_.dataset, root);
    for (size_t i = 0; i < records.size(); ++i) {
      const datasets::ChoiceRecord& r = records[i];
      if (!r.query.starts_with("Question: "))
        fail("task {}: record {} has a query that does not start with \"Question: \": \"{}\"", info_.name, i,
             r.query.substr(0, 60));
      docs_.push_back({r.query + "\nAnswer:", r.choices, r.gold});
    }
  }
};

}  // namespace

std::unique_ptr<Task> make_arc(std::string_view which) {
  if (which != "arc_easy" && which != "arc_challenge")
    fail("make_arc: expected arc_easy or arc_challenge, found \"{}\"", which);
  return std::make_unique<Arc>(which);
}

}  // namespace supra::tasks
