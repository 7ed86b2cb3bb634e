// Truncation policies on a crafted prompt: prefix [1 2], document [10 .. 19], suffix [90 91 92] (15 tokens).
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "tasks/truncation.h"

using namespace supra::tasks;
using Ids = std::vector<int32_t>;

namespace {
const Ids kPrefix{1, 2};
const Ids kDoc{10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
const Ids kSuffix{90, 91, 92};
const PromptTokens kParts{kPrefix, kDoc, kSuffix};

Truncated cut(TruncationPolicy p, size_t L, size_t G) { return truncate_prompt(kParts, p, L, G); }
}  // namespace

TEST_CASE("policy names parse, unknown names fail clearly") {
  CHECK(parse_truncation_policy("left") == TruncationPolicy::Left);
  CHECK(parse_truncation_policy("doc_end") == TruncationPolicy::DocEnd);
  CHECK(parse_truncation_policy("middle") == TruncationPolicy::Middle);
  CHECK(truncation_policy_name(TruncationPolicy::DocEnd) == "doc_end");
  CHECK_THROWS_WITH(parse_truncation_policy("right"),
                    Catch::Contains("'right'") && Catch::Contains("left, doc_end, middle"));
  CHECK_THROWS_AS(parse_truncation_policy("Left"), supra::Error);
}

TEST_CASE("everything fits: nothing is cut under any policy") {
  // L = 20, G = 2 -> budget 18 >= 15.
  for (auto p : {TruncationPolicy::Left, TruncationPolicy::DocEnd, TruncationPolicy::Middle}) {
    const Truncated t = cut(p, 20, 2);
    CHECK(t.tokens == Ids{1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 90, 91, 92});
    CHECK(t.input == 15);
    CHECK(t.kept == 15);
    CHECK(t.dropped == 0);
    CHECK_FALSE(t.fell_back);
  }
}

TEST_CASE("left keeps the last L - G tokens of the whole prompt") {
  // L = 12, G = 2 -> budget 10; drop the first 15 - 10 = 5: [1 2 10 11 12].
  const Truncated t = cut(TruncationPolicy::Left, 12, 2);
  CHECK(t.tokens == Ids{13, 14, 15, 16, 17, 18, 19, 90, 91, 92});
  CHECK(t.input == 15);
  CHECK(t.kept == 10);
  CHECK(t.dropped == 5);
  CHECK(t.applied == TruncationPolicy::Left);
  // G = 0 (a scoring request): the budget is all of L = 12 -> drop [1 2 10].
  CHECK(cut(TruncationPolicy::Left, 12, 0).tokens == Ids{11, 12, 13, 14, 15, 16, 17, 18, 19, 90, 91, 92});
}

TEST_CASE("doc_end cuts the end of the document and keeps prefix and suffix") {
  // Budget 10; prefix + suffix = 5; the document keeps its first 5 tokens [10 .. 14].
  const Truncated t = cut(TruncationPolicy::DocEnd, 12, 2);
  CHECK(t.tokens == Ids{1, 2, 10, 11, 12, 13, 14, 90, 91, 92});
  CHECK(t.kept == 10);
  CHECK(t.dropped == 5);
  CHECK_FALSE(t.fell_back);
  CHECK(t.applied == TruncationPolicy::DocEnd);
  // Budget exactly prefix + suffix (L = 7, G = 2): the whole document goes.
  CHECK(cut(TruncationPolicy::DocEnd, 7, 2).tokens == Ids{1, 2, 90, 91, 92});
}

TEST_CASE("doc_end always keeps the query and answer prefix whole") {
  // Every budget from prefix + suffix (5) to the whole prompt (15): the prompt starts with [1 2], ends with
  // [90 91 92], keeps min(budget, 15) tokens, and the document part is a prefix of the document.
  for (size_t budget = 5; budget <= 16; ++budget) {
    const Truncated t = cut(TruncationPolicy::DocEnd, budget + 3, 3);
    REQUIRE_FALSE(t.fell_back);
    CHECK(t.kept == std::min<size_t>(budget, 15));
    CHECK(t.kept + t.dropped == 15);
    CHECK(std::equal(kPrefix.begin(), kPrefix.end(), t.tokens.begin()));
    CHECK(std::equal(kSuffix.rbegin(), kSuffix.rend(), t.tokens.rbegin()));
    const Ids doc_part(t.tokens.begin() + 2, t.tokens.end() - 3);
    CHECK(std::equal(doc_part.begin(), doc_part.end(), kDoc.begin()));
  }
}

TEST_CASE("middle keeps the first and last halves of the document") {
  // Budget 10 -> document budget 5: first ceil(5/2) = 3 [10 11 12], last floor(5/2) = 2 [18 19].
  const Truncated t = cut(TruncationPolicy::Middle, 12, 2);
  CHECK(t.tokens == Ids{1, 2, 10, 11, 12, 18, 19, 90, 91, 92});
  CHECK(t.kept == 10);
  CHECK(t.dropped == 5);
  CHECK(t.applied == TruncationPolicy::Middle);
  // Budget 11 (L = 13, G = 2) -> document budget 6: 3 + 3 = [10 11 12] [17 18 19].
  CHECK(cut(TruncationPolicy::Middle, 13, 2).tokens == Ids{1, 2, 10, 11, 12, 17, 18, 19, 90, 91, 92});
  // Budget 8 -> document budget 3: 2 + 1 = [10 11] [19].
  CHECK(cut(TruncationPolicy::Middle, 10, 2).tokens == Ids{1, 2, 10, 11, 19, 90, 91, 92});
}

TEST_CASE("when prefix + suffix do not fit, doc_end and middle fall back to left and say so") {
  // L = 6, G = 2 -> budget 4 < prefix + suffix = 5. Fallback: last 4 tokens of the whole prompt.
  for (auto p : {TruncationPolicy::DocEnd, TruncationPolicy::Middle}) {
    const Truncated t = cut(p, 6, 2);
    CHECK(t.fell_back);
    CHECK(t.requested == p);
    CHECK(t.applied == TruncationPolicy::Left);
    CHECK(t.tokens == Ids{19, 90, 91, 92});
    CHECK(t.kept == 4);
    CHECK(t.dropped == 11);
  }
  CHECK_FALSE(cut(TruncationPolicy::Left, 6, 2).fell_back);
}

TEST_CASE("a generation budget that fills the context is an error") {
  CHECK_THROWS_AS(cut(TruncationPolicy::DocEnd, 8, 8), supra::Error);
  CHECK_THROWS_AS(cut(TruncationPolicy::Left, 8, 9), supra::Error);
}

TEST_CASE("empty parts are fine") {
  const Ids none;
  const Truncated t = truncate_prompt({none, kDoc, none}, TruncationPolicy::DocEnd, 4, 0);
  CHECK(t.tokens == Ids{10, 11, 12, 13});
  CHECK(t.dropped == 6);
}
