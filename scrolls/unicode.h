#pragma once
// The slice of Python's str semantics that the official SCROLLS metrics depend on, for UTF-8 text.
//
// SQuAD's normalize_answer and rouge_score's tokenizer run on Python 3 str, so their results depend on
// str.lower(), re's \w and str.split(). We reproduce those code point by code point from tables generated out of
// CPython itself (scrolls/gen_unicode_tables.py -> unicode_tables.inc; Python 3.11, Unicode 14.0), rather than from
// towlower() and the C library's locale, whose tables vary with the machine and its installed locales.
#include <string>
#include <string_view>

namespace supra::scrolls::unicode {

// UTF-8 -> code points. Ill-formed input (our generated text can end inside a multi-byte character) becomes
// U+FFFD, one per maximal ill-formed subpart, as Python's bytes.decode("utf-8", errors="replace") does.
std::u32string decode_utf8(std::string_view text);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view text);

// Python's str.lower(): full case mapping (U+0130 becomes "i\u0307") and the Greek final-sigma rule (a capital
// sigma that ends a word lowers to U+03C2, elsewhere to U+03C3).
std::u32string lower(std::u32string_view text);

// Python re's \w on str: str.isalnum() or '_'. Decides where \b falls in SQuAD's article regex.
bool is_word(char32_t cp);
// Python's str.isspace(): the separators of str.split() with no argument.
bool is_space(char32_t cp);

}  // namespace supra::scrolls::unicode
