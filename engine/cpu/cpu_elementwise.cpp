// Row-wise CPU kernels: RMSNorm, RoPE, GroupNorm, log-softmax with gather.
#include <cmath>
#include <limits>

#include "core/parallel_errors.h"
#include "engine/cpu/cpu_ops.h"
#include "engine/rope.h"

namespace supra::cpu {

void rmsnorm(const float* x, const float* w, int64_t n, int64_t dim, float eps, float* out) {
#pragma omp parallel for schedule(static) if (n * dim > 65536)
  for (int64_t i = 0; i < n; i++) {
    const float* xi = x + i * dim;
    float* oi = out + i * dim;
    float ss = 0.f;
    for (int64_t j = 0; j < dim; j++) ss += xi[j] * xi[j];
    const float r = 1.f / std::sqrt(ss / float(dim) + eps);
    for (int64_t j = 0; j < dim; j++) oi[j] = xi[j] * r * w[j];
  }
}

void rope(float* x, const int32_t* pos, int64_t n, int heads, int d, float theta, RopePairing pairing) {
  const int half = d / 2;
  // Per-thread tables that only grow: a decode step allocates nothing.
  thread_local std::vector<float> inv_freq;
  if (inv_freq.size() < size_t(half)) inv_freq.resize(size_t(half));
  rope_inv_freq(theta, d, inv_freq.data());
  const float* inv = inv_freq.data();
  ParallelErrors errors;  // a thread's first cos/sin rows may throw
#pragma omp parallel for schedule(static) if (n * heads * d > 65536)
  for (int64_t t = 0; t < n; t++) errors.guard([&] {
    thread_local std::vector<float> cs;
    if (cs.size() < size_t(2 * half)) cs.resize(size_t(2 * half));
    float* c = cs.data();
    float* s = c + half;
    for (int i = 0; i < half; i++) {
      const float a = float(pos[t]) * inv[i];
      c[i] = std::cos(a);
      s[i] = std::sin(a);
    }
    for (int h = 0; h < heads; h++) {
      float* v = x + (t * heads + h) * d;
      for (int i = 0; i < half; i++) {
        // rotate-half pairs i with i + d/2; interleaved pairs 2i with 2i+1.
        const int a = pairing == RopePairing::RotateHalf ? i : 2 * i;
        const int b = pairing == RopePairing::RotateHalf ? i + half : 2 * i + 1;
        const float v0 = v[a], v1 = v[b];
        v[a] = v0 * c[i] - v1 * s[i];
        v[b] = v0 * s[i] + v1 * c[i];
      }
    }
  });
  errors.rethrow();
}

void groupnorm(float* x, int64_t n_groups, int group, float eps) {
#pragma omp parallel for schedule(static) if (n_groups * group > 65536)
  for (int64_t g = 0; g < n_groups; g++) {
    float* v = x + g * group;
    double mean = 0;
    for (int j = 0; j < group; j++) mean += v[j];
    mean /= group;
    double var = 0;
    for (int j = 0; j < group; j++) var += (v[j] - mean) * (v[j] - mean);
    var /= group;  // biased, as torch.nn.GroupNorm
    const float r = float(1.0 / std::sqrt(var + eps));
    const float m = float(mean);
    for (int j = 0; j < group; j++) v[j] = (v[j] - m) * r;
  }
}

void log_softmax_gather(const float* logits, int64_t n, int64_t V, const int32_t* targets, float* logprob,
                        int32_t* argmax) {
#pragma omp parallel for schedule(static) if (n * V > 65536)
  for (int64_t i = 0; i < n; i++) {
    const float* l = logits + i * V;
    float mx = -std::numeric_limits<float>::infinity();
    int32_t am = 0;
    for (int64_t j = 0; j < V; j++)
      if (l[j] > mx) {
        mx = l[j];
        am = int32_t(j);
      }
    double sum = 0;
    for (int64_t j = 0; j < V; j++) sum += std::exp(double(l[j] - mx));
    argmax[i] = am;
    logprob[i] = targets ? float(double(l[targets[i]] - mx) - std::log(sum)) : 0.f;
  }
}

}  // namespace supra::cpu
