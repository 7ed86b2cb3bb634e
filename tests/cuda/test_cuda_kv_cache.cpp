// The KV cache on the GPU (issue 17) held to the CPU: 16-bit storage (f16, bf16) widened for attention, forks that
// share their context's rows, prefill and one-token decode steps. Without a GPU every test prints "SKIPPED:".
#include <catch2/catch.hpp>

#include "engine/scorer.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;

TEST_CASE("CUDA KV cache in f32, f16 and bf16 matches the CPU with the same KV dtype", "[cuda][model]") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  auto cpu = make_cpu_backend(2);
  const Checkpoint ck = small_model(4, 2, AttentionMode::Softmax, 256);
  const auto toks = random_tokens(120, 97, 21);
  for (DType kv : {DType::F32, DType::F16, DType::BF16}) {
    INFO("kv " << dtype_name(kv));
    ModelOptions o;
    o.kv_dtype = kv;
    Model mg(ck, *gpu, o), mc(ck, *cpu, o);
    // Prefill in pieces of 40, then decode steps of one token: later pieces read rows stored in `kv`.
    const auto lg = logits_of(mg, toks, 40), lc = logits_of(mc, toks, 40);
    auto sg = mg.new_state(), sc = mc.new_state();
    const auto dg = logits_of(mg, toks, 1, sg.get()), dc = logits_of(mc, toks, 1, sc.get());
    // Both round the same K and V rows to `kv`; the rows come from fp32 GEMMs in another order, so a value may round
    // to the neighbouring 16-bit number: two rounded operands per layer, within the bound for every weight rounded.
    const double u = kv == DType::F32 ? 0.0 : kv == DType::F16 ? kUnitF16 : kUnitBF16;
    const double tol = kv == DType::F32 ? reorder_tol(ck.config, 120) : rounded_tol(ck.config, 120, u);
    CHECK(rel_err(lg, lc) < tol);
    CHECK(rel_err(dg, dc) < tol);
    CHECK(sg->bytes() == sc->bytes());
  }
}

TEST_CASE("CUDA scoring under a state memory budget matches unlimited scoring, forks sharing the context",
          "[cuda][model]") {
  auto gpu = gpu_or_skip();
  if (!gpu) return;
  for (AttentionMode mode : {AttentionMode::Softmax, AttentionMode::Supra}) {
    INFO("mode " << mode_name(mode));
    const Checkpoint ck = small_model(4, 2, mode, 256);
    Model m(ck, *gpu);
    std::vector<LoglikelihoodRequest> reqs;
    const auto ctx = random_tokens(90, 97, 31);
    for (int k = 0; k < 4; k++) reqs.push_back({ctx, random_tokens(2 + k, 97, uint64_t(40 + k))});
    reqs.push_back({random_tokens(200, 97, 45), random_tokens(3, 97, 46)});
    ScorerOptions all{128, 512, 32}, one{128, 512, 32};
    one.state_memory = std::max(m.state_bytes(89) + m.state_bytes(5), m.state_bytes(128));
    const auto a = Scorer(m, all).loglikelihood(reqs);
    const auto b = Scorer(m, one).loglikelihood(reqs);
    // The same jobs in other forward calls: reordered sums at most (cuBLAS picks algorithms by the number of rows).
    for (size_t i = 0; i < reqs.size(); i++) {
      INFO("request " << i);
      std::vector<int32_t> full = reqs[i].context;
      full.insert(full.end(), reqs[i].continuation.begin(), reqs[i].continuation.end());
      if (full.size() > 129) full.erase(full.begin(), full.end() - 129);
      full.pop_back();
      const int64_t nc = int64_t(reqs[i].continuation.size());
      CHECK(std::abs(a[i].logprob - b[i].logprob) <= logprob_tol(ck.config, int64_t(full.size()), nc, logit_scale(m, full)));
      CHECK(a[i].is_greedy == b[i].is_greedy);
    }
  }
}
