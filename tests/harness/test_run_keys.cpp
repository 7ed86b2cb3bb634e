// Issue 17 at the run level: the run key holds the tokenizer, the KV-cache dtype and the SUPRA chunk; a document
// counts as done when it is written, whatever metrics its task returned; sample token counts have one meaning.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/sha256.h"
#include "harness/state_memory.h"
#include "harness/task_runner.h"
#include "tests/harness/cli_util.h"
#include "tests/harness/store_query.h"

using namespace supra;
using supra::test::query_int;
namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/";

// Two loglikelihood requests per document; process() gives a metric for even documents only (a task may have
// nothing to say about a document, e.g. one without a reference).
class SparseTask final : public tasks::Task {
 public:
  std::string name() const override { return "sparse_test"; }
  int version() const override { return 1; }
  std::string description() const override { return "test task"; }
  std::string dataset() const override { return "none"; }
  std::string split() const override { return "test"; }
  std::vector<tasks::MetricSpec> metrics() const override { return {{"acc"}}; }
  void load(const std::string&) override {}
  int64_t size() const override { return 6; }
  std::vector<tasks::Request> requests(int64_t doc, const tasks::TaskSettings&) const override {
    tasks::Request a, b;
    a.context = b.context = "Lily saw a cat number " + std::to_string(doc) + ".";
    a.continuation = " The cat ran.";
    b.continuation = " The dog ran home.";
    return {a, b};
  }
  tasks::DocMetrics process(int64_t doc, const std::vector<tasks::Response>& r) const override {
    if (doc % 2) return {};
    return {{"acc", {r[0].logprob > r[1].logprob ? 1.0 : 0.0, 1.0}}};
  }
};

EngineSession session(const std::string& tokenizer, DType kv = DType::F32, const std::string& cpu_dtype = "f32") {
  EngineOptions o;
  o.model = kDir + "stories260K.bin";
  o.tokenizer = tokenizer;
  o.threads = 1;
  o.cpu_dtype = cpu_dtype;
  EngineSession s = open_session(o);
  ModelOptions mo = s.model->options();
  mo.kv_dtype = kv;
  s.model->set_options(mo);
  return s;
}

RunSettings settings() {
  RunSettings st;
  st.ctx = 64;
  st.batch_docs = 2;
  st.quiet = true;
  return st;
}

}  // namespace

TEST_CASE("a document without metrics counts as done - resume neither reruns nor collides with it", "[resume]") {
  const fs::path db = supra::test::fresh_temp("runkeys", "sparse.sqlite");
  EngineSession s = session(kDir + "tok512.model");
  SparseTask task;
  RunOutcome first, again;
  {
    Store store(db.string());
    first = run_task(store, s, task, settings());
  }
  CHECK(first.n_new_docs == 6);
  CHECK(query_int(db, "SELECT count(DISTINCT doc) FROM doc_metrics") == 3);
  CHECK(query_int(db, "SELECT count(*) FROM run_docs") == 6);
  {
    Store store(db.string());
    again = run_task(store, s, task, settings());
  }
  CHECK(again.run_id == first.run_id);
  CHECK(again.n_new_docs == 0);
  CHECK(query_int(db, "SELECT count(*) FROM samples") == 12);
  REQUIRE(again.metrics.size() == 1);
  CHECK(again.metrics[0].n == 3);
}

TEST_CASE("the run key holds the tokenizer's sha256, the KV dtype, the CPU compute dtype and the SUPRA chunk", "[resume][store]") {
  const fs::path db = supra::test::fresh_temp("runkeys", "keys.sqlite");
  SparseTask task;
  Store store(db.string());
  EngineSession a = session(kDir + "tok512.model");
  const RunOutcome ra = run_task(store, a, task, settings());
  CHECK(ra.key.tokenizer_sha256 == sha256_file(kDir + "tok512.model"));
  CHECK(ra.key.kv_dtype == "f32");
  CHECK(ra.key.chunk == 0);  // softmax: no chunk
  // The same vocabulary in llama2.c's format is another file: another run, not a resume of the first.
  EngineSession b = session(kDir + "tok512.bin");
  const RunOutcome rb = run_task(store, b, task, settings());
  CHECK(rb.run_id != ra.run_id);
  CHECK(rb.n_new_docs == 6);
  // Another KV-cache dtype is another run too.
  EngineSession c = session(kDir + "tok512.model", DType::BF16);
  const RunOutcome rc = run_task(store, c, task, settings());
  CHECK(rc.key.kv_dtype == "bf16");
  CHECK(rc.run_id != ra.run_id);
  // bf16 CPU compute is another run; f32 adds nothing to the key (runs before --cpu-dtype keep their keys).
  CHECK_FALSE(ra.key.to_json().contains("cpu_dtype"));
  EngineSession d = session(kDir + "tok512.model", DType::F32, "bf16");
  const RunOutcome rd = run_task(store, d, task, settings());
  CHECK(rd.key.cpu_dtype == "bf16");
  CHECK(rd.run_id != ra.run_id);
  CHECK(rd.n_new_docs == 6);
  // The key's JSON in the store names them.
  CHECK(query_int(db, "SELECT count(*) FROM runs WHERE json_extract(key_json, '$.tokenizer_sha256') = '" +
                          sha256_file(kDir + "tok512.bin") + "'") == 1);
}

TEST_CASE("sample token counts mean the same for plain and long-document loglikelihood requests", "[resume]") {
  const fs::path db = supra::test::fresh_temp("runkeys", "counts.sqlite");
  std::string out;
  for (const std::string task : {"arc_easy", "quality_example"}) {
    const std::vector<std::string> args = {"run", "--model", kDir + "stories260K.bin", "--tasks", task, "--ctx", "96",
                                           "--limit", "2", "--truncation", "left", "--threads", "1", "--db",
                                           db.string()};
    REQUIRE(supra::test::run_cli(args, out, supra::test::fresh_temp("runkeys", task + ".log").string()) == 0);
  }
  // Every loglikelihood row: input = kept + dropped, continuation recorded, and at most L + 1 tokens kept (the
  // model reads L of them; the last is only a target).
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE type = 'loglikelihood'") > 0);
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE n_input != n_kept + n_dropped OR n_continuation IS NULL "
                      "OR n_continuation < 1 OR n_kept > 96 + 1 OR n_kept < n_continuation") == 0);
  // QuALITY's documents are cut at 96: the long-document rows keep exactly L + 1 tokens, like cut plain rows.
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE truncation IS NOT NULL") > 0);
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE n_dropped > 0 AND n_kept != 97") == 0);
  CHECK(query_int(db, "SELECT count(*) FROM samples WHERE truncation IS NOT NULL AND n_dropped = 0") == 0);
}

TEST_CASE("under doc_end the choices of a QuALITY question keep one prompt", "[resume][truncation]") {
  const fs::path db = supra::test::fresh_temp("runkeys", "docend.sqlite");
  std::string out;
  const std::vector<std::string> args = {"run", "--model", kDir + "stories260K.bin", "--tasks", "quality_example",
                                         "--ctx", "512", "--limit", "2", "--threads", "1", "--db", db.string()};
  REQUIRE(supra::test::run_cli(args, out, supra::test::fresh_temp("runkeys", "docend.log").string()) == 0);
  REQUIRE(query_int(db, "SELECT count(*) FROM samples WHERE truncation = 'doc_end' AND n_dropped > 0") > 0);
  // Prompt tokens kept = n_kept - n_continuation: one value per document.
  CHECK(query_int(db, "SELECT count(*) FROM (SELECT doc FROM samples GROUP BY doc "
                      "HAVING count(DISTINCT n_kept - n_continuation) != 1)") == 0);
  // The longest choice's model input is exactly L.
  CHECK(query_int(db, "SELECT count(*) FROM (SELECT doc, max(n_kept) AS m FROM samples WHERE n_dropped > 0 GROUP BY "
                      "doc HAVING m != 513)") == 0);
}

TEST_CASE("state memory sizes parse in binary units and a bad one names the option", "[resume]") {
  CHECK(parse_bytes("0", "--state-memory") == 0);
  CHECK(parse_bytes("4096", "--state-memory") == 4096);
  CHECK(parse_bytes("64K", "--state-memory") == 65536);
  CHECK(parse_bytes("1.5G", "--state-memory") == size_t(1536) << 20);
  CHECK(parse_bytes("8gb", "--state-memory") == size_t(8) << 30);
  CHECK_THROWS_WITH(parse_bytes("lots", "--state-memory"), Catch::Contains("--state-memory: 'lots' is not a size"));
  CHECK_THROWS_WITH(parse_bytes("3X", "--state-memory"), Catch::Contains("e.g. 8G"));
  // A budget below one request's state stops the run with both numbers, before anything is written.
  const fs::path db = supra::test::fresh_temp("runkeys", "tiny_budget.sqlite");
  std::string out;
  const std::vector<std::string> args = {"run",     "--model", kDir + "stories260K.bin", "--tasks", "arc_easy",
                                         "--ctx",   "64",      "--limit", "2", "--threads", "1",
                                         "--state-memory", "1K", "--db", db.string()};
  CHECK(supra::test::run_cli(args, out, supra::test::fresh_temp("runkeys", "tiny_budget.log").string()) != 0);
  CHECK_THAT(out, Catch::Contains("more than the state memory budget of 1024 bytes"));
  CHECK(query_int(db, "SELECT count(*) FROM samples") == 0);
}
