// The scoring API: shared-context scoring equals scoring alone, left truncation as lm-eval does it, rolling
// windows, greedy generation with stop strings.
#include <catch2/catch.hpp>

#include "engine/scorer.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;

TEST_CASE("choices sharing a context score the same as each request alone", "[scorer]") {
  for (auto mode : {AttentionMode::Softmax, AttentionMode::Supra}) {
    const Checkpoint ck = small_model(4, 2, mode);
    auto be = make_cpu_backend(0);
    Model m(ck, *be);
    const auto ctx = random_tokens(40, 97, 1);
    std::vector<LoglikelihoodRequest> reqs;
    for (int c = 0; c < 4; c++) reqs.push_back({ctx, random_tokens(3 + c, 97, uint64_t(10 + c))});
    reqs.push_back({random_tokens(25, 97, 99), random_tokens(5, 97, 98)});  // a lone context in the same batch
    Scorer sc(m, {128, 16, 3});  // tiny ubatch: pieces split across forward calls too
    const auto together = sc.loglikelihood(reqs);
    for (size_t i = 0; i < reqs.size(); i++) {
      Scorer alone(m, {128, 512, 1});
      const auto r = alone.loglikelihood(std::span<const LoglikelihoodRequest>(&reqs[i], 1));
      INFO(mode_name(mode) << " request " << i);
      std::vector<int32_t> full = reqs[i].context;
      full.insert(full.end(), reqs[i].continuation.begin(), reqs[i].continuation.end());
      const auto lg = logits_of(m, std::vector<int32_t>(full.begin(), full.end() - 1), 512);
      const size_t V = 97, nc = reqs[i].continuation.size(), start = full.size() - 1 - nc;
      double scale = 0;
      for (float x : lg) scale = std::max(scale, double(std::abs(x)));
      const double tol = logprob_tol(ck.config, int64_t(full.size()), int64_t(nc), scale);
      CHECK(std::abs(together[i].logprob - r[0].logprob) < tol);
      CHECK(together[i].is_greedy == r[0].is_greedy);
      // And equal to the full-sequence logits read by hand.
      double want = 0;
      for (size_t t = 0; t < nc; t++) {
        const float* row = lg.data() + (start + t) * V;
        double mx = row[0], sum = 0;
        for (size_t j = 0; j < V; j++) mx = std::max(mx, double(row[j]));
        for (size_t j = 0; j < V; j++) sum += std::exp(double(row[j]) - mx);
        want += double(row[reqs[i].continuation[t]]) - mx - std::log(sum);
      }
      CHECK(std::abs(together[i].logprob - want) < tol);
    }
  }
}

TEST_CASE("left truncation keeps the last L+1 tokens and records the counts", "[scorer]") {
  const Checkpoint ck = small_model(4, 4, AttentionMode::Softmax);
  auto be = make_cpu_backend(0);
  Model m(ck, *be);
  const auto ctx = random_tokens(50, 97, 2), cont = random_tokens(6, 97, 3);
  Scorer sc(m, {20, 512, 4});
  const LoglikelihoodRequest req{ctx, cont};
  const auto r = sc.loglikelihood(std::span<const LoglikelihoodRequest>(&req, 1));
  CHECK(r[0].n_input == 56);
  CHECK(r[0].n_kept == 21);
  CHECK(r[0].n_dropped == 35);
  // Same as the request whose context is only the kept tail (which is not truncated at all).
  const LoglikelihoodRequest tail{std::vector<int32_t>(ctx.end() - 15, ctx.end()), cont};
  const auto t = sc.loglikelihood(std::span<const LoglikelihoodRequest>(&tail, 1));
  CHECK(t[0].n_dropped == 0);
  // The same 21 tokens at the same positions, in batches of another shape (another GEMM blocking).
  std::vector<int32_t> kept(ctx.end() - 15, ctx.end());
  kept.insert(kept.end(), cont.begin(), cont.end());
  CHECK(std::abs(r[0].logprob - t[0].logprob) < logprob_tol(ck.config, 21, 6, logit_scale(m, kept)));
  // A continuation longer than the context length cannot be scored.
  const LoglikelihoodRequest bad{ctx, random_tokens(21, 97, 4)};
  CHECK_THROWS_WITH(sc.loglikelihood(std::span<const LoglikelihoodRequest>(&bad, 1)),
                    Catch::Contains("does not fit the context length 20"));
}

TEST_CASE("rolling loglikelihood uses lm-eval's disjoint windows", "[scorer]") {
  const Checkpoint ck = small_model(4, 2, AttentionMode::Supra);
  auto be = make_cpu_backend(0);
  Model m(ck, *be);
  const auto text = random_tokens(45, 97, 21);
  Scorer sc(m, {16, 512, 4});
  const auto r = sc.loglikelihood_rolling(text, 1);
  // Windows: [BOS]+t[0:15] -> t[0:16]; t[15:31] -> t[16:32]; t[28:44] -> t[32:45] (13 predicted, 16 seen).
  CHECK(r.n_windows == 3);
  REQUIRE(r.token_logprobs.size() == 45);
  std::vector<LoglikelihoodRequest> w = {
      {{1}, std::vector<int32_t>(text.begin(), text.begin() + 16)},
      {{text[15]}, std::vector<int32_t>(text.begin() + 16, text.begin() + 32)},
      {std::vector<int32_t>(text.begin() + 28, text.begin() + 32), std::vector<int32_t>(text.begin() + 32, text.end())},
  };
  const auto parts = sc.loglikelihood(w);
  // The same windows scored through another entry point: sums in another order at most.
  const double scale = logit_scale(m, text);
  CHECK(std::abs(r.logprob - (parts[0].logprob + parts[1].logprob + parts[2].logprob)) <
        logprob_tol(ck.config, 16, 45, scale));
  CHECK(std::abs(r.token_logprobs[40] - parts[2].token_logprobs[8]) < logprob_tol(ck.config, 16, 1, scale));
}

TEST_CASE("small requests of many documents are packed into full forward calls", "[scorer]") {
  // HellaSwag-sized: 32 documents, a 40-token context and four choices of 6-12 tokens each.
  const Checkpoint ck = small_model(4, 2, AttentionMode::Softmax);
  auto be = make_cpu_backend(1);
  Model m(ck, *be);
  std::vector<LoglikelihoodRequest> reqs;
  int64_t rows = 0;
  for (int d = 0; d < 32; d++) {
    const auto ctx = random_tokens(40, 97, uint64_t(100 + d));
    rows += 40 - 1;  // the shared context once, all but its last token
    for (int k = 0; k < 4; k++) {
      reqs.push_back({ctx, random_tokens(6 + 2 * k, 97, uint64_t(1000 + 10 * d + k))});
      rows += 6 + 2 * k;  // each choice: the context's last token and all but its own last one
    }
  }
  Scorer sc(m, ScorerOptions{128, 512, 32});
  sc.loglikelihood(reqs);
  const ForwardStats& st = sc.forward_stats();
  CHECK(st.rows == rows);
  // One call per 512 rows of each phase (contexts, then choices), not one per request or per document.
  const int64_t ctx_rows = 32 * 39, choice_rows = rows - ctx_rows;
  CHECK(st.calls == (ctx_rows + 511) / 512 + (choice_rows + 511) / 512);
  CHECK(st.mean_rows() >= 64);
}
