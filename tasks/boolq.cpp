// BoolQ (lm-eval `boolq`, SuperGLUE): validation split, "{passage}\nQuestion: {question}?\nAnswer:", choices
// "no"/"yes" (continuations " no"/" yes"), acc. Our file is llm-foundry's, whose query is
// "Passage: {passage}\nQuestion: {question}?", so the prompt is the query without "Passage: ", + "\nAnswer:".
#include <fmt/format.h>

#include "datasets/load.h"
#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/multiple_choice.h"

namespace supra::tasks {

namespace {

class Boolq final : public ChoiceTask {
 public:
  Boolq()
      : ChoiceTask({.name = "boolq",
                    .description = fmt::format("BoolQ validation, {} docs (llm-foundry copy of SuperGLUE BoolQ): "
                                               "no/yes, acc",
                                               registry_records("boolq")),
                    .dataset = "boolq",
                    .split = "validation",
                    .norm = false}) {}

 protected:
  void load_docs(const std::filesystem::path& root) override {
    static constexpr std::string_view kPrefix = "Passage: ";
    const std::vector<datasets::ChoiceRecord> records = datasets::load_choices("boolq", root);
    for (size_t i = 0; i < records.size(); ++i) {
      const datasets::ChoiceRecord& r = records[i];
      if (!r.query.starts_with(kPrefix) || r.query.find("\nQuestion: ") == std::string::npos ||
          !r.query.ends_with("?"))
        fail("task boolq: record {} is not \"Passage: ...\\nQuestion: ...?\": \"{}\"", i, r.query.substr(0, 60));
      if (r.choices != std::vector<std::string>{"no", "yes"})
        fail("task boolq: record {} has choices other than [\"no\", \"yes\"]", i);
      docs_.push_back({r.query.substr(kPrefix.size()) + "\nAnswer:", r.choices, r.gold});
    }
  }
};

}  // namespace

std::unique_ptr<Task> make_boolq() { return std::make_unique<Boolq>(); }

}  // namespace supra::tasks
