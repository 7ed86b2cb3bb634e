#pragma once
// RFC 4180 CSV: fields separated by ',', records ended by "\n" or "\r\n", a field in double quotes may hold commas,
// line breaks and quotes written as "". A quoted field's content is kept byte for byte (an embedded "\r\n" stays
// "\r\n"), as Python's csv module and pandas keep it, so prompts built from it match lm-eval's.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supra::datasets {

struct CsvRow {
  std::size_t line;  // 1-based line where the row starts (a row can span lines)
  std::vector<std::string> fields;
};

// Parses `text`; `file` only names the source in errors. Errors (file:line:column): a character other than ',' or
// a line break after a closing quote, a bare '\r' outside quotes, a quoted field still open at the end of the text
// (reported at the line where it opened). A quote inside an unquoted field (a"b) is a literal character, as in
// Python's csv module. A blank line is a row with one empty field.
std::vector<CsvRow> parse_csv(std::string_view text, const std::filesystem::path& file);

// Reads a UTF-8 file (read_text_file) and parses it.
std::vector<CsvRow> read_csv(const std::filesystem::path& file);

}  // namespace supra::datasets
