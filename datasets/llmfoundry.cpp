#include "datasets/llmfoundry.h"

#include <fmt/format.h>

#include "datasets/jsonl.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

std::vector<ChoiceRecord> read_choice_jsonl(const fs::path& file, std::optional<std::size_t> n_choices) {
  std::vector<ChoiceRecord> out;
  for (const JsonlRecord& rec : read_jsonl(file)) {
    JsonFields f(file, rec);
    f.expect_only({"query", "choices", "gold"});
    ChoiceRecord r;
    r.query = f.string("query");
    r.choices = f.strings("choices");
    if (n_choices && r.choices.size() != *n_choices)
      f.fail_field("choices", fmt::format("expected {} choices, found {}", *n_choices, r.choices.size()));
    if (r.choices.size() < 2)
      f.fail_field("choices", fmt::format("expected at least 2 choices, found {}", r.choices.size()));
    r.gold = int(f.integer_in("gold", 0, std::int64_t(r.choices.size()) - 1));
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<WinograndeRecord> read_winogrande_jsonl(const fs::path& file) {
  std::vector<WinograndeRecord> out;
  for (const JsonlRecord& rec : read_jsonl(file)) {
    JsonFields f(file, rec);
    f.expect_only({"context_options", "continuation", "gold"});
    std::vector<std::string> options = f.strings("context_options");
    if (options.size() != 2)
      f.fail_field("context_options", fmt::format("expected 2 options, found {}", options.size()));
    WinograndeRecord r{
        {std::move(options[0]), std::move(options[1])}, f.string("continuation"), int(f.integer_in("gold", 0, 1))};
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<LambadaRecord> read_lambada_jsonl(const fs::path& file) {
  std::vector<LambadaRecord> out;
  for (const JsonlRecord& rec : read_jsonl(file)) {
    JsonFields f(file, rec);
    f.expect_only({"context", "continuation"});
    LambadaRecord r{f.string("context"), f.string("continuation")};
    if (r.continuation.empty()) f.fail_field("continuation", "expected the last word, found an empty string");
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace supra::datasets
