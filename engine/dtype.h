#pragma once
// Element types of tensors and the scalar conversions between them.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace supra {

enum class DType { F32, F16, BF16, I32 };

inline size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
  }
  return 0;
}

inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
  }
  return "?";
}

// Parses "f32", "f16", "bf16" (also the safetensors spellings F32, F16, BF16). Throws supra::Error otherwise.
DType parse_dtype(std::string_view s);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as PyTorch does; NaN stays NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// Converts n elements of type `from` at src into fp32 at dst.
void convert_to_f32(DType from, const void* src, float* dst, size_t n);
// Converts n fp32 values into type `to` at dst.
void convert_from_f32(DType to, const float* src, void* dst, size_t n);

}  // namespace supra
