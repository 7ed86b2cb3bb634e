#include "reports/bench_table.h"

#include <sqlite3.h>


#include "store/store.h"
#include "reports/sql.h"

namespace supra::reports {

void ensure_bench_table(sqlite3* db) {
  sql_exec(db, R"sql(
CREATE TABLE IF NOT EXISTS bench_results (
  id INTEGER PRIMARY KEY,
  created_at TEXT NOT NULL,          -- UTC, ISO 8601
  model TEXT NOT NULL,               -- checkpoint path, or shape:<name> for random weights
  model_sha256 TEXT NOT NULL,        -- '' for random weights
  mode TEXT NOT NULL,                -- softmax | supra
  device TEXT NOT NULL, dtype TEXT NOT NULL, threads INTEGER NOT NULL,
  ctx INTEGER NOT NULL,              -- tokens prefilled before decoding
  batch INTEGER NOT NULL,            -- sequences decoded together
  prefill_tok_s REAL, prefill_gflops REAL,
  decode_tok_s REAL, decode_gbps REAL,
  state_mib REAL,                    -- one sequence's KV cache (softmax) or SUPRA state
  peak_rss_mib REAL,                 -- this configuration's own peak resident memory (NULL: not measurable)
  limit_gflops REAL, limit_gbps REAL, -- the machine's measured limits (NULL: not measured)
  git_rev TEXT NOT NULL,
  peak_device_mib REAL,              -- CUDA: peak device memory (NULL on the CPU)
  rss_over_baseline_mib REAL         -- peak_rss_mib minus the resident memory before the configuration started
))sql");
  // Stores written before a column existed get it here (NULL in their rows), so old and new stores read alike.
  bool has_over_baseline = false;
  {  // finalised before the ALTER: a pending statement would lock the table
    Query cols(db, "SELECT name FROM pragma_table_info('bench_results')");
    while (cols.step()) has_over_baseline |= cols.text(0) == "rss_over_baseline_mib";
  }
  if (!has_over_baseline) sql_exec(db, "ALTER TABLE bench_results ADD COLUMN rss_over_baseline_mib REAL");
}

void insert_bench_rows(sqlite3* db, const std::vector<BenchRow>& rows) {
  ensure_bench_table(db);
  sql_exec(db, "BEGIN IMMEDIATE");
  try {
    Query ins(db,
              "INSERT INTO bench_results(created_at, model, model_sha256, mode, device, dtype, threads, ctx, batch, "
              "prefill_tok_s, prefill_gflops, decode_tok_s, decode_gbps, state_mib, peak_rss_mib, limit_gflops, "
              "limit_gbps, git_rev, peak_device_mib, rss_over_baseline_mib) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    const std::string now = now_utc();
    for (const BenchRow& r : rows) {
      ins.reset();
      ins.bind(1, r.created_at.empty() ? now : r.created_at).bind(2, r.model).bind(3, r.model_sha256);
      ins.bind(4, r.mode).bind(5, r.device).bind(6, r.dtype).bind(7, r.threads).bind(8, r.ctx).bind(9, r.batch);
      auto opt = [&](int i, const std::optional<double>& v) {
        if (v) ins.bind(i, *v);
        else ins.bind_null(i);
      };
      ins.bind(10, r.prefill_tok_s).bind(11, r.prefill_gflops);
      opt(12, r.decode_tok_s);
      opt(13, r.decode_gbps);
      ins.bind(14, r.state_mib);
      opt(15, r.peak_rss_mib);
      if (r.limit_gflops > 0) ins.bind(16, r.limit_gflops); else ins.bind_null(16);
      if (r.limit_gbps > 0) ins.bind(17, r.limit_gbps); else ins.bind_null(17);
      ins.bind(18, r.git_rev);
      opt(19, r.peak_device_mib);
      opt(20, r.rss_over_baseline_mib);
      ins.step();
    }
    sql_exec(db, "COMMIT");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void insert_bench_rows(const std::string& db_path, const std::vector<BenchRow>& rows) {
  Store store(db_path);  // creates or migrates the store's own schema; WAL; busy timeout
  insert_bench_rows(store.handle(), rows);
}

}  // namespace supra::reports
