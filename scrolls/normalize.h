#pragma once
// SQuAD answer normalisation, the first step of SCROLLS's exact match and token F1.
//
// The official code (SQuAD v1.1 evaluate.py, copied into SCROLLS's metrics/f1.py and exact_match.py) is
//   white_space_fix(remove_articles(remove_punc(lower(s))))
// with, in this order:
//   lower            str.lower() (Unicode, not just ASCII)
//   remove_punc      delete every character of string.punctuation (the 32 ASCII punctuation characters only;
//                    "—", "«" or "’" survive)
//   remove_articles  re.sub(r"\b(a|an|the)\b", " ", text): a maximal run of word characters equal to a, an or
//                    the becomes one space; \b is Unicode-aware, so "éa" or "a1" contain no article
//   white_space_fix  " ".join(text.split()): split on Unicode whitespace, join with single spaces
// Unicode behaviour comes from scrolls/unicode.h (tables generated from CPython).
#include <string>
#include <string_view>
#include <vector>

namespace supra::scrolls {

// normalize_answer(s), as UTF-8.
std::string squad_normalize(std::string_view text);

// normalize_answer(s).split(): the tokens token F1 compares.
std::vector<std::string> squad_tokens(std::string_view text);

}  // namespace supra::scrolls
