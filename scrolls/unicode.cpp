#include "scrolls/unicode.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace supra::scrolls::unicode {
namespace {

struct LowerRun {
  char32_t first, last;
  uint32_t stride;
  int32_t delta;
};
struct CodeRange {
  char32_t first, last;
};

#include "scrolls/unicode_tables.inc"

constexpr char32_t kReplacement = 0xFFFD;

template <size_t N>
bool in_ranges(const CodeRange (&table)[N], char32_t cp) {
  // First range whose last >= cp; ranges are sorted and disjoint.
  auto it = std::lower_bound(std::begin(table), std::end(table), cp,
                             [](const CodeRange& r, char32_t c) { return r.last < c; });
  return it != std::end(table) && it->first <= cp;
}

char32_t lower_simple(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;  // fast path for the common case
  auto it = std::lower_bound(std::begin(kLowerRuns), std::end(kLowerRuns), cp,
                             [](const LowerRun& r, char32_t c) { return r.last < c; });
  if (it == std::end(kLowerRuns) || it->first > cp || (cp - it->first) % it->stride != 0) return cp;
  return char32_t(int64_t(cp) + it->delta);
}

bool is_cased(char32_t cp) { return in_ranges(kCasedRanges, cp); }
bool is_case_ignorable(char32_t cp) { return in_ranges(kCaseIgnorableRanges, cp); }

// CPython's handle_capital_sigma: U+03A3 at index i is final when a cased letter precedes it (skipping
// case-ignorables) and no cased letter follows it (again skipping case-ignorables).
bool sigma_is_final(std::u32string_view s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  if (j == 0 || !is_cased(s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && is_case_ignorable(s[k])) ++k;
  return k == s.size() || !is_cased(s[k]);
}

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b0 = s[i];
    if (b0 < 0x80) {
      out.push_back(b0);
      ++i;
      continue;
    }
    // Length and the allowed range of the second byte (Unicode Table 3-7, well-formed UTF-8 byte sequences);
    // the narrowed second-byte ranges exclude overlongs, surrogates and code points above U+10FFFF.
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    char32_t cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2, cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3, cp = b0 & 0x0F;
      if (b0 == 0xE0) lo = 0xA0;
      if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4, cp = b0 & 0x07;
      if (b0 == 0xF0) lo = 0x90;
      if (b0 == 0xF4) hi = 0x8F;
    } else {
      out.push_back(kReplacement);  // stray continuation byte or a lead byte that never occurs
      ++i;
      continue;
    }
    size_t k = 1;
    for (; k < len && i + k < n; ++k) {
      const unsigned char b = s[i + k];
      const bool ok = (k == 1) ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
      if (!ok) break;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (k == len) {
      out.push_back(cp);
    } else {
      out.push_back(kReplacement);  // the maximal ill-formed subpart s[i, i+k) becomes one U+FFFD
    }
    i += k;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

std::u32string lower(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: SpecialCasing gives two code points
      out.push_back(U'i');
      out.push_back(0x307);
    } else if (cp == 0x3A3) {
      out.push_back(sigma_is_final(text, i) ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(lower_simple(cp));
    }
  }
  return out;
}

bool is_word(char32_t cp) {
  if (cp < 0x80) return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
  return in_ranges(kWordRanges, cp);
}

bool is_space(char32_t cp) { return in_ranges(kSpaceRanges, cp); }

}  // namespace supra::scrolls::unicode
