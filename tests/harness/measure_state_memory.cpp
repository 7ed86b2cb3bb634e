// A measurement, not a test (hidden tag [.measure]; ctest does not run it): the peak resident memory of scoring the
// bundled QuALITY fixture (4 choices per question) with random weights of a named shape under several
// --state-memory budgets, against the README's prediction W + S + A + R, and the scores compared across budgets.
//
//   build/tests/supra_tests_harness "[.measure]"                  # llama2-7b, bf16 weights, ctx 2048, 1 question
//   SUPRA_MEASURE_KV_DTYPE=bf16 ... (the KV cache's storage; default f32 on the CPU)
//   SUPRA_MEASURE_CPU_DTYPE=bf16 ... (--cpu-dtype: bf16 GEMMs keep a 7B model's weights in bf16; f32 doubles them)
//   SUPRA_MEASURE_SHAPE=tiny-85m SUPRA_MEASURE_CTX=1024 SUPRA_MEASURE_DOCS=2 SUPRA_MEASURE_BUDGETS_MIB=64,128,1024
//     build/tests/supra_tests_harness "[.measure]"     (one command line)
//
// One line per budget: "measure: shape ctx budget_mib docs peak_rss_mib over_baseline_mib predicted_mib acc", then
// whether every request's log-probability was bitwise the same under every budget.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/process_memory.h"
#include "core/sha256.h"
#include "engine/weights.h"
#include "harness/task_catalog.h"
#include "harness/task_runner.h"
#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra;

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

TEST_CASE("measure: peak memory of QuALITY scoring under state memory budgets", "[.measure]") {
  const std::string shape = env_or("SUPRA_MEASURE_SHAPE", "llama2-7b");
  const DType wdtype = parse_dtype(env_or("SUPRA_MEASURE_DTYPE", "bf16"));
  const int64_t ctx = std::stoll(env_or("SUPRA_MEASURE_CTX", "2048"));
  const int64_t docs = std::stoll(env_or("SUPRA_MEASURE_DOCS", "1"));
  std::vector<int64_t> budgets_mib;
  for (const std::string& b : {env_or("SUPRA_MEASURE_BUDGETS_MIB", "1024,2048,4096")}) {
    size_t a = 0;
    while (a < b.size()) {
      size_t e = b.find(',', a);
      if (e == std::string::npos) e = b.size();
      budgets_mib.push_back(std::stoll(b.substr(a, e - a)));
      a = e + 1;
    }
  }
  Checkpoint ck = random_checkpoint(named_shape(shape), wdtype, 1);
  ck.path = "shape:" + shape;
  ck.fingerprint = sha256_hex("random " + shape + " " + dtype_name(wdtype) + " seed 1");
  EngineOptions eo;
  eo.tokenizer = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/tok512.model";
  eo.threads = 0;
  eo.kv_dtype = env_or("SUPRA_MEASURE_KV_DTYPE", "");
  eo.cpu_dtype = env_or("SUPRA_MEASURE_CPU_DTYPE", "f32");
  const double MiB = 1024.0 * 1024.0;
  // The checkpoint's weights as stored (the session empties them once the backend holds its own copy).
  const double weights_mib = [&] {
    double b = 0;
    for_each_weight(ck.config, [&](const Weight& wt) { b += double(wt.in(ck.weights).nbytes()); });
    return b / MiB;
  }();
  EngineSession s = open_session(eo, std::move(ck));
  const ModelConfig& c = s.model->config();
  // A of the README: one 512-row forward's activations and logits, and the fp32 KV scratch of ctx rows.
  const double act_mib =
      512.0 * (4.0 * c.dim + 2.0 * c.q_dim() + 2.0 * c.kv_dim() + 2.0 * c.hidden_dim + c.vocab_size) * 4 / MiB +
      2.0 * double((ctx + 15) / 16 * 16) * c.kv_dim() * 4 / MiB;
  std::vector<std::vector<double>> scores, logprobs;
  for (int64_t budget : budgets_mib) {
    const std::filesystem::path db = supra::test::fresh_temp("measure", "budget" + std::to_string(budget) + ".sqlite");
    Store store(db.string());
    auto task = make_any_task("quality_example");
    RunSettings st;
    st.ctx = ctx;
    st.limit = docs;
    st.batch_docs = int(docs);
    st.quiet = true;
    // The task's default, doc_end: the 4 choices of a question keep one prompt, computed once and forked.
    st.state_memory = size_t(budget) << 20;
    const PeakWindow window;
    const RunOutcome o = run_task(store, s, *task, st);
    const PeakReading peak = window.peak();
    // S: at most the budget, and at most what the questions need: each its shared prompt once (all but its last
    // token) and one fork per choice holding the choice's tokens (from the sample rows just written).
    // Rows in blocks of 16 (KVCache); a softmax shape: state_bytes(1) is one block.
    const std::string row_bytes = std::to_string(s.model->state_bytes(1) / 16);
    const int64_t fork_bytes =
        supra::test::query_int(db, "SELECT sum(" + row_bytes + " * ((n_continuation + 15) / 16 * 16)) FROM samples");
    const int64_t prompt_bytes = supra::test::query_int(
        db, "SELECT sum(p) FROM (SELECT " + row_bytes +
                " * ((max(n_kept - n_continuation) - 1 + 15) / 16 * 16) AS p FROM samples GROUP BY doc)");
    const double questions_mib = double(fork_bytes + prompt_bytes) / MiB;
    const double states_mib = std::min(double(budget), questions_mib);
    // The baseline holds the weights and the runtime (W + R); after the first budget also the model's workspace.
    const double predicted = double(window.baseline_bytes()) / MiB + states_mib + act_mib;
    std::vector<double> vals;
    for (const MetricRow& m : o.metrics) vals.push_back(m.value);
    scores.push_back(vals);
    {
      Db h = Db::open_read_only(db.string());
      Stmt q(h, "SELECT logprob FROM samples ORDER BY doc, request");
      logprobs.emplace_back();
      while (q.step()) logprobs.back().push_back(q.f64(0));
    }
    std::printf("measure: %s ctx %ld budget %ld MiB docs %ld: peak rss %.0f MiB%s, over baseline %.0f MiB, "
                "predicted peak %.0f MiB (baseline %.0f incl. weights %.0f as stored, %.0f of matrices as the backend keeps "
                "them, states <= %.0f, activations %.0f), "
                "%s %.4f\n",
                shape.c_str(), long(ctx), long(budget), long(docs), double(peak.bytes) / MiB,
                peak.exact ? "" : " (upper bound)", double(peak.bytes - window.baseline_bytes()) / MiB, predicted,
                double(window.baseline_bytes()) / MiB, weights_mib, double(s.model->matrix_bytes()) / MiB, states_mib,
                act_mib,
                o.metrics.empty() ? "-" : o.metrics[0].name.c_str(), o.metrics.empty() ? 0.0 : o.metrics[0].value);
    std::fflush(stdout);
  }
  // The budget changes the schedule, not the numbers: every request's log-probability bitwise, and so the scores.
  bool same = true;
  for (const auto& v : logprobs) same = same && v == logprobs.front();
  std::printf("measure: %zu requests, log-probabilities bitwise identical under every budget: %s\n",
              logprobs.front().size(), same ? "yes" : "NO");
  CHECK(same);
  for (const auto& v : scores) CHECK(v == scores.front());
}
