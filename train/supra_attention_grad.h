#pragma once
// SUPRA linear attention with per-head decay, chunked form (SUPRA.md section 3), forward and backward, for one
// sequence starting from a zero state (every packed training sequence starts fresh). For head h, slope s:
//   o_t = sum_{j<=t} exp(-s(t-j)) (q_t . k_j) v_j
// Chunk c covers rows [p, p+m); S = state before it (d x d, rows over key dims, columns over value dims):
//   O_c   = (Q_c K_c^T ⊙ M) V_c + diag(w) Q_c S,     M[i][j] = exp(-s(i-j)) (j <= i), w[i] = exp(-s(i+1))
//   S'    = exp(-s m) S + Kw^T V_c,                  Kw[j] = k_j exp(-s(m-1-j))
// Every decay factor is exp(-s * non-negative distance) (never a division by a power of gamma). The forward
// saves S before each chunk; the backward walks the chunks in reverse carrying dS' (zero after the last chunk:
// the final state feeds no loss) and uses, for the chunk:
//   dA = (dO V^T) ⊙ M;  dQ += dA K + diag(w) dO S^T;  dK += dA^T Q + (V dS'^T) ⊙ decay_row;
//   dV += (Q K^T ⊙ M)^T dO + Kw dS';  dS = exp(-s m) dS' + (diag(w) Q)^T dO.
// Rows have stride H*d (k and v already repeated to H heads); threads split heads, so nothing races.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "train/ops.h"

namespace supra::train {

inline int64_t supra_n_chunks(int64_t n, int chunk) { return (n + chunk - 1) / chunk; }

// q, k, v, out [n, H*d]; states [H, n_chunks, d, d] (the state entering each chunk).
template <class T>
void supra_forward(const T* q, const T* k, const T* v, int64_t n, int H, int d, const float* slopes, int chunk, T* out,
                   T* states) {
  const int64_t rs = int64_t(H) * d;
  const int C = std::max(1, chunk);
  const int64_t nc = supra_n_chunks(n, C);
#pragma omp parallel for schedule(static) if (n * H * d * (C + d) > 200000)
  for (int h = 0; h < H; h++) {
    std::vector<T> A(size_t(C) * C), tmp(size_t(C) * d), Kw(size_t(C) * d), decay(size_t(C) + 1), S(size_t(d) * d, T(0));
    for (int i = 0; i <= C; i++) decay[i] = std::exp(-T(slopes[h]) * T(i));
    for (int64_t c = 0; c < nc; c++) {
      const int64_t p = c * C;
      const int m = int(std::min<int64_t>(C, n - p));
      std::copy(S.begin(), S.end(), states + (int64_t(h) * nc + c) * d * d);
      const T* Qc = q + p * rs + h * d;
      const T* Kc = k + p * rs + h * d;
      const T* Vc = v + p * rs + h * d;
      T* Oc = out + p * rs + h * d;
      gemm(false, true, m, m, d, T(1), Qc, int(rs), Kc, int(rs), T(0), A.data(), m);
      for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) A[i * m + j] = j <= i ? A[i * m + j] * decay[i - j] : T(0);
      gemm(false, false, m, d, m, T(1), A.data(), m, Vc, int(rs), T(0), Oc, int(rs));
      gemm(false, false, m, d, d, T(1), Qc, int(rs), S.data(), d, T(0), tmp.data(), d);
      for (int i = 0; i < m; i++)
        for (int e = 0; e < d; e++) Oc[i * rs + e] += decay[i + 1] * tmp[i * d + e];
      for (int j = 0; j < m; j++)
        for (int e = 0; e < d; e++) Kw[j * d + e] = Kc[j * rs + e] * decay[m - 1 - j];
      for (auto& x : S) x *= decay[m];
      gemm(true, false, d, d, m, T(1), Kw.data(), d, Vc, int(rs), T(1), S.data(), d);
    }
  }
}

// dout [n, H*d] -> dq, dk, dv [n, H*d] (accumulated).
template <class T>
void supra_backward(const T* dout, const T* q, const T* k, const T* v, const T* states, int64_t n, int H, int d,
                    const float* slopes, int chunk, T* dq, T* dk, T* dv) {
  const int64_t rs = int64_t(H) * d;
  const int C = std::max(1, chunk);
  const int64_t nc = supra_n_chunks(n, C);
#pragma omp parallel for schedule(static) if (n * H * d * (C + d) > 200000)
  for (int h = 0; h < H; h++) {
    std::vector<T> A(size_t(C) * C), dA(size_t(C) * C), Qw(size_t(C) * d), Kw(size_t(C) * d), tmp(size_t(C) * d),
        decay(size_t(C) + 1), dS(size_t(d) * d, T(0)), dSprev(size_t(d) * d);
    for (int i = 0; i <= C; i++) decay[i] = std::exp(-T(slopes[h]) * T(i));
    for (int64_t c = nc - 1; c >= 0; c--) {
      const int64_t p = c * C;
      const int m = int(std::min<int64_t>(C, n - p));
      const T* S = states + (int64_t(h) * nc + c) * d * d;
      const T* Qc = q + p * rs + h * d;
      const T* Kc = k + p * rs + h * d;
      const T* Vc = v + p * rs + h * d;
      const T* dOc = dout + p * rs + h * d;
      T* dQc = dq + p * rs + h * d;
      T* dKc = dk + p * rs + h * d;
      T* dVc = dv + p * rs + h * d;
      // Intra-chunk. A = (Q K^T) ⊙ M, dA = (dO V^T) ⊙ M.
      gemm(false, true, m, m, d, T(1), Qc, int(rs), Kc, int(rs), T(0), A.data(), m);
      gemm(false, true, m, m, d, T(1), dOc, int(rs), Vc, int(rs), T(0), dA.data(), m);
      for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) {
          const T w = j <= i ? decay[i - j] : T(0);
          A[i * m + j] *= w;
          dA[i * m + j] *= w;
        }
      gemm(true, false, m, d, m, T(1), A.data(), m, dOc, int(rs), T(1), dVc, int(rs));   // dV += A^T dO
      gemm(false, false, m, d, m, T(1), dA.data(), m, Kc, int(rs), T(1), dQc, int(rs));  // dQ += dA K
      gemm(true, false, m, d, m, T(1), dA.data(), m, Qc, int(rs), T(1), dKc, int(rs));   // dK += dA^T Q
      // Inter-chunk: O += diag(w) Q S. dQ += diag(w) dO S^T; dS_prev = (diag(w) Q)^T dO.
      gemm(false, true, m, d, d, T(1), dOc, int(rs), S, d, T(0), tmp.data(), d);
      for (int i = 0; i < m; i++)
        for (int e = 0; e < d; e++) {
          dQc[i * rs + e] += decay[i + 1] * tmp[i * d + e];
          Qw[i * d + e] = Qc[i * rs + e] * decay[i + 1];
        }
      gemm(true, false, d, d, m, T(1), Qw.data(), d, dOc, int(rs), T(0), dSprev.data(), d);
      // State update: S' = exp(-s m) S + Kw^T V, with dS' carried from the later chunks.
      for (int j = 0; j < m; j++)
        for (int e = 0; e < d; e++) Kw[j * d + e] = Kc[j * rs + e] * decay[m - 1 - j];
      gemm(false, false, m, d, d, T(1), Kw.data(), d, dS.data(), d, T(1), dVc, int(rs));  // dV += Kw dS'
      gemm(false, true, m, d, d, T(1), Vc, int(rs), dS.data(), d, T(0), tmp.data(), d);   // dKw = V dS'^T
      for (int j = 0; j < m; j++)
        for (int e = 0; e < d; e++) dKc[j * rs + e] += tmp[j * d + e] * decay[m - 1 - j];
      for (size_t i = 0; i < dS.size(); i++) dS[i] = decay[m] * dS[i] + dSprev[i];
    }
  }
}

}  // namespace supra::train
