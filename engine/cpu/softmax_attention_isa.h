#pragma once
// The contract between cpu_softmax_attention.cpp (threads, scratch, ISA choice via core/cpu_features.h) and the
// per-ISA tile kernels (cpu_softmax_attention_{portable,avx2,avx512}.cpp, one algorithm: softmax_attention_tiles.h).
// Each ISA file is compiled with its own instruction-set flags and is only called when cpu_isa() allows it.
#include <cstdint>

namespace supra::cpu {

// Query rows per block (one task of the thread team) and keys per tile. Key tiles start at multiples of kAttnBk
// counted from position 0, whatever the call: a query row sees the same tiles in the same order whether it is
// computed alone (decode) or among other rows, so its output is bitwise the same (per ISA).
inline constexpr int64_t kAttnBq = 128;
inline constexpr int64_t kAttnBk = 64;

// Head dim rounded up to 16 floats: packed rows of q, v and the accumulator are whole vectors at every ISA.
inline int64_t attn_padded_dim(int d) { return (int64_t(d) + 15) / 16 * 16; }

// Causal softmax attention, shapes as cpu::attention (cpu_ops.h). window = 0: no sliding window.
struct SoftmaxAttnArgs {
  const float *q, *k, *v;  // q [n, H*d]; k, v [n_past+n, Hkv*d]
  float* out;              // [n, H*d]
  int64_t n, n_past, window;
  int H, Hkv, d;
  float scale;               // 1/sqrt(d)
  bool group_heads = false;  // n = 1 and H > Hkv: a task is a KV head, its H/Hkv query heads the rows (blk = 0)
};

// One thread's working set for one (head, query block), all within L2:
//   q [d, kAttnBq] (transposed, scaled), vp [kAttnBk, dp] (the value tile), s [kAttnBk, kAttnBq] (scores, then
//   probabilities, transposed), acc [kAttnBq, dp], m, l, alpha [kAttnBq] (running max, running sum, rescale).
struct SoftmaxAttnScratch {
  float *q, *vp, *s, *acc, *m, *l, *alpha;
};
inline int64_t attn_scratch_floats(int d) {
  const int64_t dp = attn_padded_dim(d);
  return kAttnBq * dp * 2 + dp * kAttnBk + kAttnBq * kAttnBk + 3 * kAttnBq;
}
inline SoftmaxAttnScratch attn_scratch(float* base, int d) {
  const int64_t dp = attn_padded_dim(d);
  SoftmaxAttnScratch w;
  w.q = base;
  w.vp = w.q + kAttnBq * dp;
  w.s = w.vp + kAttnBk * dp;
  w.acc = w.s + kAttnBq * kAttnBk;
  w.m = w.acc + kAttnBq * dp;
  w.l = w.m + kAttnBq;
  w.alpha = w.l + kAttnBq;
  return w;
}

// Computes rows [blk*kAttnBq, min(n, (blk+1)*kAttnBq)) of head h into a.out; with a.group_heads, the one row of
// every query head of KV head h.
using SoftmaxAttnBlockFn = void (*)(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w);
void softmax_attention_block_portable(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w);
void softmax_attention_block_avx2(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w);
void softmax_attention_block_avx512(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w);

// Largest error of the vectorised exp of the AVX2 and AVX-512 kernels, in units in the last place of the fp32
// result, over the arguments the kernel feeds it ([-87, 0]; tests/engine/test_softmax_attention_isa.cpp checks it).
// The portable kernel uses libm's expf (within 1 ulp).
inline constexpr int kAttnExpUlps = 2;

// The vectorised exp alone, n values, for that test (x86-64 ISAs only; the portable one is expf).
void attn_exp_avx2(const float* x, float* y, int64_t n);
void attn_exp_avx512(const float* x, float* y, int64_t n);

}  // namespace supra::cpu
