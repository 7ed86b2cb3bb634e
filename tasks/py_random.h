#pragma once
// CPython's random.Random, reduced to what lm-eval's few-shot sampler and bootstrap use, so that our draws are the
// very ones Python makes from the same seed: MT19937 seeded by init_by_array over the 32-bit words of a
// non-negative integer seed (as random.Random(int) does), random() = genrand_res53, getrandbits(k) for k <= 32,
// _randbelow by rejection on getrandbits(n.bit_length()), sample() and choices() as Lib/random.py writes them.
// std::mt19937 has the same recurrence but another seeding, and std::uniform_int_distribution is
// implementation-defined, so neither would reproduce Python (or be the same on two standard libraries).
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace supra::tasks {

class PyRandom {
 public:
  // random.Random(hi * 2**64 + lo).
  explicit PyRandom(uint64_t lo, uint64_t hi = 0);

  uint32_t next_u32();           // genrand_uint32
  double random();               // random.random(): 53-bit float in [0, 1)
  uint32_t getrandbits(int k);   // 1 <= k <= 32
  uint64_t randbelow(uint64_t n);  // Random._randbelow_with_getrandbits, 0 < n < 2**32
  // random.sample(range(n), k): k distinct indices in draw order (both of Python's branches: the pool for small n,
  // the rejection set otherwise). Error when k > n.
  std::vector<int64_t> sample(int64_t n, int64_t k);
  // The index random.choices(population, k=...) picks for one draw from a population of n: floor(random() * n).
  size_t choice_index(size_t n) { return static_cast<size_t>(random() * static_cast<double>(n)); }

 private:
  void init_by_array(const std::vector<uint32_t>& key);
  static constexpr int kN = 624;
  std::array<uint32_t, kN> mt_{};
  int index_ = kN;
};

}  // namespace supra::tasks
