// Softmax mode: the full pass equals incremental decoding with the KV cache, a forked state equals recomputing,
// and the sliding window limits what a query sees.
#include <catch2/catch.hpp>

#include "engine/cpu/cpu_ops.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;

TEST_CASE("softmax full pass equals incremental decoding with the KV cache", "[softmax]") {
  for (auto [H, Hkv] : {std::pair{4, 4}, std::pair{4, 1}}) {
    const Checkpoint ck = small_model(H, Hkv, AttentionMode::Softmax);
    auto be = make_cpu_backend(0);
    Model m(ck, *be);
    const auto tokens = random_tokens(100, 97, 11);
    const auto full = logits_of(m, tokens, 100);
    const auto step = logits_of(m, tokens, 1);
    const auto pieces = logits_of(m, tokens, 37);
    INFO("H=" << H << " Hkv=" << Hkv);
    const double tol = reorder_tol(ck.config, 100);  // one function, sums in another order
    CHECK(rel_err(step, full) < tol);
    CHECK(rel_err(pieces, full) < tol);
  }
}

TEST_CASE("a forked state gives the same logits as recomputing", "[softmax][supra]") {
  for (auto mode : {AttentionMode::Softmax, AttentionMode::Supra}) {
    const Checkpoint ck = small_model(4, 2, mode);
    auto be = make_cpu_backend(0);
    Model m(ck, *be);
    const auto ctx = random_tokens(70, 97, 5), a = random_tokens(9, 97, 6), b = random_tokens(12, 97, 8);
    auto st = m.new_state();
    logits_of(m, ctx, 70, st.get());
    auto fa = st->fork();
    auto fb = st->fork();
    const auto la = logits_of(m, a, 9, fa.get());
    const auto lb = logits_of(m, b, 12, fb.get());
    std::vector<int32_t> ca = ctx, cb = ctx;
    ca.insert(ca.end(), a.begin(), a.end());
    cb.insert(cb.end(), b.begin(), b.end());
    const auto ra = logits_of(m, ca, int64_t(ca.size()));
    const auto rb = logits_of(m, cb, int64_t(cb.size()));
    const size_t V = 97;
    INFO(mode_name(mode));
    const double tol = reorder_tol(ck.config, 82);  // one function, sums in another order
    CHECK(rel_err(la, std::vector<float>(ra.end() - long(9 * V), ra.end())) < tol);
    CHECK(rel_err(lb, std::vector<float>(rb.end() - long(12 * V), rb.end())) < tol);
    CHECK(fa->n_past() == 79);
    CHECK(st->n_past() == 70);  // forking and extending the copies leaves the original as it was
  }
}

TEST_CASE("a KV cache forked at a shorter prefix goes on as if only that prefix had been read", "[softmax][supra]") {
  const Checkpoint ck = small_model(4, 2, AttentionMode::Softmax);
  auto be = make_cpu_backend(0);
  Model m(ck, *be);
  const auto ctx = random_tokens(70, 97, 5), b = random_tokens(12, 97, 8);
  auto st = m.new_state();
  logits_of(m, ctx, 70, st.get());
  auto f = st->fork_prefix(40);  // forget the last 30 tokens
  REQUIRE(f);
  CHECK(f->n_past() == 40);
  const auto lb = logits_of(m, b, 12, f.get());
  std::vector<int32_t> cb(ctx.begin(), ctx.begin() + 40);
  cb.insert(cb.end(), b.begin(), b.end());
  const auto rb = logits_of(m, cb, int64_t(cb.size()));
  CHECK(rel_err(lb, std::vector<float>(rb.end() - long(12 * 97), rb.end())) < reorder_tol(ck.config, 52));
  CHECK(st->n_past() == 70);
  CHECK_THROWS(st->fork_prefix(71));
  // A SUPRA state has summed every token into one matrix: it cannot forget some.
  Model ms(small_model(4, 2, AttentionMode::Supra), *be);
  auto ss = ms.new_state();
  logits_of(ms, ctx, 70, ss.get());
  CHECK(ss->fork_prefix(40) == nullptr);
}

TEST_CASE("a state made by a model of the other mode is an error, not undefined behaviour", "[softmax][supra]") {
  const Checkpoint soft = small_model(4, 2, AttentionMode::Softmax), supra = small_model(4, 2, AttentionMode::Supra);
  auto be = make_cpu_backend(0);
  Model ms(soft, *be), mp(supra, *be);
  const auto tokens = random_tokens(5, 97, 3);
  auto supra_state = mp.new_state();
  auto kv_cache = ms.new_state();
  REQUIRE_THROWS_WITH(logits_of(ms, tokens, 5, supra_state.get()),
                      Catch::Contains("a softmax model was given a supra state"));
  REQUIRE_THROWS_WITH(logits_of(mp, tokens, 5, kv_cache.get()),
                      Catch::Contains("a SUPRA model was given a softmax state"));
  CHECK(supra_state->n_past() == 0);
  CHECK(kv_cache->n_past() == 0);
}

TEST_CASE("sliding-window attention sees only the last W keys", "[softmax]") {
  // One head, d=2: with window 3, the query at position 5 attends keys 3..5 only, so changing key 0..2 values
  // must not move its output, while it does without a window.
  const int64_t n = 6;
  std::vector<float> q(size_t(n * 2), 0.3f), k(size_t(n * 2)), v(size_t(n * 2)), o1(size_t(n * 2)), o2(size_t(n * 2));
  for (int64_t i = 0; i < n * 2; i++) {
    k[size_t(i)] = float(i % 5) * 0.1f;
    v[size_t(i)] = float(i);
  }
  auto v2 = v;
  v2[0] = v2[1] = v2[2] = v2[3] = v2[4] = v2[5] = 100.f;  // rows 0..2
  cpu::attention(q.data(), k.data(), v.data(), n, 0, 1, 1, 2, 3, o1.data());
  cpu::attention(q.data(), k.data(), v2.data(), n, 0, 1, 1, 2, 3, o2.data());
  // Keys outside the window never enter the sum (or enter with weight exactly 0): equal bit for bit.
  CHECK(o1[10] == o2[10]);
  CHECK(o1[11] == o2[11]);
  CHECK(o1[4] != Approx(o2[4]));  // position 2 still sees keys 0..2
  cpu::attention(q.data(), k.data(), v2.data(), n, 0, 1, 1, 2, std::nullopt, o2.data());
  CHECK(o1[10] != Approx(o2[10]));
}
