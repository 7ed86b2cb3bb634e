// SUPRA's three forms compute the same function (SUPRA.md section 3): parallel (reference), chunked, recurrent,
// on random weights, for H == Hkv and GQA, across chunk boundaries and past the training context.
#include <catch2/catch.hpp>

#include "engine/cpu/cpu_ops.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;

namespace {

std::vector<float> supra_logits(const Checkpoint& ck, SupraForm form, const std::vector<int32_t>& tokens) {
  auto be = make_cpu_backend(2);
  Model m(ck, *be, ModelOptions{form, 64});
  return logits_of(m, tokens, int64_t(tokens.size()));
}

}  // namespace

TEST_CASE("SUPRA parallel, chunked and recurrent forms agree", "[supra]") {
  for (auto [H, Hkv] : {std::pair{4, 4}, std::pair{4, 2}}) {
    const Checkpoint ck = small_model(H, Hkv, AttentionMode::Supra, /*ctx=*/128);
    // 1, 63/64/65 around the chunk boundary, 197 over three chunks, 300 past the training context of 128.
    for (int64_t n : {1, 63, 64, 65, 197, 300}) {
      INFO("H=" << H << " Hkv=" << Hkv << " n=" << n);
      const auto tokens = random_tokens(n, 97, uint64_t(n));
      const auto par = supra_logits(ck, SupraForm::Parallel, tokens);
      const auto chk = supra_logits(ck, SupraForm::Chunked, tokens);
      const auto rec = supra_logits(ck, SupraForm::Recurrent, tokens);
      const double tol = reorder_tol(ck.config, n);  // the forms differ only in the order of their sums
      CHECK(rel_err(chk, par) < tol);
      CHECK(rel_err(rec, par) < tol);
    }
  }
}

TEST_CASE("SUPRA chunked prefill hands its state to recurrent decoding", "[supra]") {
  const Checkpoint ck = small_model(4, 2, AttentionMode::Supra);
  auto be = make_cpu_backend(2);
  Model m(ck, *be, ModelOptions{SupraForm::Chunked, 64});
  const auto tokens = random_tokens(150, 97, 3);
  const auto whole = logits_of(m, tokens, 150);
  // Prefill 130 tokens (two full chunks and a partial one), then one token at a time.
  const std::vector<int32_t> head(tokens.begin(), tokens.begin() + 130), tail(tokens.begin() + 130, tokens.end());
  auto st = m.new_state();
  auto a = logits_of(m, head, 130, st.get());
  auto b = logits_of(m, tail, 1, st.get());
  a.insert(a.end(), b.begin(), b.end());
  CHECK(st->n_past() == 150);
  CHECK(rel_err(a, whole) < reorder_tol(ck.config, 150));
}

TEST_CASE("SUPRA chunk kernel matches the parallel reference op by op", "[supra]") {
  // Directly on the kernels: several head sizes, chunk sizes, and a non-zero incoming state.
  for (int d : {8, 32}) {
    for (int chunk : {1, 16, 64}) {
      const int H = 3;
      const int64_t n = 131;
      std::mt19937 rng(uint32_t(d * 100 + chunk));
      std::uniform_real_distribution<float> u(-1, 1);
      std::vector<float> q(size_t(n * H * d)), k(q.size()), v(q.size()), s0(size_t(H * d * d));
      for (auto* vec : {&q, &k, &v, &s0})
        for (auto& x : *vec) x = u(rng);
      const std::vector<float> slopes = {0.84f, 0.1f, 0.0039f};
      std::vector<float> sp = s0, sc = s0, sr = s0, op(q.size()), oc(q.size()), orr(q.size());
      cpu::supra_parallel(q.data(), k.data(), v.data(), n, H, d, slopes.data(), sp.data(), op.data());
      cpu::supra_chunked(q.data(), k.data(), v.data(), n, H, d, slopes.data(), chunk, sc.data(), oc.data());
      cpu::supra_recurrent(q.data(), k.data(), v.data(), n, H, d, slopes.data(), sr.data(), orr.data());
      // Higham's bound is relative to the sum of |terms|: the same kernel on |q|, |k|, |v|, |S0| computes it
      // (the decays are positive). Each output sums n decayed outer products (n), each a product of d-long dot
      // products (2d), and a decay gamma^t formed as a product of up to n factors by the recurrence (n).
      std::vector<float> aq(q), ak(k), av(v), as(s0), ao(q.size());
      for (auto* vec : {&aq, &ak, &av, &as})
        for (auto& x : *vec) x = std::abs(x);
      cpu::supra_parallel(aq.data(), ak.data(), av.data(), n, H, d, slopes.data(), as.data(), ao.data());
      const double g = gamma_k(2.0 * n + 2.0 * d, kUnitF32);
      INFO("d=" << d << " chunk=" << chunk);
      CHECK(scaled_err(oc, op, ao) <= g);
      CHECK(scaled_err(orr, op, ao) <= g);
      CHECK(scaled_err(sc, sp, as) <= g);
      CHECK(scaled_err(sr, sp, as) <= g);
    }
  }
}

TEST_CASE("SUPRA decay slopes follow the ALiBi and RetNet rules", "[supra]") {
  const auto s32 = alibi_slopes(32);
  CHECK(std::exp(-s32[0]) == Approx(0.4313).epsilon(1e-3));  // SUPRA.md: gamma from 0.431 (head 0)
  CHECK(s32[0] == Approx(std::pow(2.0, -0.25)));
  CHECK(std::exp(-s32[31]) == Approx(0.9961).epsilon(1e-4));
  // H = 12: the 8 slopes of H=8, then every other slope of H=16 (ALiBi paper's rule).
  const auto s12 = alibi_slopes(12);
  REQUIRE(s12.size() == 12);
  CHECK(s12[0] == Approx(0.5));
  CHECK(s12[7] == Approx(std::pow(2.0, -8)));
  CHECK(s12[8] == Approx(std::pow(2.0, -0.5)));
  CHECK(s12[9] == Approx(std::pow(2.0, -1.5)));
  const auto r = retnet_slopes(4);
  CHECK(std::exp(-r[0]) == Approx(1 - 1.0 / 32));
  CHECK(std::exp(-r[3]) == Approx(1 - 1.0 / 256));
}
