#include "store/store.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/sha256.h"

namespace supra {

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

nlohmann::json RunKey::to_json() const {
  // nlohmann::json objects are ordered by key: the dump is canonical.
  nlohmann::json j = {{"model_sha256", model_sha256}, {"mode", mode}, {"form", form}, {"task", task},
                      {"task_version", task_version}, {"shots", shots}, {"seed", seed}, {"ctx", ctx},
                      {"truncation", truncation}, {"dtype", dtype}, {"device", device}, {"add_bos", add_bos},
                      {"limit", limit}};
  // Only present for user-supplied data, so the keys of runs on bundled data stay what they were.
  if (!data_sha256.empty()) j["data_sha256"] = data_sha256;
  j["tokenizer_sha256"] = tokenizer_sha256;
  j["kv_dtype"] = kv_dtype;
  j["chunk"] = chunk;
  // Only present for bf16 CPU compute, so the keys of f32 runs stay what they were.
  if (!cpu_dtype.empty()) j["cpu_dtype"] = cpu_dtype;
  return j;
}

std::string RunKey::hash() const { return sha256_hex(to_json().dump()); }

std::string RunKey::summary() const {
  std::string s = fmt::format("{} {} ctx {} (model {}", task, mode, ctx, model);
  if (shots > 0) s += fmt::format(", {} shots", shots);
  if (limit >= 0) s += fmt::format(", limit {}", limit);
  return s + ")";
}

Store::Store(const std::string& path) : db_(Db::open(path)) { migrate(db_); }

Store::~Store() = default;

int64_t Store::open_run(const RunKey& key, int64_t n_docs, int64_t train_ctx, const nlohmann::json& config,
                        const std::string& git_rev) {
  const std::string h = key.hash();
  int64_t id = -1;
  // One IMMEDIATE transaction: two processes opening the same new run key create it once.
  db_.transaction([&] {
    {
      Stmt q(db_, "SELECT id, n_docs FROM runs WHERE run_key = ?");
      q.bind(1, h);
      if (q.step()) {
        if (q.i64(1) != n_docs)
          fail("{}: run {} of task {} had {} documents, now {}: the task's data changed without a version bump",
               path(), q.i64(0), key.task, q.i64(1), n_docs);
        id = q.i64(0);
        return;
      }
    }
    const std::string now = now_utc();
    Stmt ins(db_,
             "INSERT INTO runs(run_key, key_json, model, model_sha256, mode, form, task, task_version, shots, seed, "
             "ctx, train_ctx, beyond_train, truncation, dtype, device, add_bos, limit_docs, n_docs, git_rev, "
             "config_json, status, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,"
             "'running',?,?)");
    ins.bind(1, h).bind(2, key.to_json().dump()).bind(3, key.model).bind(4, key.model_sha256).bind(5, key.mode);
    ins.bind(6, key.form).bind(7, key.task).bind(8, int64_t(key.task_version)).bind(9, int64_t(key.shots));
    ins.bind(10, int64_t(key.seed)).bind(11, key.ctx).bind(12, train_ctx).bind(13, int64_t(key.ctx > train_ctx));
    ins.bind(14, key.truncation).bind(15, key.dtype).bind(16, key.device).bind(17, int64_t(key.add_bos));
    ins.bind(18, key.limit).bind(19, n_docs).bind(20, git_rev).bind(21, config.dump()).bind(22, now).bind(23, now);
    ins.step();
    id = db_.last_insert_rowid();
  });
  return id;
}

std::set<int64_t> Store::finished_docs(int64_t run_id) {
  std::set<int64_t> out;
  Stmt q(db_, "SELECT doc FROM run_docs WHERE run_id = ?");
  q.bind(1, run_id);
  while (q.step()) out.insert(q.i64(0));
  return out;
}

void Store::write_docs(int64_t run_id, const std::vector<DocResult>& docs) {
  if (docs.empty()) return;
  const std::string doing = fmt::format("this batch of {} documents is", docs.size());
  db_.transaction([&] {
    check_own_lease(run_id, doing.c_str());
    Stmt s(db_,
           "INSERT INTO samples(run_id, doc, request, type, n_input, n_kept, n_dropped, logprob, is_greedy, generated, "
           "truncation, n_continuation) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    Stmt m(db_, "INSERT INTO doc_metrics(run_id, doc, metric, value, weight) VALUES (?,?,?,?,?)");
    Stmt done(db_, "INSERT INTO run_docs(run_id, doc) VALUES (?,?)");
    for (const DocResult& d : docs) try {
      done.reset();
      done.bind(1, run_id).bind(2, d.doc);
      done.step();
      for (const SampleRow& r : d.samples) {
        s.reset();
        s.bind(1, run_id).bind(2, d.doc).bind(3, r.request).bind(4, r.type).bind(5, r.n_input).bind(6, r.n_kept);
        s.bind(7, r.n_dropped).bind(8, r.logprob).bind(9, int64_t(r.is_greedy)).bind(10, r.generated);
        if (!r.truncation.empty()) s.bind(11, r.truncation);  // else stays NULL
        if (r.n_continuation >= 0) s.bind(12, r.n_continuation);
        s.step();
      }
      for (const auto& [name, vw] : d.metrics) {
        m.reset();
        m.bind(1, run_id).bind(2, d.doc).bind(3, name).bind(4, vw.first).bind(5, vw.second);
        m.step();
      }
    } catch (const DuplicateRow&) {
      fail("{}: document {} of run {} is already in the store: another process wrote it meanwhile (one that held "
           "no lease on the run); nothing of this batch was written. Run the command again: it finishes only what "
           "is missing",
           path(), d.doc, run_id);
    }
    Stmt u(db_, "UPDATE runs SET updated_at = ? WHERE id = ?");
    u.bind(1, now_utc()).bind(2, run_id);
    u.step();
  });
}

std::map<std::string, std::vector<std::pair<double, double>>> Store::doc_metrics(int64_t run_id) {
  std::map<std::string, std::vector<std::pair<double, double>>> out;
  Stmt q(db_, "SELECT metric, value, weight FROM doc_metrics WHERE run_id = ? ORDER BY doc");
  q.bind(1, run_id);
  while (q.step()) out[q.text(0)].push_back({q.f64(1), q.f64(2)});
  return out;
}

void Store::finish_run(int64_t run_id, const std::vector<MetricRow>& metrics) {
  db_.transaction([&] {
    check_own_lease(run_id, "its metrics are");
    delete_own_lease(run_id);
    Stmt del(db_, "DELETE FROM metrics WHERE run_id = ?");
    del.bind(1, run_id);
    del.step();
    Stmt ins(db_,
             "INSERT INTO metrics(run_id, metric, value, stderr, n, aggregation, higher_is_better) "
             "VALUES (?,?,?,?,?,?,?)");
    for (const MetricRow& m : metrics) {
      ins.reset();
      ins.bind(1, run_id).bind(2, m.name).bind(3, m.value);
      if (!std::isnan(m.stderr_)) ins.bind(4, m.stderr_);  // an undefined stderr stays NULL
      ins.bind(5, m.n).bind(6, m.aggregation).bind(7, int64_t(m.higher_is_better));
      ins.step();
    }
    const std::string now = now_utc();
    Stmt u(db_, "UPDATE runs SET status = 'finished', finished_at = ?, updated_at = ? WHERE id = ?");
    u.bind(1, now).bind(2, now).bind(3, run_id);
    u.step();
  });
  leased_.erase(run_id);
}

std::vector<MetricRow> Store::metrics(int64_t run_id) {
  std::vector<MetricRow> out;
  Stmt q(db_,
         "SELECT metric, value, stderr, n, aggregation, higher_is_better FROM metrics WHERE run_id = ? ORDER BY metric");
  q.bind(1, run_id);
  while (q.step()) {
    MetricRow m;
    m.name = q.text(0);
    m.value = q.f64(1);
    m.stderr_ = q.is_null(2) ? std::nan("") : q.f64(2);
    m.n = q.i64(3);
    m.aggregation = q.text(4);
    m.higher_is_better = q.i64(5) != 0;
    out.push_back(m);
  }
  return out;
}

int64_t Store::sample_count(int64_t run_id) {
  Stmt q(db_, "SELECT count(*) FROM samples WHERE run_id = ?");
  q.bind(1, run_id);
  q.step();
  return q.i64(0);
}

int64_t Store::open_train_run(const std::string& model_out, const std::string& base_model,
                              const std::string& base_sha256, const nlohmann::json& config, const std::string& git_rev,
                              int64_t resume_step) {
  const std::string now = now_utc();
  int64_t id = -1;
  db_.transaction([&] {
    if (resume_step >= 0) {
      Stmt q(db_, "SELECT id FROM train_runs WHERE model_out = ? ORDER BY id DESC LIMIT 1");
      q.bind(1, model_out);
      if (q.step()) id = q.i64(0);
    }
    if (id >= 0) {
      // Steps after the checkpoint were lost with the process; the resumed run writes them again.
      Stmt del(db_, "DELETE FROM train_log WHERE run_id = ? AND step > ?");
      del.bind(1, id).bind(2, resume_step);
      del.step();
      Stmt u(db_, "UPDATE train_runs SET status = 'running', updated_at = ?, finished_at = NULL WHERE id = ?");
      u.bind(1, now).bind(2, id);
      u.step();
    } else {
      Stmt ins(db_,
               "INSERT INTO train_runs(model_out, base_model, base_sha256, config_json, git_rev, status, started_at, "
               "updated_at) VALUES (?,?,?,?,?,'running',?,?)");
      ins.bind(1, model_out).bind(2, base_model).bind(3, base_sha256).bind(4, config.dump()).bind(5, git_rev);
      ins.bind(6, now).bind(7, now);
      ins.step();
      id = db_.last_insert_rowid();
    }
  });
  return id;
}

void Store::log_train_steps(int64_t run_id, const std::vector<TrainLogRow>& rows) {
  if (rows.empty()) return;
  db_.transaction([&] {
    Stmt s(db_,
           "INSERT OR REPLACE INTO train_log(run_id, step, tokens, lr, loss, grad_norm, val_loss, val_ppl, seconds) "
           "VALUES (?,?,?,?,?,?,?,?,?)");
    for (const TrainLogRow& r : rows) {
      s.reset();
      s.bind(1, run_id).bind(2, r.step).bind(3, r.tokens).bind(4, r.lr).bind(5, r.loss).bind(6, r.grad_norm);
      if (!std::isnan(r.val_loss)) s.bind(7, r.val_loss).bind(8, std::exp(r.val_loss));  // else both stay NULL
      s.bind(9, r.seconds);
      s.step();
    }
    Stmt u(db_, "UPDATE train_runs SET updated_at = ? WHERE id = ?");
    u.bind(1, now_utc()).bind(2, run_id);
    u.step();
  });
}

void Store::finish_train_run(int64_t run_id) {
  const std::string now = now_utc();
  Stmt u(db_, "UPDATE train_runs SET status = 'finished', finished_at = ?, updated_at = ? WHERE id = ?");
  u.bind(1, now).bind(2, now).bind(3, run_id);
  u.step();
}

void Store::add_bench_rows(const std::vector<BenchRow>& rows) {
  db_.transaction([&] {
    Stmt ins(db_,
             "INSERT INTO bench_results(created_at, model, model_sha256, mode, device, dtype, threads, ctx, batch, "
             "prefill_tok_s, prefill_gflops, decode_tok_s, decode_gbps, state_mib, peak_rss_mib, limit_gflops, "
             "limit_gbps, git_rev, peak_device_mib, rss_over_baseline_mib) "
             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    const std::string now = now_utc();
    auto measured = [](double v) { return v > 0 ? std::optional<double>(v) : std::nullopt; };  // 0: not measured
    for (const BenchRow& r : rows) {
      ins.reset();
      ins.bind(1, r.created_at.empty() ? now : r.created_at).bind(2, r.model).bind(3, r.model_sha256);
      ins.bind(4, r.mode).bind(5, r.device).bind(6, r.dtype).bind(7, r.threads).bind(8, r.ctx).bind(9, r.batch);
      ins.bind(10, r.prefill_tok_s).bind(11, r.prefill_gflops).bind(12, r.decode_tok_s).bind(13, r.decode_gbps);
      ins.bind(14, r.state_mib).bind(15, r.peak_rss_mib).bind(16, measured(r.limit_gflops));
      ins.bind(17, measured(r.limit_gbps)).bind(18, r.git_rev).bind(19, r.peak_device_mib);
      ins.bind(20, r.rss_over_baseline_mib);
      ins.step();
    }
  });
}

}  // namespace supra
