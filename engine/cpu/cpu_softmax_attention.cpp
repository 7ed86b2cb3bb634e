// Causal softmax attention on the CPU, flash-style in blocks of queries: for each (head, block of 64 queries) one
// GEMM gives the scores against the visible keys, a masked softmax per row, one GEMM against the values. The
// blocks run in parallel; each GEMM runs on its own thread (OpenBLAS's OpenMP build stays serial inside our
// parallel region).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel_errors.h"
#include "engine/cpu/cpu_ops.h"

namespace supra::cpu {

void attention(const float* q, const float* k, const float* v, int64_t n, int64_t n_past, int H, int Hkv, int d,
               std::optional<int> window, float* out) {
  const int64_t B = 64;
  const int64_t n_blocks = (n + B - 1) / B;
  const int group = H / Hkv;
  const int64_t qs = int64_t(H) * d, ks = int64_t(Hkv) * d;  // row strides
  const float scale = 1.f / std::sqrt(float(d));
  // Threads only pay off with enough work; a tiny model's attention costs less than waking a team.
  const double work = double(H) * double(n) * double(n_past + n) * d;
  ParallelErrors errors;  // the score block's allocation may throw
#pragma omp parallel if (work > 2e5)
  {
    std::vector<float> S;
#pragma omp for collapse(2) schedule(dynamic)
    for (int h = 0; h < H; h++)
      for (int64_t blk = 0; blk < n_blocks; blk++) errors.guard([&] {
        const int kvh = h / group;
        const int64_t i0 = blk * B, rows = std::min(B, n - i0);
        const int64_t first_pos = n_past + i0, last_pos = first_pos + rows - 1;
        // Keys any row of this block can see: [kstart, kend).
        const int64_t kstart = window ? std::max<int64_t>(0, first_pos - *window + 1) : 0;
        const int64_t kend = last_pos + 1;
        const int64_t nk = kend - kstart;
        S.resize(size_t(rows * nk));
        const float* qb = q + i0 * qs + int64_t(h) * d;
        const float* kb = k + kstart * ks + int64_t(kvh) * d;
        const float* vb = v + kstart * ks + int64_t(kvh) * d;
        // S[rows, nk] = scale * qb . kb^T
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(nk), d, scale, qb, int(qs), kb, int(ks),
                    0.f, S.data(), int(nk));
        for (int64_t r = 0; r < rows; r++) {
          const int64_t pos = first_pos + r;
          const int64_t lo = window ? std::max<int64_t>(0, pos - *window + 1) - kstart : 0;
          const int64_t hi = pos - kstart;  // inclusive
          float* s = S.data() + r * nk;
          float mx = -INFINITY;
          for (int64_t j = lo; j <= hi; j++) mx = std::max(mx, s[j]);
          float sum = 0.f;
          for (int64_t j = 0; j < nk; j++) {
            const float e = (j >= lo && j <= hi) ? std::exp(s[j] - mx) : 0.f;
            s[j] = e;
            sum += e;
          }
          const float inv = 1.f / sum;
          for (int64_t j = lo; j <= hi; j++) s[j] *= inv;
        }
        // out[rows, d] = S . vb
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), d, int(nk), 1.f, S.data(), int(nk), vb,
                    int(ks), 0.f, out + i0 * qs + int64_t(h) * d, int(qs));
      });
  }
  errors.rethrow();
}

}  // namespace supra::cpu
