#pragma once
// Typed records of the llm-foundry converted JSONL files (mosaicml/llm-foundry scripts/eval/local_data): the
// multiple-choice query/choices/gold layout, WinoGrande in partial-scoring form and LAMBADA context/continuation.
// The texts are returned exactly as stored; building prompts from them is task logic (tasks/).
#include <array>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace supra::datasets {

// {"query": ..., "choices": [...], "gold": i}: arc_easy, arc_challenge, boolq, copa, piqa_llmfoundry,
// openbookqa_llmfoundry. What `query` holds differs per dataset (see each PROVENANCE.md): ARC "Question: <stem>"
// (no "\nAnswer:"), BoolQ "Passage: ...\nQuestion: ...?", COPA the premise with its connector, PIQA
// "Question: <goal>\n", OpenBookQA the bare stem.
struct ChoiceRecord {
  std::string query;
  std::vector<std::string> choices;
  int gold;  // 0-based index into choices
};

// n_choices: the exact number of choices every record must have, or nullopt for "at least 2". Errors name file,
// line and field (missing, wrong type, unexpected field, gold out of range, wrong number of choices).
std::vector<ChoiceRecord> read_choice_jsonl(const std::filesystem::path& file, std::optional<std::size_t> n_choices);

// {"context_options": [2 strings], "continuation": ..., "gold": 0|1}: the sentence split at the blank, each option
// filled in (lm-eval's partial scoring of winogrande).
struct WinograndeRecord {
  std::array<std::string, 2> context_options;
  std::string continuation;  // the text after the blank, as stored (no leading space)
  int gold;                  // 0-based index into context_options
};
std::vector<WinograndeRecord> read_winogrande_jsonl(const std::filesystem::path& file);

// {"context": ..., "continuation": ...}: the passage without its last word, and that word. The separating space
// is stored in neither (lm-eval scores " " + last word). As stored, not normalised: one record of the bundled test
// split (line 4463) has the continuation "\n\nrecorder", so the separator is not always a plain space.
struct LambadaRecord {
  std::string context;
  std::string continuation;  // never empty
};
std::vector<LambadaRecord> read_lambada_jsonl(const std::filesystem::path& file);

}  // namespace supra::datasets
