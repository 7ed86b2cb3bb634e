// Every built-in task by name, and the request-type / aggregation names stored with results.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "datasets/registry.h"
#include "core/error.h"
#include "tasks/builtin.h"
#include "tasks/task.h"

namespace supra::tasks {

const char* request_type_name(RequestType t) {
  switch (t) {
    case RequestType::Loglikelihood:
      return "loglikelihood";
    case RequestType::LoglikelihoodRolling:
      return "loglikelihood_rolling";
    case RequestType::GenerateUntil:
      return "generate_until";
  }
  return "unknown";
}

const char* aggregation_name(Aggregation a) {
  switch (a) {
    case Aggregation::Mean:
      return "mean";
    case Aggregation::Perplexity:
      return "perplexity";
    case Aggregation::WeightedPerplexity:
      return "weighted_perplexity";
    case Aggregation::BitsPerByte:
      return "bits_per_byte";
  }
  return "unknown";
}

size_t registry_records(std::string_view dataset) { return datasets::find_dataset(dataset).records; }

std::vector<std::string> task_names() {
  std::vector<std::string> names = {"hellaswag", "piqa",  "arc_easy", "arc_challenge", "winogrande",
                                    "lambada_openai", "boolq", "copa", "openbookqa", "mmlu"};
  for (const std::string& s : mmlu_subjects()) names.push_back("mmlu_" + s);
  return names;
}

std::unique_ptr<Task> make_task(const std::string& name) {
  static constexpr std::string_view kPerplexity = "perplexity:";
  if (name.starts_with(kPerplexity)) return make_perplexity_text(name.substr(kPerplexity.size()));
  if (name == "hellaswag") return make_hellaswag();
  if (name == "piqa") return make_piqa();
  if (name == "arc_easy" || name == "arc_challenge") return make_arc(name);
  if (name == "winogrande") return make_winogrande();
  if (name == "lambada_openai") return make_lambada_openai();
  if (name == "boolq") return make_boolq();
  if (name == "copa") return make_copa();
  if (name == "openbookqa") return make_openbookqa();
  if (name == "mmlu") return make_mmlu("");
  if (name.starts_with("mmlu_")) {
    const std::string subject = name.substr(5);
    for (const std::string& s : mmlu_subjects())
      if (s == subject) return make_mmlu(subject);
  }
  fail("unknown task \"{}\"; known tasks: {}, and perplexity:<path to a UTF-8 text file>", name,
       fmt::join(task_names(), ", "));
}

}  // namespace supra::tasks
