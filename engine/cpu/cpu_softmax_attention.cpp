// Causal softmax attention on the CPU: the thread team and the choice of ISA. The arithmetic is the tiled
// (flash-style) kernel of softmax_attention_tiles.h, compiled once per ISA (cpu_softmax_attention_<isa>.cpp): per
// (head, block of kAttnBq queries) the block's scores against one tile of kAttnBk keys stay in L2 while an online
// softmax folds them into the output, so long contexts are bound by arithmetic rather than by memory traffic.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cpu_features.h"
#include "core/parallel_errors.h"
#include "engine/cpu/cpu_ops.h"
#include "engine/cpu/softmax_attention_isa.h"

namespace supra::cpu {

namespace {

SoftmaxAttnBlockFn block_kernel(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Avx512: return softmax_attention_block_avx512;
    case CpuIsa::Avx2: return softmax_attention_block_avx2;
    case CpuIsa::Portable: break;
  }
  return softmax_attention_block_portable;
}

}  // namespace

void attention(const float* q, const float* k, const float* v, int64_t n, int64_t n_past, int H, int Hkv, int d,
               std::optional<int> window, float* out) {
  if (n <= 0) return;
  const SoftmaxAttnBlockFn kernel = block_kernel(cpu_isa());
  // A GQA decode step runs a task per KV head: its query heads share each key tile read (group_heads).
  const bool group = n == 1 && H > Hkv;
  const SoftmaxAttnArgs a{q, k, v, out, n, n_past, window ? int64_t(*window) : 0, H, Hkv, d,
                          1.f / std::sqrt(float(d)), group};
  const int64_t n_blocks = (n + kAttnBq - 1) / kAttnBq;
  const int tasks_h = group ? Hkv : H;
  const size_t scratch = size_t(attn_scratch_floats(d));
  // Threads only pay off with enough work; a tiny model's attention costs less than waking a team.
  const double work = double(H) * double(n) * double(window ? std::min<int64_t>(*window, n_past + n) : n_past + n) * d;
  ParallelErrors errors;  // a thread's first scratch allocation may throw
#pragma omp parallel if (work > 2e5)
  {
    // Each thread's scratch outlives the call: after the first call at a head dim, no allocation.
    static thread_local std::vector<float> buf;
    errors.guard([&] {
      if (buf.size() < scratch) buf.resize(scratch);
    });
    const bool ok = buf.size() >= scratch;
    const SoftmaxAttnScratch w = attn_scratch(buf.data(), d);
#pragma omp for collapse(2) schedule(dynamic)
    for (int h = 0; h < tasks_h; h++)
      for (int64_t blk = 0; blk < n_blocks; blk++)
        if (ok) kernel(a, h, blk, w);
  }
  errors.rethrow();
}

}  // namespace supra::cpu
