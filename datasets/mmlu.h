#pragma once
// MMLU (hendrycks/test) CSV files: no header, 6 columns question, A, B, C, D, answer letter; one file per subject
// and split named <subject>_<split>.csv (e.g. dev/abstract_algebra_dev.csv). The bundled copy is a PRE-RELEASE
// snapshot (Sept 2020, test 14079 items vs 14042 in the final release): label its results as such.
#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supra::datasets {

struct MmluRecord {
  std::string subject;                 // from the file name, with underscores: "abstract_algebra"
  std::string question;                // as stored; may span lines (an embedded "\r\n" is kept, see csv.h)
  std::array<std::string, 4> choices;  // columns A, B, C, D
  int answer;                          // 0..3 for the answer letter A..D
};

// "<dir>/abstract_algebra_dev.csv" with split "dev" -> "abstract_algebra". A name that does not end in
// "_<split>.csv" is an error naming the file and the expected suffix.
std::string mmlu_subject(const std::filesystem::path& file, std::string_view split);

// One subject file. Errors name file, line and column name: a row without exactly 6 columns, an answer that is not
// one of A, B, C, D, an empty file.
std::vector<MmluRecord> read_mmlu_csv(const std::filesystem::path& file, std::string_view split);

}  // namespace supra::datasets
