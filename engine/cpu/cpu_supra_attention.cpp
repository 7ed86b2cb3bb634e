// SUPRA linear attention on the CPU in its three forms (SUPRA.md section 3). For head h with slope s:
//   S_t = sum_{j<=t} exp(-s(t-j)) k_j v_j^T   (d x d, S[c][e]: c over key dims, e over value dims)
//   o_t = S_t^T q_t
// Every form continues from the incoming state (positions counted from the call's first token) and leaves the
// state after its last token. Decay factors are always exp(-s * non-negative distance).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel_errors.h"
#include "engine/cpu/cpu_ops.h"

namespace supra::cpu {

// Reference, O(n^2 d) per head, double accumulation. Tests only.
void supra_parallel(const float* q, const float* k, const float* v, int64_t n, int H, int d, const float* slopes,
                    float* state, float* out) {
  const int64_t rs = int64_t(H) * d;
  ParallelErrors errors;  // the per-head buffers' allocation may throw
#pragma omp parallel for schedule(dynamic)
  for (int h = 0; h < H; h++) errors.guard([&] {
    const double s = slopes[h];
    float* S = state + int64_t(h) * d * d;
    std::vector<double> o(d);
    for (int64_t t = 0; t < n; t++) {
      const float* qt = q + t * rs + h * d;
      std::fill(o.begin(), o.end(), 0.0);
      for (int64_t j = 0; j <= t; j++) {
        const float* kj = k + j * rs + h * d;
        const float* vj = v + j * rs + h * d;
        double a = 0;
        for (int c = 0; c < d; c++) a += double(qt[c]) * kj[c];
        a *= std::exp(-s * double(t - j));
        for (int e = 0; e < d; e++) o[e] += a * vj[e];
      }
      // Contribution of the incoming state, decayed over t+1 steps.
      const double w = std::exp(-s * double(t + 1));
      for (int c = 0; c < d; c++)
        for (int e = 0; e < d; e++) o[e] += w * double(qt[c]) * S[c * d + e];
      for (int e = 0; e < d; e++) out[t * rs + h * d + e] = float(o[e]);
    }
    // S_new = exp(-s n) S_old + sum_j exp(-s(n-1-j)) k_j v_j^T
    std::vector<double> Sn(size_t(d) * d);
    const double w0 = std::exp(-s * double(n));
    for (int i = 0; i < d * d; i++) Sn[i] = w0 * S[i];
    for (int64_t j = 0; j < n; j++) {
      const double w = std::exp(-s * double(n - 1 - j));
      const float* kj = k + j * rs + h * d;
      const float* vj = v + j * rs + h * d;
      for (int c = 0; c < d; c++)
        for (int e = 0; e < d; e++) Sn[c * d + e] += w * double(kj[c]) * vj[e];
    }
    for (int i = 0; i < d * d; i++) S[i] = float(Sn[i]);
  });
  errors.rethrow();
}

// Chunked: exact within a chunk (masked C x C block), the state carries everything before it. O(n C d + n d^2).
void supra_chunked(const float* q, const float* k, const float* v, int64_t n, int H, int d, const float* slopes,
                   int chunk, float* state, float* out) {
  const int64_t rs = int64_t(H) * d;
  // A chunk longer than the call is one chunk of n tokens: the same arithmetic with an n x n block, so the
  // block stays bounded by the call's length whatever chunk length was asked.
  const int C = int(std::clamp<int64_t>(n, 1, std::max(1, chunk)));
  const double work = double(H) * double(n) * d * (C + d);
  ParallelErrors errors;  // the per-thread blocks' allocation may throw
#pragma omp parallel if (work > 2e5)
  {
    std::vector<float> A, tmp, Kw, decay;
    errors.guard([&] {
      A.resize(size_t(C) * C);
      tmp.resize(size_t(C) * d);
      Kw.resize(size_t(C) * d);
      decay.resize(size_t(C) + 1);
    });
    const bool ok = decay.size() == size_t(C) + 1;
#pragma omp for schedule(dynamic)
    for (int h = 0; h < H; h++) {
      if (!ok) continue;
      const float s = slopes[h];
      for (int i = 0; i <= C; i++) decay[i] = std::exp(-s * float(i));  // exp(-s * distance)
      float* S = state + int64_t(h) * d * d;
      for (int64_t c0 = 0; c0 < n; c0 += C) {
        const int m = int(std::min<int64_t>(C, n - c0));
        const float* Qc = q + c0 * rs + h * d;
        const float* Kc = k + c0 * rs + h * d;
        const float* Vc = v + c0 * rs + h * d;
        float* Oc = out + c0 * rs + h * d;
        // intra-chunk: A = (Qc Kc^T) masked with exp(-s(i-j)) for j <= i
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, m, d, 1.f, Qc, int(rs), Kc, int(rs), 0.f, A.data(),
                    m);
        for (int i = 0; i < m; i++)
          for (int j = 0; j < m; j++) A[i * m + j] = j <= i ? A[i * m + j] * decay[i - j] : 0.f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, m, 1.f, A.data(), m, Vc, int(rs), 0.f, Oc,
                    int(rs));
        // inter-chunk: o_i += exp(-s(i+1)) S^T q_i, i.e. rows of Qc S scaled per row
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, d, d, 1.f, Qc, int(rs), S, d, 0.f, tmp.data(), d);
        for (int i = 0; i < m; i++) {
          const float w = i + 1 <= C ? decay[i + 1] : std::exp(-s * float(i + 1));
          for (int e = 0; e < d; e++) Oc[i * rs + e] += w * tmp[i * d + e];
        }
        // state: S = exp(-s m) S + sum_j exp(-s(m-1-j)) k_j v_j^T
        for (int j = 0; j < m; j++) {
          const float w = decay[m - 1 - j];
          for (int c = 0; c < d; c++) Kw[j * d + c] = Kc[j * rs + c] * w;
        }
        const float wm = decay[m];
        for (int i = 0; i < d * d; i++) S[i] *= wm;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, m, 1.f, Kw.data(), d, Vc, int(rs), 1.f, S, d);
      }
    }
  }
  errors.rethrow();
}

// Recurrent: S = gamma S + k v^T, o = S^T q, one token at a time. O(d^2) per token and head.
void supra_recurrent(const float* q, const float* k, const float* v, int64_t n, int H, int d, const float* slopes,
                     float* state, float* out) {
  const int64_t rs = int64_t(H) * d;
#pragma omp parallel for schedule(static) if (H * d * d * n > 32768)
  for (int h = 0; h < H; h++) {
    const float gamma = std::exp(-slopes[h]);
    float* S = state + int64_t(h) * d * d;
    for (int64_t t = 0; t < n; t++) {
      const float* qt = q + t * rs + h * d;
      const float* kt = k + t * rs + h * d;
      const float* vt = v + t * rs + h * d;
      float* ot = out + t * rs + h * d;
      for (int e = 0; e < d; e++) ot[e] = 0.f;
      for (int c = 0; c < d; c++) {
        float* Sc = S + c * d;
        const float kc = kt[c], qc = qt[c];
        for (int e = 0; e < d; e++) {
          Sc[e] = gamma * Sc[e] + kc * vt[e];
          ot[e] += qc * Sc[e];
        }
      }
    }
  }
}

}  // namespace supra::cpu
