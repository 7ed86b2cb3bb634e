// Sequence-state memory (issue 17): forks share their context's KV rows instead of copying them, the KV cache can
// be stored in f16/bf16, and the scorer schedules live states within a byte budget without changing any result.
#include <catch2/catch.hpp>

#include "engine/scorer.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;

TEST_CASE("a KV fork shares its context's rows and owns only what it appends", "[softmax][memory]") {
  const Checkpoint ck = small_model(4, 2, AttentionMode::Softmax);
  auto be = make_cpu_backend(1);
  Model m(ck, *be);
  const auto ctx = random_tokens(300, 97, 5), a = random_tokens(9, 97, 6);
  auto st = m.new_state();
  st->reserve_tokens(300);
  logits_of(m, ctx, 64, st.get());
  const size_t ctx_bytes = st->bytes();
  CHECK(ctx_bytes == m.state_bytes(300));
  auto f = st->fork();
  KVCache& fc = f->kv_cache();
  CHECK(fc.own_bytes() == 0);  // nothing copied
  CHECK(fc.bytes() == ctx_bytes);
  logits_of(m, a, 9, f.get());
  CHECK(fc.own_bytes() == KVCache::bytes_for(ck.config.n_layers, ck.config.kv_dim(), DType::F32, 9));
  // The context goes on after the fork without disturbing it: the fork's logits still equal a recompute.
  auto g = st->fork();
  logits_of(m, random_tokens(20, 97, 11), 20, st.get());
  const auto lg = logits_of(m, a, 9, g.get());
  std::vector<int32_t> full = ctx;
  full.insert(full.end(), a.begin(), a.end());
  const auto ref = logits_of(m, full, int64_t(full.size()));
  CHECK(rel_err(lg, std::vector<float>(ref.end() - long(9 * 97), ref.end())) < reorder_tol(ck.config, 309));
  // A fork of a fork (a context, a shared continuation, then choices) reads all three pieces in order.
  auto gg = g->fork();
  const auto b = random_tokens(5, 97, 12);
  const auto lgg = logits_of(m, b, 5, gg.get());
  full.insert(full.end(), b.begin(), b.end());
  const auto ref2 = logits_of(m, full, int64_t(full.size()));
  CHECK(rel_err(lgg, std::vector<float>(ref2.end() - long(5 * 97), ref2.end())) < reorder_tol(ck.config, 314));
}

TEST_CASE("a KV cache stored in f16 or bf16 holds half the bytes and stays within that rounding of f32",
          "[softmax][memory]") {
  const Checkpoint ck = small_model(4, 2, AttentionMode::Softmax);
  auto be = make_cpu_backend(1);
  Model m(ck, *be);
  const auto toks = random_tokens(200, 97, 3);
  const auto ref = logits_of(m, toks, 37);
  for (DType kv : {DType::F16, DType::BF16}) {
    ModelOptions o = m.options();
    o.kv_dtype = kv;
    m.set_options(o);
    auto st = m.new_state();
    const auto got = logits_of(m, toks, 37, st.get());  // pieces of 37: later pieces read rounded rows
    INFO(dtype_name(kv));
    CHECK(st->kv_cache().dtype() == kv);
    CHECK(m.state_bytes(200) * 2 == KVCache::bytes_for(ck.config.n_layers, ck.config.kv_dim(), DType::F32, 200));
    // K and V rounded once each per layer: two rounded operands per layer, within the bound for rounding every
    // weight matrix of the chain (6 per layer and 3 more).
    const double u = kv == DType::F16 ? kUnitF16 : kUnitBF16;
    const double err = rel_err(got, ref);
    CHECK(err < rounded_tol(ck.config, 200, u));
    CHECK(err > 0);  // the rounding is really there
  }
}

namespace {

// Three contexts with four choices each, two requests cut from the left, one lone request.
std::vector<LoglikelihoodRequest> mixed_requests() {
  std::vector<LoglikelihoodRequest> reqs;
  for (int c = 0; c < 3; c++) {
    const auto ctx = random_tokens(60 + 25 * c, 97, uint64_t(1 + c));
    for (int k = 0; k < 4; k++) reqs.push_back({ctx, random_tokens(2 + k, 97, uint64_t(10 * c + k))});
  }
  reqs.push_back({random_tokens(150, 97, 40), random_tokens(4, 97, 41)});
  reqs.push_back({random_tokens(140, 97, 42), random_tokens(6, 97, 43)});
  reqs.push_back({random_tokens(20, 97, 44), random_tokens(3, 97, 45)});
  return reqs;
}

}  // namespace

TEST_CASE("scores are bitwise the same whatever the state memory budget - one, two or many live states",
          "[scorer][memory]") {
  if (skip_without_brgemm("bitwise equality across budgets")) return;
  struct Setup {
    AttentionMode mode;
    ModelOptions opts;
    int64_t ubatch;  // small ones cut jobs into pieces that land in different calls under different budgets
    int threads;
  };
  ModelOptions chunked, parallel, recurrent, kv_bf16;
  chunked.chunk = 16;
  parallel.form = SupraForm::Parallel;
  recurrent.form = SupraForm::Recurrent;
  kv_bf16.kv_dtype = DType::BF16;
  const Setup setups[] = {{AttentionMode::Softmax, {}, 512, 1},     {AttentionMode::Softmax, {}, 48, 2},
                          {AttentionMode::Softmax, kv_bf16, 40, 2}, {AttentionMode::Supra, chunked, 512, 1},
                          {AttentionMode::Supra, chunked, 48, 2},   {AttentionMode::Supra, parallel, 40, 2},
                          {AttentionMode::Supra, recurrent, 64, 1}};
  for (const Setup& su : setups) {
    INFO(mode_name(su.mode) << " form " << int(su.opts.form) << " kv " << dtype_name(su.opts.kv_dtype) << " ubatch "
                            << su.ubatch << " threads " << su.threads);
    const Checkpoint ck = small_model(4, 2, su.mode);
    auto be = make_cpu_backend(su.threads);
    Model m(ck, *be, su.opts);
    const auto reqs = mixed_requests();
    const int64_t L = 128;
    // The largest single need: one continuation beside its shared context (or one cut request alone).
    size_t one = 0;
    for (const auto& r : reqs) {
      const int64_t n = int64_t(r.context.size() + r.continuation.size());
      one = std::max(one, n > L + 1 ? m.state_bytes(L) : m.state_bytes(int64_t(r.context.size()) - 1) +
                                                               m.state_bytes(int64_t(r.continuation.size())));
    }
    auto score = [&](size_t budget, int64_t* passes) {
      ScorerOptions o{L, su.ubatch, 32};
      o.state_memory = budget;
      Scorer sc(m, o);
      *passes = 0;
      sc.on_progress = [&](int64_t, int64_t) { ++*passes; };
      return sc.loglikelihood(reqs);
    };
    int64_t p_many = 0, p_two = 0, p_one = 0;
    const auto many = score(0, &p_many);
    const auto two = score(2 * one, &p_two);
    const auto single = score(one, &p_one);
    INFO("passes " << p_many << " " << p_two << " " << p_one);
    CHECK(p_many == 1);
    CHECK(p_two > p_many);
    CHECK(p_one > p_two);
    // The same jobs (same tokens into states holding the same rows, cut into the same pieces); only which of them
    // share a forward call changes, and no kernel lets a row's result depend on the other rows of its call. So
    // every number is bitwise the same, not merely close.
    for (size_t i = 0; i < reqs.size(); i++) {
      INFO("request " << i);
      CHECK(two[i].logprob == many[i].logprob);
      CHECK(single[i].logprob == many[i].logprob);
      CHECK(two[i].token_logprobs == many[i].token_logprobs);
      CHECK(single[i].token_logprobs == many[i].token_logprobs);
      CHECK(two[i].is_greedy == many[i].is_greedy);
      CHECK(single[i].is_greedy == many[i].is_greedy);
    }
    // A budget below one request's need is refused with the numbers.
    ScorerOptions tiny{L, su.ubatch, 32};
    tiny.state_memory = one / 4;
    Scorer sc(m, tiny);
    CHECK_THROWS_WITH(sc.loglikelihood(reqs), Catch::Contains("state memory budget"));
  }
}

TEST_CASE("generation batches within the state memory budget give the same text", "[scorer][memory]") {
  const Checkpoint ck = small_model(4, 2, AttentionMode::Softmax);
  auto be = make_cpu_backend(1);
  Model m(ck, *be);
  std::vector<GenerateRequest> reqs;
  for (int i = 0; i < 5; i++) reqs.push_back({random_tokens(30 + 10 * i, 97, uint64_t(60 + i)), {}, 8});
  auto run = [&](size_t budget) {
    ScorerOptions o{128, 512, 32};
    o.state_memory = budget;
    Scorer sc(m, o);
    return sc.generate_until(reqs, nullptr);
  };
  // One request live at a time decodes one row per call; all five decode five rows per call: the same tokens.
  const auto all = run(0), one = run(m.state_bytes(128));
  for (size_t i = 0; i < reqs.size(); i++) CHECK(one[i].tokens == all[i].tokens);
}
