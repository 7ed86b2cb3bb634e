#pragma once
// PIQA in its official layout (ybisk.github.io piqa/data): valid.jsonl holds {"goal", "sol1", "sol2"} per line and
// valid-labels.lst the index of the correct solution, one per line, in the same order. This is the data
// lm-evaluation-harness scores. (The llm-foundry copy, piqa_valid.llmfoundry.jsonl, is read by
// read_choice_jsonl; it strips the whitespace around the solutions, so 118 of its records are not byte-identical.)
#include <filesystem>
#include <string>
#include <vector>

namespace supra::datasets {

struct PiqaRecord {
  std::string goal;
  std::string sol1;
  std::string sol2;
  int label;  // 0: sol1 is correct, 1: sol2
};

// Errors: a malformed record (file, line, field), a label line that is not "0" or "1" (file, line), and different
// record counts in the two files (both files and both counts).
std::vector<PiqaRecord> read_piqa_official(const std::filesystem::path& jsonl, const std::filesystem::path& labels);

}  // namespace supra::datasets
