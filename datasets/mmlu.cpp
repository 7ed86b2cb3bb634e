#include "datasets/mmlu.h"

#include <fmt/format.h>

#include "datasets/csv.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

std::string mmlu_subject(const fs::path& file, std::string_view split) {
  const std::string name = file.filename().string();
  const std::string suffix = fmt::format("_{}.csv", split);
  if (name.size() <= suffix.size() || !name.ends_with(suffix))
    fail("{}: expected an MMLU file named <subject>{}", file.string(), suffix);
  return name.substr(0, name.size() - suffix.size());
}

std::vector<MmluRecord> read_mmlu_csv(const fs::path& file, std::string_view split) {
  const std::string subject = mmlu_subject(file, split);
  const std::vector<CsvRow> rows = read_csv(file);
  if (rows.empty()) fail("{}: empty file; expected rows of question,A,B,C,D,answer", file.string());
  std::vector<MmluRecord> out;
  out.reserve(rows.size());
  for (const CsvRow& row : rows) {
    if (row.fields.size() != 6)
      fail("{}:{}: expected 6 columns (question, A, B, C, D, answer), found {}", file.string(), row.line,
           row.fields.size());
    const std::string& letter = row.fields[5];
    if (letter.size() != 1 || letter[0] < 'A' || letter[0] > 'D')
      fail("{}:{}: column \"answer\" (6th): expected one of A, B, C, D, found \"{}\"", file.string(), row.line,
           letter.substr(0, 40));
    out.push_back(
        {subject, row.fields[0], {row.fields[1], row.fields[2], row.fields[3], row.fields[4]}, letter[0] - 'A'});
  }
  return out;
}

}  // namespace supra::datasets
