#pragma once
// Forward and backward kernels of every op of the decoder (SUPRA.md sections 1-2), templated on the element type:
// the trainer runs them in float, the gradient checks in double. Plain functions on raw row-major pointers
// (llm.c style); shapes in the comments, n = rows (tokens).
//
// Convention: a backward ACCUMULATES (+=) into every gradient it writes (dx, dW, db), so residual branches and
// tied weights need no extra adds. Forward outputs are overwritten.
//
// Determinism: rows are split across OpenMP threads with static schedules and every sum over rows that feeds a
// weight gradient runs in a fixed order (BLAS splits output tiles, not the reduction), so a run is bit-identical
// for a fixed thread count.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/model_config.h"
#include "engine/rope.h"

namespace supra::train {

// C[M,N] = alpha op(A) op(B) + beta C, row-major.
inline void gemm(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
                 float beta, float* C, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}
inline void gemm(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B,
                 int ldb, double beta, double* C, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
              B, ldb, beta, C, ldc);
}

// ---- embedding ----
// out[n, D] = table[tok[i], :]
template <class T>
void embedding_forward(const int32_t* tok, int64_t n, const T* table, int D, T* out) {
  for (int64_t i = 0; i < n; i++) std::copy(table + int64_t(tok[i]) * D, table + int64_t(tok[i] + 1) * D, out + i * D);
}
// dtable[V, D] += scatter of dout[n, D] (serial: rows with the same token add in a fixed order)
template <class T>
void embedding_backward(const int32_t* tok, int64_t n, const T* dout, int D, T* dtable) {
  for (int64_t i = 0; i < n; i++) {
    T* row = dtable + int64_t(tok[i]) * D;
    for (int j = 0; j < D; j++) row[j] += dout[i * D + j];
  }
}

// ---- linear ----
// y[n, out] = x[n, in] W[out, in]^T (+ b[out])
template <class T>
void linear_forward(const T* x, int64_t n, int in, const T* W, const T* b, int out, T* y) {
  if (b)
    for (int64_t i = 0; i < n; i++) std::copy(b, b + out, y + i * out);
  gemm(false, true, int(n), out, in, T(1), x, in, W, in, b ? T(1) : T(0), y, out);
}
// dx[n, in] += dy W; dW[out, in] += dy^T x; db[out] += sum_rows dy. dx may be null (no input gradient needed).
template <class T>
void linear_backward(const T* dy, const T* x, int64_t n, int in, const T* W, int out, T* dx, T* dW, T* db) {
  if (dx) gemm(false, false, int(n), in, out, T(1), dy, out, W, in, T(1), dx, in);
  gemm(true, false, out, in, int(n), T(1), dy, out, x, in, T(1), dW, in);
  if (db)
    for (int64_t i = 0; i < n; i++)
      for (int j = 0; j < out; j++) db[j] += dy[i * out + j];
}

// ---- RMSNorm ----
// out[n, D] = x / sqrt(mean(x^2) + eps) * w; rstd[n] saved for the backward.
template <class T>
void rmsnorm_forward(const T* x, const T* w, int64_t n, int D, float eps, T* out, T* rstd) {
#pragma omp parallel for schedule(static) if (n * D > 65536)
  for (int64_t i = 0; i < n; i++) {
    const T* xi = x + i * D;
    T ss = 0;
    for (int j = 0; j < D; j++) ss += xi[j] * xi[j];
    const T r = T(1) / std::sqrt(ss / T(D) + T(eps));
    rstd[i] = r;
    for (int j = 0; j < D; j++) out[i * D + j] = xi[j] * r * w[j];
  }
}
// With g = dy * w: dx = r g - r^3 / D * x * sum(g x); dw += sum_rows dy * x * r.
template <class T>
void rmsnorm_backward(const T* dy, const T* x, const T* w, const T* rstd, int64_t n, int D, T* dx, T* dw) {
#pragma omp parallel for schedule(static) if (n * D > 65536)
  for (int64_t i = 0; i < n; i++) {
    const T* xi = x + i * D;
    const T* gi = dy + i * D;
    const T r = rstd[i];
    T dot = 0;
    for (int j = 0; j < D; j++) dot += gi[j] * w[j] * xi[j];
    const T c = r * r * r * dot / T(D);
    for (int j = 0; j < D; j++) dx[i * D + j] += r * gi[j] * w[j] - c * xi[j];
  }
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < D; j++) dw[j] += dy[i * D + j] * x[i * D + j] * rstd[i];
}

// ---- RoPE ----
// In place on x[n, heads*d] at positions pos[n]; `inverse` rotates by the negative angle, which is the backward
// (a rotation's transpose is its inverse). Angles are computed in fp32 from the engine's own frequencies
// (engine/rope.h) exactly as its CPU backend does, so the trained model and the engine agree whatever T is.
template <class T>
void rope_apply(T* x, const int32_t* pos, int64_t n, int heads, int d, float theta, RopePairing pairing, bool inverse) {
  const int half = d / 2;
  const std::vector<float> inv_freq = rope_inv_freq(theta, d);
#pragma omp parallel for schedule(static) if (n * heads * d > 65536)
  for (int64_t t = 0; t < n; t++) {
    std::vector<T> c(half), s(half);
    for (int i = 0; i < half; i++) {
      const float a = float(pos[t]) * inv_freq[i];
      c[i] = T(std::cos(a));
      s[i] = inverse ? -T(std::sin(a)) : T(std::sin(a));
    }
    for (int h = 0; h < heads; h++) {
      T* v = x + (t * heads + h) * d;
      for (int i = 0; i < half; i++) {
        const int a = pairing == RopePairing::RotateHalf ? i : 2 * i;
        const int b = pairing == RopePairing::RotateHalf ? i + half : 2 * i + 1;
        const T v0 = v[a], v1 = v[b];
        v[a] = v0 * c[i] - v1 * s[i];
        v[b] = v0 * s[i] + v1 * c[i];
      }
    }
  }
}

// ---- ReLU (the feature map's nonlinearity) ----
template <class T>
void relu_forward(T* x, int64_t count) {
  for (int64_t i = 0; i < count; i++) x[i] = x[i] > T(0) ? x[i] : T(0);
}
// dx = dy where the output y was positive (in place on dy).
template <class T>
void relu_backward(const T* y, int64_t count, T* dy) {
  for (int64_t i = 0; i < count; i++)
    if (!(y[i] > T(0))) dy[i] = T(0);
}

// ---- SwiGLU ----
// out[n*F] = silu(g) * u
template <class T>
void swiglu_forward(const T* g, const T* u, int64_t count, T* out) {
  for (int64_t i = 0; i < count; i++) out[i] = g[i] / (T(1) + std::exp(-g[i])) * u[i];
}
// dg += dout * u * sig(g) * (1 + g (1 - sig(g))); du += dout * silu(g)
template <class T>
void swiglu_backward(const T* dout, const T* g, const T* u, int64_t count, T* dg, T* du) {
  for (int64_t i = 0; i < count; i++) {
    const T sg = T(1) / (T(1) + std::exp(-g[i]));
    dg[i] += dout[i] * u[i] * sg * (T(1) + g[i] * (T(1) - sg));
    du[i] += dout[i] * g[i] * sg;
  }
}

// ---- GroupNorm without affine (SUPRA step 7) ----
// Each of n_groups groups of `group` values: y = (x - mean) * rstd, rstd = 1/sqrt(var + eps) (biased var).
template <class T>
void groupnorm_forward(const T* x, int64_t n_groups, int group, float eps, T* y, T* rstd) {
#pragma omp parallel for schedule(static) if (n_groups * group > 65536)
  for (int64_t g = 0; g < n_groups; g++) {
    const T* v = x + g * group;
    T mean = 0;
    for (int j = 0; j < group; j++) mean += v[j];
    mean /= T(group);
    T var = 0;
    for (int j = 0; j < group; j++) var += (v[j] - mean) * (v[j] - mean);
    var /= T(group);
    const T r = T(1) / std::sqrt(var + T(eps));
    rstd[g] = r;
    for (int j = 0; j < group; j++) y[g * group + j] = (v[j] - mean) * r;
  }
}
// dx += rstd (dy - mean(dy) - y mean(dy y)), from the saved output y.
template <class T>
void groupnorm_backward(const T* dy, const T* y, const T* rstd, int64_t n_groups, int group, T* dx) {
#pragma omp parallel for schedule(static) if (n_groups * group > 65536)
  for (int64_t g = 0; g < n_groups; g++) {
    const T* dyg = dy + g * group;
    const T* yg = y + g * group;
    T m1 = 0, m2 = 0;
    for (int j = 0; j < group; j++) {
      m1 += dyg[j];
      m2 += dyg[j] * yg[j];
    }
    m1 /= T(group);
    m2 /= T(group);
    for (int j = 0; j < group; j++) dx[g * group + j] += rstd[g] * (dyg[j] - m1 - yg[j] * m2);
  }
}

// ---- repeat kv heads (GQA) ----
// out[n, H*d]: query head h reads kv head h / (H/Hkv) of x[n, Hkv*d].
template <class T>
void repeat_heads_forward(const T* x, int64_t n, int H, int Hkv, int d, T* out) {
  const int g = H / Hkv;
  for (int64_t t = 0; t < n; t++)
    for (int h = 0; h < H; h++)
      std::copy(x + (t * Hkv + h / g) * d, x + (t * Hkv + h / g + 1) * d, out + (t * H + h) * d);
}
// dx[n, Hkv*d] += sum over each kv head's query heads of dout[n, H*d]
template <class T>
void repeat_heads_backward(const T* dout, int64_t n, int H, int Hkv, int d, T* dx) {
  const int g = H / Hkv;
  for (int64_t t = 0; t < n; t++)
    for (int h = 0; h < H; h++)
      for (int e = 0; e < d; e++) dx[(t * Hkv + h / g) * d + e] += dout[(t * H + h) * d + e];
}

// ---- causal softmax attention with GQA (one sequence, positions 0..n-1) ----
// q[n, H*d], k, v[n, Hkv*d] -> out[n, H*d]; lse[n, H] = logsumexp of each row's scaled scores (saved so the
// backward recomputes the probabilities instead of storing n x n per head). Scale 1/sqrt(d).
template <class T>
void attention_forward(const T* q, const T* k, const T* v, int64_t n, int H, int Hkv, int d, T* out, T* lse) {
  const int g = H / Hkv;
  const T scale = T(1) / std::sqrt(T(d));
  const int64_t qs = int64_t(H) * d, ks = int64_t(Hkv) * d;
#pragma omp parallel for schedule(static) if (n * n * H * d > 262144)
  for (int h = 0; h < H; h++) {
    std::vector<T> p(static_cast<size_t>(n));
    const int kh = h / g;
    for (int64_t t = 0; t < n; t++) {
      const T* qt = q + t * qs + h * d;
      T mx = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j <= t; j++) {
        T a = 0;
        for (int c = 0; c < d; c++) a += qt[c] * k[j * ks + kh * d + c];
        p[j] = a * scale;
        mx = std::max(mx, p[j]);
      }
      T sum = 0;
      for (int64_t j = 0; j <= t; j++) sum += (p[j] = std::exp(p[j] - mx));
      T* ot = out + t * qs + h * d;
      std::fill(ot, ot + d, T(0));
      for (int64_t j = 0; j <= t; j++) {
        const T w = p[j] / sum;
        for (int e = 0; e < d; e++) ot[e] += w * v[j * ks + kh * d + e];
      }
      lse[t * H + h] = mx + std::log(sum);
    }
  }
}
// dq[n, H*d] += ...; dk, dv[n, Hkv*d] += ... (threads split kv heads, so shared kv rows never race).
template <class T>
void attention_backward(const T* dout, const T* q, const T* k, const T* v, const T* out, const T* lse, int64_t n,
                        int H, int Hkv, int d, T* dq, T* dk, T* dv) {
  const int g = H / Hkv;
  const T scale = T(1) / std::sqrt(T(d));
  const int64_t qs = int64_t(H) * d, ks = int64_t(Hkv) * d;
#pragma omp parallel for schedule(static) if (n * n * H * d > 262144)
  for (int kh = 0; kh < Hkv; kh++) {
    std::vector<T> p(static_cast<size_t>(n));
    for (int h = kh * g; h < (kh + 1) * g; h++)
      for (int64_t t = 0; t < n; t++) {
        const T* qt = q + t * qs + h * d;
        const T* dot = dout + t * qs + h * d;
        const T* ot = out + t * qs + h * d;
        T D = 0;  // sum_j P_tj (dO_t . v_j) = dO_t . O_t
        for (int e = 0; e < d; e++) D += dot[e] * ot[e];
        for (int64_t j = 0; j <= t; j++) {
          const T* kj = k + j * ks + kh * d;
          const T* vj = v + j * ks + kh * d;
          T a = 0, dp = 0;
          for (int c = 0; c < d; c++) a += qt[c] * kj[c];
          for (int e = 0; e < d; e++) dp += dot[e] * vj[e];
          const T pj = std::exp(a * scale - lse[t * H + h]);
          const T ds = pj * (dp - D) * scale;  // d loss / d raw score q.k
          for (int c = 0; c < d; c++) {
            dq[t * qs + h * d + c] += ds * kj[c];
            dk[j * ks + kh * d + c] += ds * qt[c];
          }
          for (int e = 0; e < d; e++) dv[j * ks + kh * d + e] += pj * dot[e];
        }
      }
  }
}

// ---- cross-entropy ----
// Mean over rows of -log_softmax(logits[n, V])[targets]; dlogits[n, V] = (softmax - onehot) * grad_scale
// (overwritten; grad_scale = 1 / total rows of the loss). Returns the SUM of the row losses (double).
template <class T>
double cross_entropy_forward_backward(const T* logits, const int32_t* targets, int64_t n, int V, T grad_scale,
                                      T* dlogits) {
  std::vector<double> row_loss(static_cast<size_t>(n));
#pragma omp parallel for schedule(static) if (n * V > 65536)
  for (int64_t i = 0; i < n; i++) {
    const T* l = logits + i * V;
    T mx = l[0];
    for (int j = 1; j < V; j++) mx = std::max(mx, l[j]);
    double sum = 0;
    for (int j = 0; j < V; j++) sum += std::exp(double(l[j] - mx));
    const double lse = double(mx) + std::log(sum);
    row_loss[size_t(i)] = lse - double(l[targets[i]]);
    if (dlogits) {
      T* dl = dlogits + i * V;
      for (int j = 0; j < V; j++) dl[j] = T(std::exp(double(l[j]) - lse)) * grad_scale;
      dl[targets[i]] -= grad_scale;
    }
  }
  double total = 0;
  for (double x : row_loss) total += x;  // fixed order
  return total;
}

}  // namespace supra::train
