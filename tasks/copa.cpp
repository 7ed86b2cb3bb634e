// COPA (lm-eval `copa`, SuperGLUE) as lm-eval v0.4.x's super_glue/copa/utils.py writes it:
//   doc_to_text   = premise.strip()[:-1] + " because" (question "cause") / " therefore" (question "effect")
//   doc_to_choice = [" " + convert_choice(choice1), " " + convert_choice(choice2)]   (first letter lower-cased)
// and the request adds the target delimiter " " in front of each choice, so lm-eval v0.4.x scores the
// continuation "  " + choice: TWO spaces. We keep that: it is what the published numbers were made with (metric
// acc only, so the extra character changes no normalisation). Few-shot targets are doc_to_target =
// " " + convert_choice(correct choice), hence also two spaces after the delimiter.
// Our file is llm-foundry's: query = premise without its final period + ", because" / ", therefore" (the connector
// already applied, with a comma lm-eval does not have), choices already lower-cased. So the prompt is the query with
// that comma removed; convert_choice is applied again (a no-op on this data).
#include <fmt/format.h>

#include "datasets/load.h"
#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/multiple_choice.h"

namespace supra::tasks {

namespace {

// lm-eval's doc_to_choice entry: " " + convert_choice(c), convert_choice lower-casing the first character.
std::string copa_choice(const std::string& c) {
  std::string out(1, ' ');
  out += c;
  if (out.size() > 1 && out[1] >= 'A' && out[1] <= 'Z') out[1] = static_cast<char>(out[1] - 'A' + 'a');
  return out;
}

class Copa final : public ChoiceTask {
 public:
  Copa()
      : ChoiceTask({.name = "copa",
                    .description = fmt::format("COPA validation, {} docs (llm-foundry copy of SuperGLUE COPA): "
                                               "premise + because/therefore, 2 alternatives, acc",
                                               registry_records("copa")),
                    .dataset = "copa",
                    .split = "validation",
                    .norm = false}) {}

 protected:
  void load_docs(const std::filesystem::path& root) override {
    const std::vector<datasets::ChoiceRecord> records = datasets::load_choices("copa", root);
    for (size_t i = 0; i < records.size(); ++i) {
      const datasets::ChoiceRecord& r = records[i];
      std::string text;
      for (std::string_view connector : {"because", "therefore"}) {
        // ", because" in our data is " because" in lm-eval's doc_to_text.
        if (r.query.ends_with(connector) && r.query.size() > connector.size() + 2 &&
            r.query.compare(r.query.size() - connector.size() - 2, 2, ", ") == 0) {
          text = r.query;
          text.erase(text.size() - connector.size() - 2, 1);
        }
      }
      if (text.empty())
        fail("task copa: record {} has a query that ends in neither \", because\" nor \", therefore\": \"{}\"", i,
             r.query);
      ChoiceDoc d{std::move(text), {}, r.gold};
      for (const std::string& c : r.choices) d.choices.push_back(copa_choice(c));
      docs_.push_back(std::move(d));
    }
  }
};

}  // namespace

std::unique_ptr<Task> make_copa() { return std::make_unique<Copa>(); }

}  // namespace supra::tasks
