// The results store: schema versions, the run key, transactions per batch.
#include <catch2/catch.hpp>

#include <filesystem>

#include "store/store.h"
#include "tests/harness/store_query.h"

using namespace supra;
using supra::test::exec_sql;
namespace fs = std::filesystem;

namespace {

fs::path temp_db(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("supra_store_" + name + "_" + std::to_string(::getpid()) + ".sqlite");
  for (const char* ext : {"", "-wal", "-shm"}) fs::remove(p.string() + ext);
  return p;
}

RunKey key(int64_t ctx) {
  RunKey k;
  k.model = "m";
  k.model_sha256 = "abc";
  k.mode = "softmax";
  k.task = "piqa";
  k.task_version = 1;
  k.ctx = ctx;
  k.truncation = "left";
  k.dtype = "f32";
  k.device = "cpu";
  return k;
}

}  // namespace

TEST_CASE("a run key covers every field that changes numbers", "[store]") {
  RunKey a = key(512), b = key(512);
  CHECK(a.hash() == b.hash());
  b.ctx = 1024;
  CHECK(a.hash() != b.hash());
  b = a;
  b.add_bos = true;
  CHECK(a.hash() != b.hash());
  b = a;
  b.model = "another/path/same/weights";  // the display name is not part of the key, the sha256 is
  CHECK(a.hash() == b.hash());
  b.model_sha256 = "def";
  CHECK(a.hash() != b.hash());
}

TEST_CASE("runs, documents and metrics round-trip - reopening finds the same run", "[store]") {
  const fs::path p = temp_db("roundtrip");
  int64_t id = 0;
  {
    Store s(p.string());
    id = s.open_run(key(512), 3, 512, {{"x", 1}}, "rev");
    DocResult d;
    d.doc = 1;
    d.samples.push_back({0, "loglikelihood", 10, 10, 0, -1.5, true, "", ""});
    d.metrics["acc"] = {1.0, 1.0};
    s.write_docs(id, {d});
    CHECK(s.finished_docs(id) == std::set<int64_t>{1});
  }
  Store s(p.string());
  CHECK(s.open_run(key(512), 3, 512, {}, "rev") == id);
  CHECK(s.open_run(key(1024), 3, 512, {}, "rev") != id);
  CHECK(s.sample_count(id) == 1);
  s.finish_run(id, {{"acc", 1.0, std::nan(""), 1, "mean", true}});
  const auto m = s.metrics(id);
  REQUIRE(m.size() == 1);
  CHECK(std::isnan(m[0].stderr_));  // undefined stderr stays NULL, never 0
  // Writing the same document twice is refused (the primary key), and nothing of the batch is kept.
  DocResult again;
  again.doc = 1;
  again.metrics["acc"] = {0.0, 1.0};
  CHECK_THROWS(s.write_docs(id, {again}));
  CHECK(s.doc_metrics(id).at("acc").size() == 1);
}

TEST_CASE("a store from a newer schema is refused and left intact", "[store]") {
  const fs::path p = temp_db("newer");
  { Store s(p.string()); }
  exec_sql(p, "UPDATE meta SET value='99' WHERE key='schema_version'");
  CHECK_THROWS_WITH(Store(p.string()), Catch::Contains("newer supra-eval (store schema 99"));
  Db db = Db::open_read_only(p.string());
  Stmt st(db, "SELECT value FROM meta WHERE key='schema_version'");
  REQUIRE(st.step());
  CHECK(st.text(0) == "99");
}

TEST_CASE("a file that is not a supra-eval store is refused", "[store]") {
  const fs::path p = temp_db("foreign");
  exec_sql(p, "CREATE TABLE other(x)");
  CHECK_THROWS_WITH(Store(p.string()), Catch::Contains("not a supra-eval store"));
}

namespace {
int64_t count_rows(const fs::path& p, const char* sql) {
  Db db = Db::open_read_only(p.string());
  Stmt st(db, sql);
  REQUIRE(st.step());
  return st.i64(0);
}
}  // namespace

TEST_CASE("a schema 1 store is migrated to the current schema (per-sample truncation, training tables, run leases) and keeps its runs",
          "[store]") {
  const fs::path p = temp_db("v1");
  {
    Store s(p.string());
    s.open_run(key(512), 3, 512, {}, "rev");
  }
  // Make it exactly what a schema-1 build left behind.
  exec_sql(p, "DROP TABLE train_log; DROP TABLE train_runs; ALTER TABLE samples DROP COLUMN truncation; "
              "UPDATE meta SET value='1' WHERE key='schema_version'");
  CHECK(count_rows(p, "SELECT count(*) FROM sqlite_master WHERE name='train_runs'") == 0);
  {
    Store s(p.string());
    CHECK(s.open_run(key(512), 3, 512, {}, "rev") == 1);  // the old run is still there
  }
  CHECK(count_rows(p, "SELECT value FROM meta WHERE key='schema_version'") == supra::Store::kSchemaVersion);
  CHECK(count_rows(p, "SELECT count(*) FROM sqlite_master WHERE name IN ('train_runs','train_log')") == 2);
  CHECK(count_rows(p, "SELECT count(*) FROM pragma_table_info('samples') WHERE name = 'truncation'") == 1);
}

TEST_CASE("training runs and their loss curve round-trip, and a resume rewrites the steps after its checkpoint",
          "[store]") {
  const fs::path p = temp_db("train");
  Store s(p.string());
  const int64_t id = s.open_train_run("out/m", "base", "abc", {{"seq", 512}}, "rev");
  std::vector<TrainLogRow> rows;
  for (int i = 1; i <= 4; i++) {
    TrainLogRow r;
    r.step = i;
    r.tokens = i * 100;
    r.lr = 1e-3;
    r.loss = 5.0 - i;
    r.grad_norm = 0.5;
    if (i == 2) r.val_loss = std::log(20.0);
    rows.push_back(r);
  }
  s.log_train_steps(id, rows);
  CHECK(count_rows(p, "SELECT count(*) FROM train_log WHERE val_ppl IS NOT NULL") == 1);
  CHECK(count_rows(p, "SELECT round(val_ppl) FROM train_log WHERE step = 2") == 20);
  // Resuming from step 2: the same run, steps 3 and 4 dropped until written again.
  CHECK(s.open_train_run("out/m", "base", "abc", {{"seq", 512}}, "rev", 2) == id);
  CHECK(count_rows(p, "SELECT count(*) FROM train_log") == 2);
  s.finish_train_run(id);
  CHECK(count_rows(p, "SELECT count(*) FROM train_runs WHERE status = 'finished'") == 1);
  // A fresh (not resumed) run into the same folder is a new row.
  CHECK(s.open_train_run("out/m", "base", "abc", {}, "rev") != id);
}

TEST_CASE("a schema 4 store gets bench_results at schema 5: created when absent, the memory column added to an "
          "older table, an older report's views and tables dropped",
          "[store]") {
  const fs::path p = temp_db("v4");
  { Store s(p.string()); }
  exec_sql(p, "DROP TABLE bench_results; UPDATE meta SET value='4' WHERE key='schema_version'");
  { Store s(p.string()); }
  CHECK(count_rows(p, "SELECT value FROM meta WHERE key='schema_version'") == supra::Store::kSchemaVersion);
  CHECK(count_rows(p, "SELECT count(*) FROM pragma_table_info('bench_results') WHERE name = 'rss_over_baseline_mib'") ==
        1);

  // As bench --db and report left a store before schema 5: the table without the column, a row, the views.
  exec_sql(p, "ALTER TABLE bench_results DROP COLUMN rss_over_baseline_mib; "
              "INSERT INTO bench_results(created_at, model, model_sha256, mode, device, dtype, threads, ctx, batch, "
              "peak_rss_mib, git_rev) VALUES ('2024-05-01T10:00:00Z', 'shape:old', '', 'supra', 'cpu', 'f32', 1, 512, "
              "1, 445.0, 'old'); "
              "CREATE TABLE report_ref_models (key TEXT PRIMARY KEY); CREATE VIEW v_runs AS SELECT * FROM runs; "
              "UPDATE meta SET value='4' WHERE key='schema_version'");
  {
    Store s(p.string());
    BenchRow r;
    r.model = "shape:new";
    r.rss_over_baseline_mib = 12.5;
    s.add_bench_rows({r});
  }
  CHECK(count_rows(p, "SELECT value FROM meta WHERE key='schema_version'") == supra::Store::kSchemaVersion);
  CHECK(count_rows(p, "SELECT count(*) FROM bench_results WHERE model = 'shape:old' AND peak_rss_mib = 445 AND "
                      "rss_over_baseline_mib IS NULL") == 1);
  CHECK(count_rows(p, "SELECT count(*) FROM bench_results WHERE model = 'shape:new' AND rss_over_baseline_mib = 12.5 "
                      "AND limit_gflops IS NULL AND decode_tok_s IS NULL") == 1);
  CHECK(count_rows(p, "SELECT count(*) FROM sqlite_master WHERE name IN ('report_ref_models', 'v_runs')") == 0);
}

TEST_CASE("a schema 5 store migrates to schema 7: finished documents from their rows, long-document counts of the "
          "whole request",
          "[store]") {
  const fs::path p = temp_db("v5");
  {
    Store s(p.string());
    s.open_run(key(100), 3, 512, {}, "rev");
  }
  // As a schema-5 build left it: no run_docs, no n_continuation. Document 0 has a metric; document 1 none (its
  // task returned no metric); document 2 is a long-document row whose prompt was cut (the old cut kept
  // ctx - |continuation| = 100 - 7 prompt tokens of 250) and an uncut one.
  exec_sql(p, "DROP TABLE run_docs; ALTER TABLE samples DROP COLUMN n_continuation; "
              "INSERT INTO samples(run_id, doc, request, type, n_input, n_kept, n_dropped, truncation) VALUES "
              "(1, 0, 0, 'loglikelihood', 30, 30, 0, NULL), (1, 1, 0, 'loglikelihood', 120, 101, 19, NULL), "
              "(1, 2, 0, 'loglikelihood', 250, 93, 157, 'doc_end'), (1, 2, 1, 'loglikelihood', 40, 40, 0, 'left'); "
              "INSERT INTO doc_metrics(run_id, doc, metric, value, weight) VALUES (1, 0, 'acc', 1, 1); "
              "UPDATE meta SET value='5' WHERE key='schema_version'");
  std::set<int64_t> done;
  {
    Store s(p.string());
    done = s.finished_docs(1);
  }
  CHECK(done == std::set<int64_t>{0, 1, 2});
  CHECK(count_rows(p, "SELECT value FROM meta WHERE key='schema_version'") == 7);
  // The cut long-document row now counts its continuation (7 tokens), as plain rows always did.
  CHECK(count_rows(p, "SELECT count(*) FROM samples WHERE doc = 2 AND request = 0 AND n_input = 257 AND n_kept = 100 "
                      "AND n_dropped = 157 AND n_continuation = 7") == 1);
  // Rows whose continuation length is unknown keep their counts, n_continuation NULL.
  CHECK(count_rows(p, "SELECT count(*) FROM samples WHERE n_continuation IS NULL") == 3);
  CHECK(count_rows(p, "SELECT count(*) FROM samples WHERE doc = 1 AND n_input = 120 AND n_kept = 101") == 1);
}
