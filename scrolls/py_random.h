#pragma once
// Python's random.Random, reduced to what bootstrap resampling needs, so that our resamples are the very ones
// lm-eval draws: the same MT19937 generator, seeded from an integer as CPython seeds it (init_by_array over the
// 32-bit words of |seed|), random() = genrand_res53, and choices(xs, k) = xs[floor(random() * len(xs))] k times.
// std::mt19937 has the same recurrence but a different integer seeding, and std::uniform_int_distribution is
// implementation-defined, so neither would reproduce Python's draws.
#include <array>
#include <cstddef>
#include <cstdint>

namespace supra::scrolls {

class PyRandom {
 public:
  explicit PyRandom(uint64_t seed);  // random.Random(seed) for a non-negative int seed
  uint32_t next_u32();               // genrand_uint32
  double random();                   // random.random(): 53-bit float in [0, 1)
  size_t choice_index(size_t n);     // the index random.choices picks from a population of n: floor(random() * n)

 private:
  static constexpr int kN = 624;
  std::array<uint32_t, kN> mt_{};
  int index_ = kN;
};

}  // namespace supra::scrolls
