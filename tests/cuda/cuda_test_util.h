#pragma once
// What the CUDA tests share: a GPU backend or a "SKIPPED:" line, random inputs, host <-> device copies.
#include <cstring>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.h"

namespace supra::test {

inline std::unique_ptr<Backend> gpu_or_skip(DType weights = DType::F32) {
  std::string why;
  auto b = make_cuda_backend(weights, &why);
  if (!b) std::cout << "SKIPPED: no CUDA GPU (" << why << ")\n";
  return b;
}

inline std::vector<float> rnd(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

inline std::vector<int32_t> rnd_ids(size_t n, int lo, int hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> u(lo, hi);
  std::vector<int32_t> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

inline Tensor put(Backend& b, DType dt, std::vector<int64_t> shape, const void* data) {
  Tensor t = b.alloc(dt, std::move(shape));
  b.from_host(data, t);
  return t;
}

template <class T = float>
inline std::vector<T> get(Backend& b, const Tensor& t) {
  std::vector<T> v(size_t(t.numel()));
  b.to_host(t, v.data());
  return v;
}

// A host weight tensor (what a loader hands to upload_weight).
inline Tensor host_weight(const std::vector<float>& v, std::vector<int64_t> shape) {
  Tensor t = host_tensor(DType::F32, std::move(shape));
  std::memcpy(t.data, v.data(), v.size() * sizeof(float));
  return t;
}

}  // namespace supra::test
