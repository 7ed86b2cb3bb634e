// SQuAD normalisation and the Python str semantics under it. Expected strings are worked out by hand from
// normalize_answer = white_space_fix(remove_articles(remove_punc(lower(s)))).
#include <catch2/catch.hpp>

#include "scrolls/normalize.h"
#include "scrolls/unicode.h"

using namespace supra::scrolls;

TEST_CASE("squad_normalize: lowercase, punctuation, articles, whitespace") {
  // lower: "the cat, the hat!"; remove_punc: "the cat the hat"; articles -> " cat   hat"; split/join: "cat hat"
  CHECK(squad_normalize("The Cat, the hat!") == "cat hat");
  CHECK(squad_normalize("An apple a day") == "apple day");
  // Articles only as whole words: "theater", "another", "anna" stay.
  CHECK(squad_normalize("theater another Anna") == "theater another anna");
  // Punctuation goes BEFORE articles: "a.n" -> "an" -> article -> "".
  CHECK(squad_normalize("a.n") == "");
  // Apostrophe and hyphen are deleted, not turned into spaces: "don't" -> "dont", "the-end" -> "theend" (no article).
  CHECK(squad_normalize("Don't stop the-end") == "dont stop theend");
  // Whitespace of every kind collapses: tab, newline, NBSP (U+00A0), ideographic space (U+3000).
  CHECK(squad_normalize("  x\t\ny\u00A0z\u3000w  ") == "x y z w");
  CHECK(squad_normalize("") == "");
  CHECK(squad_normalize("the a an") == "");
}

TEST_CASE("squad_normalize: non-ASCII text as Python str.lower and word boundaries see it") {
  CHECK(squad_normalize("ÉCOLE Straße ÅNGSTRÖM") == "école straße ångström");  // Latin-1; ß has no lowercase change
  CHECK(squad_normalize("ŁÓDŹ Čapek") == "łódź čapek");                         // Latin Extended-A
  CHECK(squad_normalize("ПРИВЕТ, Мир!") == "привет мир");                       // Cyrillic; ASCII , ! removed
  // Greek final sigma: Σ ending a word lowers to ς, elsewhere to σ. "ΟΔΟΣ ΣΑ" -> "οδος σα".
  CHECK(squad_normalize("ΟΔΟΣ ΣΑ") == "οδος σα");
  // A lone Σ has no cased letter before it, so it is not final: σ.
  CHECK(squad_normalize("Σ") == "σ");
  // Non-ASCII punctuation is not in string.punctuation and survives: em dash, guillemets, right single quote.
  CHECK(squad_normalize("yes — «no» it’s") == "yes — «no» it’s");
  // \b is Unicode: "é" is a word character, so "éa" and "aé" hold no article; "à" is not "a".
  CHECK(squad_normalize("éa aé à la a café") == "éa aé à la café");
  // U+0130 lowers to two code points, "i" + U+0307 (Python's full case mapping).
  CHECK(squad_normalize("İ") == "i\u0307");
  // Ill-formed UTF-8 (a cut multi-byte character) becomes U+FFFD, as decode(errors="replace") would.
  CHECK(squad_normalize("ab\xC3") == "ab\uFFFD");
}

TEST_CASE("unicode helpers match Python") {
  using namespace supra::scrolls::unicode;
  // "ÀΣ" -> U+00E0 U+03C2 (final: cased before, nothing after). "ΣΑ" -> σα. "Α.Σ.Α": '.' is case-ignorable, so the
  // Σ sits between cased letters -> σ.
  CHECK(encode_utf8(lower(decode_utf8("ÀΣ"))) == "àς");
  CHECK(encode_utf8(lower(decode_utf8("Α.Σ.Α"))) == "α.σ.α");
  CHECK(encode_utf8(lower(decode_utf8("\u212A"))) == "k");  // KELVIN SIGN lowers into ASCII
  CHECK(is_word(U'_'));
  CHECK(is_word(U'é'));
  CHECK(is_word(U'٣'));          // ARABIC-INDIC DIGIT THREE: isdecimal
  CHECK_FALSE(is_word(0x301));   // COMBINING ACUTE ACCENT: category Mn, not alnum in Python
  CHECK(is_space(0x1F));         // Python counts U+001C..U+001F as whitespace
  CHECK_FALSE(is_space(0x200B));  // ZERO WIDTH SPACE is not
  // Maximal-subpart replacement: E2 82 is a cut 3-byte char (one U+FFFD); C0 and 80 are each invalid.
  CHECK(decode_utf8("\xE2\x82x\xC0\x80") == std::u32string{0xFFFD, U'x', 0xFFFD, 0xFFFD});
  CHECK(decode_utf8("\xF0\x9F\x98\x80") == std::u32string{0x1F600});
  CHECK(encode_utf8(std::u32string{0x1F600, U'a', 0x3C3}) == "\xF0\x9F\x98\x80" "a" "\xCF\x83");
}
