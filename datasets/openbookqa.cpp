#include "datasets/openbookqa.h"

#include "datasets/text_file.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHeader = "ID\tQuestion Stem\tChoices\tComplete Question\tAnswer Key";

std::vector<std::string_view> split_tabs(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t tab = s.find('\t', start);
    out.push_back(s.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

}  // namespace

std::array<std::string, 4> split_openbookqa_choices(std::string_view choices, const fs::path& file, std::size_t line) {
  // The markers are searched in order, " (B) " after "(A) " and so on, so a choice text may itself contain
  // parentheses; only the literal " (X) " with the next letter separates choices.
  if (!choices.starts_with("(A) "))
    fail("{}:{}: column \"Choices\": expected \"(A) .. (B) .. (C) .. (D) ..\", found \"{}\"", file.string(), line,
         choices.substr(0, 60));
  std::array<std::string, 4> out;
  std::size_t start = 4;
  for (int k = 0; k < 3; ++k) {
    const std::string marker = std::string(" (") + char('B' + k) + ") ";
    const std::size_t at = choices.find(marker, start);
    if (at == std::string_view::npos)
      fail("{}:{}: column \"Choices\": marker \"({})\" not found; expected \"(A) .. (B) .. (C) .. (D) ..\"",
           file.string(), line, char('B' + k));
    out[k] = std::string(choices.substr(start, at - start));
    start = at + marker.size();
  }
  out[3] = std::string(choices.substr(start));
  return out;
}

std::vector<OpenbookqaRecord> read_openbookqa_tsv(const fs::path& file) {
  const std::string text = read_text_file(file);
  const std::vector<Line> lines = split_lines(text, file, LineEnding::LfOnly);
  if (lines.empty() || lines[0].text != kHeader)
    fail("{}:1: expected the header \"{}\" (tab-separated), found \"{}\"", file.string(), kHeader,
         lines.empty() ? std::string_view() : lines[0].text.substr(0, 80));
  std::vector<OpenbookqaRecord> out;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const Line& line = lines[i];
    const std::vector<std::string_view> cols = split_tabs(line.text);
    if (cols.size() != 5)
      fail(
          "{}:{}: expected 5 tab-separated columns (ID, Question Stem, Choices, Complete Question, Answer Key), "
          "found {}",
          file.string(), line.number, cols.size());
    if (cols[0].empty()) fail("{}:{}: column \"ID\": empty", file.string(), line.number);
    if (cols[1].empty()) fail("{}:{}: column \"Question Stem\": empty", file.string(), line.number);
    if (cols[4].size() != 1 || cols[4][0] < 'A' || cols[4][0] > 'D')
      fail("{}:{}: column \"Answer Key\": expected one of A, B, C, D, found \"{}\"", file.string(), line.number,
           cols[4].substr(0, 40));
    out.push_back({std::string(cols[0]), std::string(cols[1]), split_openbookqa_choices(cols[2], file, line.number),
                   cols[4][0] - 'A'});
  }
  if (out.empty()) fail("{}: no questions after the header", file.string());
  return out;
}

}  // namespace supra::datasets
