#include "datasets/csv.h"

#include "datasets/text_file.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

std::vector<CsvRow> parse_csv(std::string_view text, const fs::path& file) {
  std::vector<CsvRow> rows;
  std::size_t i = 0, line = 1, line_start = 0;
  const std::size_t n = text.size();
  auto col = [&](std::size_t pos) { return pos - line_start + 1; };
  auto newline_at = [&](std::size_t pos) {  // pos is just past a '\n'
    ++line;
    line_start = pos;
  };

  while (i < n) {
    CsvRow row{line, {}};
    // One iteration per field; the row ends at a line break or at the end of the text.
    while (true) {
      std::string field;
      if (i < n && text[i] == '"') {
        const std::size_t open_line = line, open_col = col(i);
        ++i;
        while (true) {
          if (i >= n)
            fail("{}:{}:{}: quoted field is not closed before the end of the file", file.string(), open_line, open_col);
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {  // "" is one literal quote
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          field += c;
          ++i;
          if (c == '\n') newline_at(i);
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n'))
          fail("{}:{}:{}: expected ',' or a line break after a closing quote, found '{}'", file.string(), line, col(i),
               text[i]);
      } else {
        // A quote inside an unquoted field is kept as a literal character, as Python's csv module keeps it (the
        // MMLU files have such fields, e.g. val/college_medicine_val.csv line 6).
        while (i < n && text[i] != ',' && text[i] != '\n') {
          if (text[i] == '\r') {
            if (i + 1 < n && text[i + 1] == '\n') break;
            fail("{}:{}:{}: bare carriage return outside quotes; expected \"\\n\" or \"\\r\\n\" line endings",
                 file.string(), line, col(i));
          }
          field += text[i++];
        }
      }
      row.fields.push_back(std::move(field));
      if (i < n && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < n && text[i] == '\r') ++i;  // the '\n' of "\r\n" follows (checked above)
      if (i < n && text[i] == '\n') {
        ++i;
        newline_at(i);
      }
      break;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<CsvRow> read_csv(const fs::path& file) {
  const std::string text = read_text_file(file);
  return parse_csv(text, file);
}

}  // namespace supra::datasets
