// The NLU tasks' rows of the task table, and the request-type / aggregation names stored with results.
#include "datasets/registry.h"
#include "tasks/builtin.h"
#include "tasks/task.h"
#include "tasks/task_factory.h"

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

const TaskTable& task_factories() {
  static const TaskTable table = [] {
    auto fixed = [](std::string name, std::function<std::unique_ptr<Task>()> make) {
      return TaskFactory{std::move(name), TaskPath::None, [make](const std::string&) { return make(); }, ""};
    };
    TaskTable t = {
        fixed("hellaswag", make_hellaswag),
        fixed("piqa", make_piqa),
        fixed("arc_easy", [] { return make_arc("arc_easy"); }),
        fixed("arc_challenge", [] { return make_arc("arc_challenge"); }),
        fixed("winogrande", make_winogrande),
        fixed("lambada_openai", make_lambada_openai),
        fixed("boolq", make_boolq),
        fixed("copa", make_copa),
        fixed("openbookqa", make_openbookqa),
        fixed("mmlu", [] { return make_mmlu(""); }),
    };
    for (const std::string& s : mmlu_subjects()) t.push_back(fixed("mmlu_" + s, [s] { return make_mmlu(s); }));
    t.push_back({"perplexity", TaskPath::Required, make_perplexity_text,
                 "perplexity of a UTF-8 text file as one rolling document (word/byte/token perplexity, bits per "
                 "byte); a task per file"});
    return t;
  }();
  return table;
}

}  // namespace supra::tasks
