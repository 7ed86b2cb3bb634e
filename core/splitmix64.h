#pragma once
// SplitMix64's output function (Steele, Lea & Flood 2014): a fast, well-mixed 64-bit hash used to derive
// independent seeds (per sequence, per epoch, per tensor) from one seed without a shared generator's order.
#include <cstdint>

namespace supra {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace supra
