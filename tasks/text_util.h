#pragma once
// The few Python string operations lm-eval's prompts and metrics are written with, reproduced on UTF-8 strings
// (what our readers return), so that a prompt or a length counted here equals the one lm-eval builds from the same
// text. Python semantics are kept where they differ from the obvious C++ ones (which characters are whitespace,
// what capitalize() does to the rest of the string, that len() counts code points).
#include <cstddef>
#include <string>
#include <string_view>

namespace supra::tasks {

// Python's str.isspace() for one code point (also what re's \s matches in a str pattern): U+0009..U+000D,
// U+001C..U+001F, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000.
bool py_isspace(char32_t c);

// str.strip() with no argument: removes leading and trailing code points for which py_isspace holds.
std::string py_strip(std::string_view s);

// str.capitalize(): the first character upper-cased, every other one lower-cased. Case is mapped for ASCII letters
// only; other characters are kept as they are (the bundled HellaSwag tails this is applied to are ASCII-led and
// contain no upper-case letter, see hellaswag.cpp).
std::string py_capitalize(std::string_view s);

// str.replace(old, new): every non-overlapping occurrence, scanning left to right (so "   " -> "  " for "  " -> " ").
std::string py_replace(std::string_view s, std::string_view from, std::string_view to);

// len() of the Python str: the number of code points of a UTF-8 string (a byte that is not a continuation byte
// starts a code point).
size_t py_len(std::string_view s);

// len(re.split(r"\s+", s)): the number of maximal whitespace runs + 1 (lm-eval's word count for word_perplexity;
// leading or trailing whitespace each add an empty piece, as in Python).
size_t py_split_ws_count(std::string_view s);

// lm-eval's hellaswag preprocess(): strip(); " [title]" -> ". "; re.sub(r"\[.*?\]", ""); "  " -> " ".
std::string hellaswag_preprocess(std::string_view s);

}  // namespace supra::tasks
