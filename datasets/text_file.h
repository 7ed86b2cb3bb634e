#pragma once
// Reading a benchmark text file whole and walking its lines. Every reader in datasets/ goes through here, so every
// error names the file (and line) the same way.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supra::datasets {

// The whole file as bytes, checked to be UTF-8 without a byte-order mark. Tasks count characters (acc_norm) and
// tokenise the text, so an invalid byte or a BOM glued to the first field would change numbers without a sound;
// both are errors naming file, line and column. A missing or unreadable file is an error naming its path.
std::string read_text_file(const std::filesystem::path& file);

// Throws naming file:line:column of the first byte that is not valid UTF-8 (overlong forms, surrogates and code
// points past U+10FFFF included).
void check_utf8(std::string_view text, const std::filesystem::path& file);

enum class LineEnding {
  LfOnly,    // a '\r' anywhere is an error: in line-oriented formats it would end up inside the last field
  LfOrCrlf,  // "\r\n" is accepted and the '\r' dropped (JSON Lines, where '\r' outside a string is whitespace)
};

struct Line {
  std::size_t number;     // 1-based, for error messages
  std::string_view text;  // without the line terminator; views into the text passed to split_lines
};

// Splits at '\n'. A final '\n' terminates the last line; it does not start an empty one. A last line without '\n'
// is still a line.
std::vector<Line> split_lines(std::string_view text, const std::filesystem::path& file, LineEnding ending);

}  // namespace supra::datasets
