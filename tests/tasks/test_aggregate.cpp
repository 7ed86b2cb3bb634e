// Aggregation and standard errors against hand-computed values, CPython-compatible random draws (the few-shot
// sampler and the bootstrap depend on them), and the Python string semantics the prompts rely on. The Python
// reference values were printed by CPython 3.11 with the lines quoted next to them.
// Tolerances: these are double-precision formulas of a few operations on exact inputs (rounding ~1e-16 relative),
// so epsilon 1e-14/1e-15 leaves a 100x margin; the bootstrap sums 1000-2500 resampled means (gamma_2500 u64 ~
// 3e-13), hence 1e-12; the 5% check compares the bootstrap with the analytic standard error (sampling noise).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "tasks/fewshot.h"
#include "tasks/py_random.h"
#include "tasks/task.h"
#include "tasks/text_util.h"

using namespace supra::tasks;

namespace {
std::vector<MetricValue> values(const std::vector<double>& xs) {
  std::vector<MetricValue> out;
  for (double x : xs) out.push_back({x, 1});
  return out;
}
}  // namespace

TEST_CASE("aggregate: mean with sample (ddof=1) stderr") {
  // {1, 0, 1, 1}: mean 0.75; squared deviations .0625 + .5625 + .0625 + .0625 = .75, / (n-1) = .25, std .5,
  // stderr .5 / sqrt(4) = .25.
  const Aggregate a = aggregate(Aggregation::Mean, values({1, 0, 1, 1}));
  CHECK(a.value == 0.75);
  CHECK(a.stderr_ == Approx(0.25).epsilon(1e-15));
  CHECK(a.n == 4);
  // {2, 4, 9}: mean 5, deviations 9 + 1 + 16 = 26, / 2 = 13, stderr sqrt(13) / sqrt(3).
  const Aggregate b = aggregate(Aggregation::Mean, values({2, 4, 9}));
  CHECK(b.value == 5.0);
  CHECK(b.stderr_ == Approx(std::sqrt(13.0 / 3.0)).epsilon(1e-15));
  // Undefined: one value has no sample std, none has no mean.
  const Aggregate one = aggregate(Aggregation::Mean, values({1}));
  CHECK(one.value == 1.0);
  CHECK(std::isnan(one.stderr_));
  const Aggregate none = aggregate(Aggregation::Mean, {});
  CHECK(std::isnan(none.value));
  CHECK(none.n == 0);
}

TEST_CASE("aggregate: perplexity, weighted perplexity, bits per byte") {
  // exp(-mean(-1, -2, -3)) = e^2.
  CHECK(aggregate(Aggregation::Perplexity, values({-1, -2, -3})).value == Approx(std::exp(2.0)).epsilon(1e-15));
  // exp(-(-10 - 20) / (5 + 5)) = e^3: weights, not documents, divide.
  const std::vector<MetricValue> w = {{-10, 5}, {-20, 5}};
  CHECK(aggregate(Aggregation::WeightedPerplexity, w).value == Approx(std::exp(3.0)).epsilon(1e-15));
  CHECK(aggregate(Aggregation::WeightedPerplexity, {{-10, 2}, {-20, 8}}).value ==
        Approx(std::exp(3.0)).epsilon(1e-15));
  // -(-8 ln 2 - 8 ln 2) / (4 + 4) / ln 2 = 2 bits per byte.
  const double l2 = std::log(2.0);
  CHECK(aggregate(Aggregation::BitsPerByte, {{-8 * l2, 4}, {-8 * l2, 4}}).value == Approx(2.0).epsilon(1e-15));
  CHECK(std::isnan(aggregate(Aggregation::WeightedPerplexity, {{-1, 0}}).value));
}

TEST_CASE("aggregate: bootstrap stderr equals lm-eval's bootstrap_stderr with 1000 iterations") {
  // Python, lm-eval's algorithm: rnd = random.Random(); rnd.seed(0);
  //   res = [f(rnd.choices(xs, k=len(xs))) for _ in range(1000)]; sample_stddev(res)
  const Aggregate p = aggregate(Aggregation::Perplexity, values({-1.0, -2.0, -3.0, -0.5, -4.25}));
  CHECK(p.value == Approx(8.584858397177893).epsilon(1e-14));
  CHECK(p.stderr_ == Approx(8.058564081225823).epsilon(1e-12));
  const std::vector<MetricValue> ys = {{-10.0, 5.0}, {-20.0, 4.0}, {-3.0, 3.0}};
  const Aggregate wp = aggregate(Aggregation::WeightedPerplexity, ys);
  CHECK(wp.value == Approx(15.642631884188171).epsilon(1e-14));
  CHECK(wp.stderr_ == Approx(31.86917135602109).epsilon(1e-12));
  const Aggregate bpb = aggregate(Aggregation::BitsPerByte, ys);
  CHECK(bpb.value == Approx(3.9674113624446496).epsilon(1e-14));
  CHECK(bpb.stderr_ == Approx(1.4251541261866465).epsilon(1e-12));
  CHECK(std::isnan(aggregate(Aggregation::Perplexity, values({-1.0})).stderr_));
}

TEST_CASE("PyRandom reproduces CPython's random.Random") {
  PyRandom r(1234);  // [random.Random(1234).getrandbits(32) for _ in range(3)]
  CHECK(r.next_u32() == 4150886329u);
  CHECK(r.next_u32() == 3342196574u);
  CHECK(r.next_u32() == 1892932127u);
  PyRandom f(1234);  // random.Random(1234).random() twice
  CHECK(f.random() == 0.9664535356921388);
  CHECK(f.random() == 0.4407325991753527);
  CHECK(PyRandom(0).random() == 0.8444218515250481);
  CHECK(PyRandom(uint64_t(1) << 40).next_u32() == 445128065u);  // a two-word seed
  CHECK(PyRandom(5, 1).next_u32() == 2192917427u);              // random.Random(2**64 + 5): three words
  // random.Random(42).sample(range(n), k), both branches of Lib/random.py.
  CHECK(PyRandom(42).sample(10, 4) == std::vector<int64_t>{1, 0, 4, 9});                        // pool
  CHECK(PyRandom(42).sample(1000, 4) == std::vector<int64_t>{654, 114, 25, 759});               // set
  CHECK(PyRandom(42).sample(100, 8) == std::vector<int64_t>{81, 14, 3, 94, 35, 31, 28, 17});    // set, k > 5
  CHECK(PyRandom(42).sample(50, 8) == std::vector<int64_t>{40, 7, 1, 17, 15, 14, 8, 6});        // pool, k > 5
  CHECK_THROWS(PyRandom(1).sample(3, 4));
}

TEST_CASE("few-shot sampling: per-document seed, evaluated doc excluded") {
  // Python: [i for i in random.Random((doc << 64) | seed).sample(range(n), k + 1) if i != doc][:k]
  CHECK(sample_fewshot("t", 100, true, 3, 5, 1234) == std::vector<int64_t>{86, 68, 2, 98, 36});
  CHECK(sample_fewshot("t", 10042, true, 0, 3, 1234) == std::vector<int64_t>{7220, 1914, 122});
  // Another split: k draws, nothing excluded.
  CHECK(sample_fewshot("t", 500, false, 7, 2, 1234) == std::vector<int64_t>{361, 240});
  // The draw for doc 12 of 20 is [6, 12, 0]: 12 is dropped and the third draw takes its place.
  CHECK(sample_fewshot("t", 20, true, 12, 2, 1234) == std::vector<int64_t>{6, 0});
  CHECK(sample_fewshot("t", 100, true, 0, 5, 1234) == std::vector<int64_t>{99, 56, 14, 11, 74});
  CHECK(sample_fewshot("t", 20, true, 12, 0, 1234).empty());
  CHECK_THROWS_WITH(sample_fewshot("t", 5, true, 0, 5, 1234), Catch::Contains("only 4 examples"));
  CHECK(fewshot_prefix("D\n\n", {"a 1", "b 2"}) == "D\n\na 1\n\nb 2\n\n");
  CHECK(fewshot_prefix("", {}).empty());
}

TEST_CASE("Python string semantics") {
  CHECK(py_strip(" \t\u00a0 x y \u3000\n") == "x y");
  CHECK(py_strip(" \n ").empty());
  CHECK(py_capitalize("the child AND a Man") == "The child and a man");
  CHECK(py_capitalize("5 the guy") == "5 the guy");
  CHECK(py_capitalize("").empty());
  CHECK(py_replace("a   b", "  ", " ") == "a  b");  // non-overlapping, one pass
  CHECK(py_len("\u00e9t\u00e9 \u2014 ok") == 8);
  CHECK(py_split_ws_count("a b\n\nc") == 3);
  CHECK(py_split_ws_count(" a b ") == 4);  // re.split(r"\s+", " a b ") == ['', 'a', 'b', '']
  CHECK(py_split_ws_count("") == 1);
  CHECK(py_split_ws_count("a\u00a0b") == 2);
  CHECK(hellaswag_preprocess("  How to X [title] Do Y. [step] Z ") == "How to X. Do Y. Z");
  CHECK(hellaswag_preprocess("a [b [c] d] e") == "a d] e");
  CHECK(hellaswag_preprocess("[ open") == "[ open");
}

TEST_CASE("bootstrap stderr of a mean, in lm-eval's seeded chunks of 1000") {
  auto mv = [](std::vector<double> xs) {
    std::vector<MetricValue> v;
    for (double x : xs) v.push_back({x, 1});
    return v;
  };
  CHECK(bootstrap_stderr(Aggregation::Mean, mv({0.5, 0.5, 0.5})) == 0.0);  // no spread, no error
  // lm-eval's bootstrap_stderr(mean, xs, iters) run in CPython 3.11:
  //   xs = [0, 1, 0.5, 0.25, 1, 0, 0.75, 1, 0, 0.5]
  //   iters 1000 -> 0.12677439063596782; iters 2500 -> 2 whole chunks -> 0.12679526221140694
  const auto xs = mv({0, 1, 0.5, 0.25, 1, 0, 0.75, 1, 0, 0.5});
  CHECK(bootstrap_stderr(Aggregation::Mean, xs, 1000) == Approx(0.12677439063596782).epsilon(1e-12));
  CHECK(bootstrap_stderr(Aggregation::Mean, xs, 2500) == Approx(0.12679526221140694).epsilon(1e-12));
  // Theory: population sd 0.4031 / sqrt(10) = 0.1275; the bootstrap lands within a few percent.
  CHECK(bootstrap_stderr(Aggregation::Mean, xs, 1000) == Approx(std::sqrt(0.1625 / 10)).epsilon(0.05));
  CHECK(bootstrap_stderr(Aggregation::Mean, xs, 1000, 5) == bootstrap_stderr(Aggregation::Mean, xs, 1000, 5));
  CHECK(bootstrap_stderr(Aggregation::Mean, xs, 1000, 5) != bootstrap_stderr(Aggregation::Mean, xs, 1000, 0));
  CHECK_THROWS_AS(bootstrap_stderr(Aggregation::Mean, {}, 1000), supra::Error);
  CHECK_THROWS_AS(bootstrap_stderr(Aggregation::Mean, xs, 1), supra::Error);
}
