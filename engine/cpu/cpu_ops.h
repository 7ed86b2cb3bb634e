#pragma once
// Plain CPU kernels (llm.c style): raw pointers, shapes in the comments. The CPU backend calls these, and the
// tests use them as the reference every other backend is held to.
#include <cstdint>
#include <optional>

#include "engine/model_config.h"
#include "engine/tensor.h"

namespace supra::cpu {

// y[n, out] = x[n, in] . W[out, in]^T (+ bias); W in any float dtype (f16/bf16 converted tile by tile). OpenBLAS:
// the plain reference; the backend's own GEMM is cpu_gemm.h.
void matmul(const float* x, int64_t n, int64_t in, const Tensor& w, float* y, const float* bias);

// out[n, D] = x / sqrt(mean(x^2) + eps) * w; w fp32 [D].
void rmsnorm(const float* x, const float* w, int64_t n, int64_t dim, float eps, float* out);

// In place on x[n, heads*d] at positions pos[n].
void rope(float* x, const int32_t* pos, int64_t n, int heads, int d, float theta, RopePairing pairing);

// Causal softmax attention. q[n, H*d] at positions n_past+i; k, v [n_past+n, Hkv*d]; out[n, H*d]. Tiled, online
// softmax in fp32, vectorised at the level cpu_isa() gives (softmax_attention_isa.h). A row's output is bitwise
// the same whatever other rows share the call (decode, chunks, a whole prefill), for a given ISA level.
void attention(const float* q, const float* k, const float* v, int64_t n, int64_t n_past, int H, int Hkv, int d,
               std::optional<int> window, float* out);

// SUPRA linear attention continuing from state[H, d, d] (updated). q, k, v, out [n, H*d]; slopes[H].
void supra_parallel(const float* q, const float* k, const float* v, int64_t n, int H, int d, const float* slopes,
                    float* state, float* out);
void supra_chunked(const float* q, const float* k, const float* v, int64_t n, int H, int d, const float* slopes,
                   int chunk, float* state, float* out);
void supra_recurrent(const float* q, const float* k, const float* v, int64_t n, int H, int d, const float* slopes,
                     float* state, float* out);

// In place: each group of `group` consecutive values normalised to zero mean, unit (biased) variance.
void groupnorm(float* x, int64_t n_groups, int group, float eps);

// Per row of logits[n, V]: log_softmax at targets[i], and argmax (first index on ties).
void log_softmax_gather(const float* logits, int64_t n, int64_t V, const int32_t* targets, float* logprob,
                        int32_t* argmax);

}  // namespace supra::cpu
