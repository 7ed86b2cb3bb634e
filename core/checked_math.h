#pragma once
// Size arithmetic on numbers read from files: a product or sum that would wrap is an error naming what was being
// sized, never a small wrong number that later indexes outside a mapping.
#include <cstdint>
#include <string_view>

#include "core/error.h"

namespace supra {

// a * b, or an error "<what>: a x b overflows 64 bits".
inline uint64_t checked_mul(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) fail("{}: {} x {} overflows 64 bits", what, a, b);
  return r;
}

inline uint64_t checked_add(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) fail("{}: {} + {} overflows 64 bits", what, a, b);
  return r;
}

}  // namespace supra
