#include "datasets/text_file.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

namespace {

// 1-based line and column (in bytes) of `offset`, computed only when an error is being reported.
std::pair<std::size_t, std::size_t> line_col(std::string_view text, std::size_t offset) {
  std::size_t line = 1, line_start = 0;
  for (std::size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  return {line, offset - line_start + 1};
}

}  // namespace

std::string read_text_file(const fs::path& file) {
  std::error_code ec;
  if (!fs::exists(file, ec)) fail("{}: file not found", file.string());
  if (fs::is_directory(file, ec)) fail("{}: is a directory, expected a data file", file.string());
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open: {}", file.string(), std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) fail("{}: read error", file.string());
  if (text.starts_with("\xEF\xBB\xBF"))
    fail("{}:1:1: starts with a UTF-8 byte-order mark; expected plain UTF-8 (remove the BOM)", file.string());
  check_utf8(text, file);
  return text;
}

void check_utf8(std::string_view text, const fs::path& file) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (s[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) {
      auto [line, col] = line_col(text, i);
      fail("{}:{}:{}: invalid UTF-8 (byte 0x{:02X}); expected UTF-8 text", file.string(), line, col, c);
    }
    i += len;
  }
}

std::vector<Line> split_lines(std::string_view text, const fs::path& file, LineEnding ending) {
  std::vector<Line> lines;
  std::size_t start = 0, number = 1;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (ending == LineEnding::LfOrCrlf && line.ends_with('\r')) line.remove_suffix(1);
    if (auto cr = line.find('\r'); cr != std::string_view::npos)
      fail("{}:{}:{}: carriage return in line; expected LF line endings (convert CRLF files with dos2unix)",
           file.string(), number, cr + 1);
    lines.push_back({number, line});
    start = end + 1;
    ++number;
  }
  return lines;
}

}  // namespace supra::datasets
