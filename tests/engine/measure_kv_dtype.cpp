// A measurement, not a test (hidden tag [.measure]; ctest does not run it): how far f16 and bf16 KV caches move
// teacher-forced log-probabilities from an f32 cache, on seeded random weights of a named shape.
//
//   SUPRA_MEASURE_SHAPE=llama2-7b SUPRA_MEASURE_TOKENS=128 build/tests/supra_tests_engine "[.measure]"
//
// One line per KV dtype: "measure-kv: shape tokens dtype max|d logprob| mean|d logprob| argmax flips".
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/scorer.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;

TEST_CASE("measure: KV dtype effect on logprobs of a random-weight shape", "[.measure]") {
  const char* shape_env = std::getenv("SUPRA_MEASURE_SHAPE");
  const char* tokens_env = std::getenv("SUPRA_MEASURE_TOKENS");
  const std::string shape = shape_env && *shape_env ? shape_env : "llama2-7b";
  const int64_t n = tokens_env && *tokens_env ? std::stoll(tokens_env) : 128;
  const Checkpoint ck = random_checkpoint(named_shape(shape), DType::BF16, 1);
  auto be = make_cpu_backend(0);
  Model m(ck, *be);
  // Teacher-forced: one request, context BOS, continuation n random tokens; pieces of 64 so later rows are read
  // back from the cache in its dtype.
  const LoglikelihoodRequest req{{1}, random_tokens(n, ck.config.vocab_size, 5)};
  auto score = [&](DType kv) {
    ModelOptions o = m.options();
    o.kv_dtype = kv;
    m.set_options(o);
    Scorer sc(m, {n + 1, 64, 1});
    return sc.loglikelihood(std::span<const LoglikelihoodRequest>(&req, 1))[0];
  };
  const LoglikelihoodResult ref = score(DType::F32);
  for (DType kv : {DType::F16, DType::BF16}) {
    const LoglikelihoodResult r = score(kv);
    double mx = 0, sum = 0;
    for (size_t i = 0; i < r.token_logprobs.size(); i++) {
      const double d = std::abs(double(r.token_logprobs[i]) - double(ref.token_logprobs[i]));
      mx = std::max(mx, d);
      sum += d;
    }
    std::printf("measure-kv: %s %ld tokens kv %s: max |d logprob| %.3e, mean %.3e, sum of logprobs %.6f vs %.6f\n",
                shape.c_str(), long(n), dtype_name(kv), mx, sum / double(n), r.logprob, ref.logprob);
    std::fflush(stdout);
    CHECK(r.token_logprobs.size() == ref.token_logprobs.size());
  }
}
