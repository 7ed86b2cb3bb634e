// Python-compatible random numbers and the bootstrap stderr built on them.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/error.h"
#include "scrolls/bootstrap.h"
#include "tasks/py_random.h"

using namespace supra::scrolls;
using supra::tasks::PyRandom;

TEST_CASE("PyRandom reproduces Python's random.Random") {
  // Values printed by CPython 3.11: random.Random(seed).random().
  CHECK(PyRandom(0).random() == 0.8444218515250481);
  CHECK(PyRandom(1).random() == 0.13436424411240122);
  CHECK(PyRandom(42).random() == 0.6394267984578837);
  CHECK(PyRandom((1ull << 32) + 5).random() == 0.15727238718789782);  // a two-word seed key
  CHECK(PyRandom(~0ull).random() == 0.021825695401270107);
  // random.Random(7).choices(range(10), k=8) == [3, 1, 6, 0, 5, 3, 0, 5]
  PyRandom r(7);
  const std::vector<size_t> expected{3, 1, 6, 0, 5, 3, 0, 5};
  for (size_t e : expected) CHECK(r.choice_index(10) == e);
}

TEST_CASE("bootstrap stderr of a mean") {
  // No spread, no error.
  CHECK(bootstrap_stderr_of_mean({0.5, 0.5, 0.5}) == 0.0);

  // Same as lm-eval's bootstrap_stderr(mean, xs, iters) (chunks of 1000 seeded 0, 1, ...), run in CPython 3.11:
  //   xs = [0, 1, 0.5, 0.25, 1, 0, 0.75, 1, 0, 0.5]
  //   iters 1000 -> 0.12677439063596782; iters 2500 -> 2 whole chunks -> 0.12679526221140694
  const std::vector<double> xs{0, 1, 0.5, 0.25, 1, 0, 0.75, 1, 0, 0.5};
  CHECK(bootstrap_stderr_of_mean(xs, 1000) == Approx(0.12677439063596782).epsilon(1e-12));
  CHECK(bootstrap_stderr_of_mean(xs, 2500) == Approx(0.12679526221140694).epsilon(1e-12));
  // Sanity against theory: population sd of xs = sqrt(mean(x^2) - mean^2) = sqrt(0.4125 - 0.25) = 0.4031;
  // / sqrt(10) = 0.1275. The bootstrap lands within a few percent.
  CHECK(bootstrap_stderr_of_mean(xs, 1000) == Approx(std::sqrt(0.1625 / 10)).epsilon(0.05));

  // Seeded: same seed, same value; another seed, another draw.
  CHECK(bootstrap_stderr_of_mean(xs, 1000, 5) == bootstrap_stderr_of_mean(xs, 1000, 5));
  CHECK(bootstrap_stderr_of_mean(xs, 1000, 5) != bootstrap_stderr_of_mean(xs, 1000, 0));

  CHECK_THROWS_AS(bootstrap_stderr_of_mean({}, 1000), supra::Error);
  CHECK_THROWS_AS(bootstrap_stderr_of_mean(xs, 1), supra::Error);
}
