// A CPU decode step allocates nothing once warm (issue 15): views carry their shape inline, GEMMs of up to 16 rows
// run cpu_gemv.h instead of a oneDNN call, and rope tables and attention scratch are per-thread buffers that only grow.
// Counted by replacing the global operator new of this test binary (every C++ allocation of the process goes
// through it; the replacement only counts). Each unaligned form is replaced with its delete, so they pair (the
// aligned forms keep the library's own pair).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

#include "engine/cpu/cpu_gemm.h"
#include "tests/engine/test_util.h"

namespace {
std::atomic<long> g_news{0};
}  // namespace

void* operator new(std::size_t n) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_news.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return ::operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

using namespace supra;
using namespace supra::test;

TEST_CASE("a warm CPU decode step allocates nothing, softmax and SUPRA, f32 and bf16, 1 and 4 sequences",
          "[decode][alloc]") {
  for (DType compute : {DType::F32, DType::BF16}) {
    if (compute == DType::BF16 && skip_without_brgemm("bf16 compute")) continue;
    {
      // Where decode GEMMs cannot run our kernel, oneDNN's primitive call allocates its argument map per call.
      const Tensor probe = host_tensor(DType::F32, {96, 64});
      if (!cpu::packed_decode_kernel(*cpu::pack_weight(probe, compute))) {
        std::printf("SKIPPED: decode GEMMs go through oneDNN on this CPU (%s compute), which allocates per call\n",
                    dtype_name(compute));
        continue;
      }
    }
    for (AttentionMode mode : {AttentionMode::Softmax, AttentionMode::Supra})
      for (int batch : {1, 4}) {  // one sequence, and four decoded together
        INFO(mode_name(mode) << ", " << dtype_name(compute) << " compute, batch " << batch);
        const Checkpoint ck = small_model(4, 2, mode);
        auto be = make_cpu_backend(2, compute);
        Model m(ck, *be);
        std::vector<std::unique_ptr<SequenceState>> states;
        for (int b = 0; b < batch; b++) {
          states.push_back(m.new_state());
          logits_of(m, random_tokens(20 + b, 97, 3 + uint64_t(b)), 20 + b, states.back().get());
        }
        std::vector<int32_t> next(size_t(batch), 5);
        std::vector<SeqInput> in;
        in.reserve(size_t(batch));
        Tensor hidden, logits;
        auto step = [&] {
          in.clear();
          for (int b = 0; b < batch; b++)
            in.push_back({states[size_t(b)].get(), std::span<const int32_t>(&next[size_t(b)], 1)});
          m.forward(in, &hidden);
          m.logits(hidden, logits);
          for (int32_t& t : next) t = (t * 31 + 7) % 97;
        };
        for (int i = 0; i < 3; i++) step();  // first touch of each buffer
        // The caches grow by a quarter at a time: amortised, not per step.
        for (auto& st : states) st->reserve_tokens(st->n_past() + 16);
        const long before = g_news.load();
        for (int i = 0; i < 10; i++) step();
        CHECK(g_news.load() - before == 0);
      }
  }
}
