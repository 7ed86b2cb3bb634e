#include "datasets/hellaswag.h"

#include "datasets/text_file.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

std::vector<HellaswagRecord> read_hellaswag_6line(const fs::path& file) {
  const std::string text = read_text_file(file);
  const std::vector<Line> lines = split_lines(text, file, LineEnding::LfOnly);
  if (lines.empty()) fail("{}: empty file; expected tasks of 6 lines (context, gold, 4 endings)", file.string());
  std::vector<HellaswagRecord> out;
  out.reserve(lines.size() / 6);
  // Tasks are checked in order, so a lost or extra line is reported at the first task it shifts.
  std::size_t i = 0;
  for (; i + 6 <= lines.size(); i += 6) {
    const Line& ctx_line = lines[i];
    // Activity labels never contain ": " (they are ActivityNet/WikiHow category names), the context may.
    const std::size_t colon = ctx_line.text.find(": ");
    if (colon == std::string_view::npos || colon == 0)
      fail("{}:{}: expected the context line \"<activity_label>: <ctx>\" (task {} of this file), found \"{}\"",
           file.string(), ctx_line.number, i / 6, ctx_line.text.substr(0, 80));
    const Line& gold_line = lines[i + 1];
    if (gold_line.text.size() != 1 || gold_line.text[0] < '0' || gold_line.text[0] > '3')
      fail("{}:{}: expected the gold ending index, one digit 0..3 (task {} of this file), found \"{}\"", file.string(),
           gold_line.number, i / 6, gold_line.text.substr(0, 80));
    HellaswagRecord r;
    r.activity_label = std::string(ctx_line.text.substr(0, colon));
    r.ctx = std::string(ctx_line.text.substr(colon + 2));
    r.gold = gold_line.text[0] - '0';
    for (int k = 0; k < 4; ++k) {
      const Line& e = lines[i + 2 + k];
      if (e.text.empty()) fail("{}:{}: ending {} of task {} of this file is empty", file.string(), e.number, k, i / 6);
      r.endings[k] = std::string(e.text);
    }
    out.push_back(std::move(r));
  }
  if (i < lines.size())
    fail("{}:{}: file ends inside a task: the last task has {} of its 6 lines (context, gold, 4 endings)",
         file.string(), lines[i].number, lines.size() - i);
  return out;
}

std::vector<HellaswagRecord> read_hellaswag_6line(const std::vector<fs::path>& parts) {
  if (parts.empty()) fail("read_hellaswag_6line: no part files given");
  std::vector<HellaswagRecord> out;
  for (const fs::path& part : parts) {
    std::vector<HellaswagRecord> records = read_hellaswag_6line(part);
    out.insert(out.end(), std::make_move_iterator(records.begin()), std::make_move_iterator(records.end()));
  }
  return out;
}

}  // namespace supra::datasets
