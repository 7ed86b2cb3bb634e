#include "tasks/text_util.h"

#include <cstdint>

namespace supra::tasks {

namespace {

// Decodes the code point starting at s[i] and its length in bytes. The readers have already checked the text is
// valid UTF-8; a stray byte is taken as one code point of its own so nothing here can loop or read past the end.
char32_t decode(std::string_view s, size_t i, size_t& len) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) -> bool {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  auto byte = [&](size_t k) -> char32_t { return static_cast<unsigned char>(s[i + k]) & 0x3F; };
  if (b0 < 0x80) {
    len = 1;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0 && cont(1)) {
    len = 2;
    return (char32_t(b0 & 0x1F) << 6) | byte(1);
  }
  if ((b0 & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    len = 3;
    return (char32_t(b0 & 0x0F) << 12) | (byte(1) << 6) | byte(2);
  }
  if ((b0 & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    len = 4;
    return (char32_t(b0 & 0x07) << 18) | (byte(1) << 12) | (byte(2) << 6) | byte(3);
  }
  len = 1;
  return 0xFFFD;
}

}  // namespace

bool py_isspace(char32_t c) {
  if (c <= 0x20) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

std::string py_strip(std::string_view s) {
  size_t begin = 0, end = 0, len = 0;
  bool seen = false;
  for (size_t i = 0; i < s.size(); i += len) {
    const char32_t c = decode(s, i, len);
    if (!py_isspace(c)) {
      if (!seen) begin = i;
      seen = true;
      end = i + len;
    }
  }
  return seen ? std::string(s.substr(begin, end - begin)) : std::string();
}

std::string py_capitalize(std::string_view s) {
  std::string out(s);
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (i == 0) {
      if (c >= 'a' && c <= 'z') out[i] = static_cast<char>(c - 'a' + 'A');
    } else if (c >= 'A' && c <= 'Z') {
      out[i] = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string py_replace(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(s.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(s.substr(pos));
  return out;
}

size_t py_len(std::string_view s) {
  size_t n = 0, len = 0;
  for (size_t i = 0; i < s.size(); i += len) {
    decode(s, i, len);
    ++n;
  }
  return n;
}

size_t py_split_ws_count(std::string_view s) {
  size_t runs = 0, len = 0;
  bool in_run = false;
  for (size_t i = 0; i < s.size(); i += len) {
    const bool space = py_isspace(decode(s, i, len));
    if (space && !in_run) ++runs;
    in_run = space;
  }
  return runs + 1;
}

std::string hellaswag_preprocess(std::string_view s) {
  std::string text = py_strip(s);
  text = py_replace(text, " [title]", ". ");
  // re.sub(r"\[.*?\]", "", text): from each '[' to the nearest following ']' ('.' does not match a newline); a '['
  // with no ']' after it on its line stays.
  std::string cut;
  cut.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '[') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != ']' && text[j] != '\n') ++j;
      if (j < text.size() && text[j] == ']') {
        i = j;
        continue;
      }
    }
    cut.push_back(text[i]);
  }
  return py_replace(cut, "  ", " ");
}

}  // namespace supra::tasks
