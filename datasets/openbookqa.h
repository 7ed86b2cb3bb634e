#pragma once
// OpenBookQA official TSV (OpenBookQA-V1-Sep2018 Main/{test,dev}.tsv): a header line
//   ID<TAB>Question Stem<TAB>Choices<TAB>Complete Question<TAB>Answer Key
// then one question per line, choices packed as "(A) text (B) text (C) text (D) text". No quoting: fields never
// hold tabs or line breaks.
#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supra::datasets {

struct OpenbookqaRecord {
  std::string id;  // e.g. "8-343"
  std::string question_stem;
  std::array<std::string, 4> choices;  // texts of (A)..(D), without the "(X) " markers
  int answer;                          // 0..3 for the answer key A..D
};

// Splits "(A) a (B) b (C) c (D) d" into its 4 texts; `file`/`line` only name the source in errors.
std::array<std::string, 4> split_openbookqa_choices(std::string_view choices, const std::filesystem::path& file,
                                                    std::size_t line);

// Errors name file, line and column: a header that differs from the official one, a row without 5 tab-separated
// columns, a choices column not in the "(A) .. (D) .." form, an answer key not in A..D.
std::vector<OpenbookqaRecord> read_openbookqa_tsv(const std::filesystem::path& file);

}  // namespace supra::datasets
