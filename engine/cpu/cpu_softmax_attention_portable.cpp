// The tiled softmax attention for any processor: 4-lane GCC vectors (SSE2 on x86-64, whatever the target has
// elsewhere) and libm's expf. Compiled with the build's baseline flags; CI runs it on every machine
// (SUPRA_CPU_ISA=portable in tests/engine/test_softmax_attention_isa.cpp).
#include "engine/cpu/softmax_attention_isa.h"

namespace supra::cpu {
namespace {

struct Portable {
  typedef float reg __attribute__((vector_size(16)));
  static constexpr int L = 4, kScoreCV = 2, kPvCV = 2;
  static reg zero() { return reg{0.f, 0.f, 0.f, 0.f}; }
  static reg load(const float* p) {
    reg r;
    __builtin_memcpy(&r, p, sizeof r);
    return r;
  }
  static void store(float* p, reg v) { __builtin_memcpy(p, &v, sizeof v); }
  static reg set1(float x) { return reg{x, x, x, x}; }
  static reg add(reg a, reg b) { return a + b; }
  static reg sub(reg a, reg b) { return a - b; }
  static reg mul(reg a, reg b) { return a * b; }
  static reg fmadd(reg a, reg b, reg c) { return a * b + c; }
  static reg max(reg a, reg b) { return a > b ? a : b; }
  static reg eq_select(reg a, reg b, reg x, reg y) { return a == b ? x : y; }
  static void transpose(reg (&r)[L]) {
    float m[L][L];
    for (int i = 0; i < L; i++) __builtin_memcpy(m[i], &r[i], sizeof r[i]);
    for (int i = 0; i < L; i++) r[i] = reg{m[0][i], m[1][i], m[2][i], m[3][i]};
  }
  static reg exp(reg x);
};

}  // namespace
}  // namespace supra::cpu

#include "engine/cpu/softmax_attention_tiles.h"

namespace supra::cpu {
namespace {
Portable::reg Portable::exp(reg x) { return reg{expf(x[0]), expf(x[1]), expf(x[2]), expf(x[3])}; }
}  // namespace

void softmax_attention_block_portable(const SoftmaxAttnArgs& a, int h, int64_t blk, const SoftmaxAttnScratch& w) {
  attention_block<Portable>(a, h, blk, w);
}

}  // namespace supra::cpu
