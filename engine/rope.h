#pragma once
// RoPE's frequencies, one helper for the CPU backend, the CUDA backend (a host table it uploads) and the trainer,
// so all three rotate by bit-identical angles.
#include <cmath>
#include <vector>

namespace supra {

// inv_freq[i] = theta^(-2i/d) for i < d/2, computed in fp32 as the HF and llama2.c references do.
inline void rope_inv_freq(float theta, int head_dim, float* inv_freq) {
  for (int i = 0; i < head_dim / 2; i++) inv_freq[i] = 1.f / std::pow(theta, float(2 * i) / float(head_dim));
}
inline std::vector<float> rope_inv_freq(float theta, int head_dim) {
  std::vector<float> f(size_t(head_dim / 2));
  rope_inv_freq(theta, head_dim, f.data());
  return f;
}

}  // namespace supra
