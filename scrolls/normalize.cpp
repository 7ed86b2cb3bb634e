#include "scrolls/normalize.h"

#include "scrolls/unicode.h"

namespace supra::scrolls {
namespace {

// Python's string.punctuation.
constexpr std::u32string_view kAsciiPunctuation = U"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

bool is_article(std::u32string_view word) { return word == U"a" || word == U"an" || word == U"the"; }

std::u32string remove_punctuation(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (kAsciiPunctuation.find(cp) == std::u32string_view::npos) out.push_back(cp);
  }
  return out;
}

// re.sub(r"\b(a|an|the)\b", " ", text). Both \b must hold, so a match is exactly a maximal run of word characters
// that spells an article; the alternation order (a before an) cannot change that, because "a" inside "an" has no
// \b after it.
std::u32string remove_articles(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (!unicode::is_word(text[i])) {
      out.push_back(text[i++]);
      continue;
    }
    size_t j = i;
    while (j < text.size() && unicode::is_word(text[j])) ++j;
    const std::u32string_view word = text.substr(i, j - i);
    if (is_article(word)) {
      out.push_back(U' ');
    } else {
      out.append(word);
    }
    i = j;
  }
  return out;
}

// text.split(): runs of non-whitespace.
std::vector<std::u32string_view> split_whitespace(std::u32string_view text) {
  std::vector<std::u32string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && unicode::is_space(text[i])) ++i;
    size_t j = i;
    while (j < text.size() && !unicode::is_space(text[j])) ++j;
    if (j > i) words.push_back(text.substr(i, j - i));
    i = j;
  }
  return words;
}

std::u32string normalized_code_points(std::string_view text) {
  return remove_articles(remove_punctuation(unicode::lower(unicode::decode_utf8(text))));
}

}  // namespace

std::string squad_normalize(std::string_view text) {
  const std::u32string s = normalized_code_points(text);
  std::string out;
  for (std::u32string_view word : split_whitespace(s)) {  // white_space_fix: " ".join(text.split())
    if (!out.empty()) out.push_back(' ');
    out += unicode::encode_utf8(word);
  }
  return out;
}

std::vector<std::string> squad_tokens(std::string_view text) {
  const std::u32string s = normalized_code_points(text);
  std::vector<std::string> tokens;
  for (std::u32string_view word : split_whitespace(s)) tokens.push_back(unicode::encode_utf8(word));
  return tokens;
}

}  // namespace supra::scrolls
