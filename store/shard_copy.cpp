// Merge's row copying (schema 6): one piece of a worker's shard (a document range of one run) into the target
// store, in SQL over an ATTACHed shard, so rows are copied exactly as the worker wrote them.
#include "store/store.h"

namespace supra {

namespace {

// The runs columns a copied run keeps (its id is the target's own; it starts "running" until merge finishes it).
constexpr const char* kRunColumns =
    "run_key, key_json, model, model_sha256, mode, form, task, task_version, shots, seed, ctx, train_ctx, "
    "beyond_train, truncation, dtype, device, add_bos, limit_docs, n_docs, git_rev, config_json, created_at, "
    "updated_at";

constexpr const char* kSampleColumns =
    "doc, request, type, n_input, n_kept, n_dropped, logprob, is_greedy, generated, truncation, n_continuation";

// Detaches the shard however the copy ends.
struct Attached {
  Db& db;
  ~Attached() {
    try {
      db.exec("DETACH DATABASE shard");
    } catch (...) {
      // The connection is still usable; a failed detach only leaves the name taken until the process ends.
    }
  }
};

}  // namespace

bool Store::run_finished(int64_t run_id) {
  Stmt q(db_, "SELECT status FROM runs WHERE id = ?");
  q.bind(1, run_id);
  return q.step() && q.text(0) == "finished";
}

CopiedPiece Store::copy_shard_piece(const std::string& shard_path, int64_t shard_run_id, int64_t doc_lo,
                                    int64_t doc_hi) {
  db_.exec("ATTACH DATABASE " + sql_literal(shard_path) + " AS shard");
  Attached detach{db_};
  CopiedPiece out;
  db_.transaction([&] {
    std::string run_key;
    {
      Stmt r(db_, "SELECT run_key, n_docs, task, mode, model, ctx FROM shard.runs WHERE id = ?");
      r.bind(1, shard_run_id);
      if (!r.step()) fail("{}: shard names run {} of a piece, but holds no such run", shard_path, shard_run_id);
      run_key = r.text(0);
      out.n_docs = r.i64(1);
      out.task = r.text(2);
      out.mode = r.text(3);
      out.model = r.text(4);
      out.ctx = r.i64(5);
    }
    {
      // A document is done when it has its run_docs row (schema 7), whatever metrics its task returned.
      Stmt n(db_, "SELECT count(*) FROM shard.run_docs WHERE run_id = ? AND doc >= ? AND doc < ?");
      n.bind(1, shard_run_id).bind(2, doc_lo).bind(3, doc_hi);
      n.step();
      if (n.i64(0) != doc_hi - doc_lo)
        fail("{}: documents [{}, {}) of {} {} ctx {}: only {} of {} are in the shard, though its unit says finished",
             shard_path, doc_lo, doc_hi, out.task, out.mode, out.ctx, n.i64(0), doc_hi - doc_lo);
    }
    {
      Stmt t(db_, "SELECT id, n_docs, status FROM main.runs WHERE run_key = ?");
      t.bind(1, run_key);
      if (t.step()) {
        out.run_id = t.i64(0);
        out.run_finished = t.text(2) == "finished";
        if (t.i64(1) != out.n_docs)
          fail("{}: run {} {} ctx {} has {} documents here but {} in shard {}: the task's data changed between them",
               path(), out.task, out.mode, out.ctx, t.i64(1), out.n_docs, shard_path);
      } else {
        Stmt ins(db_, fmt::format("INSERT INTO main.runs({0}, status) SELECT {0}, 'running' FROM shard.runs "
                                  "WHERE id = ?",
                                  kRunColumns));
        ins.bind(1, shard_run_id);
        ins.step();
        out.run_id = db_.last_insert_rowid();
      }
    }
    // A document already here must be the same document: every sample and metric equal (NULLs included).
    {
      Stmt d(db_,
             "SELECT s.doc FROM shard.samples s JOIN main.samples m ON m.run_id = ?1 AND m.doc = s.doc AND "
             "m.request = s.request WHERE s.run_id = ?2 AND s.doc >= ?3 AND s.doc < ?4 AND (m.type IS NOT s.type OR "
             "m.n_input IS NOT s.n_input OR m.n_kept IS NOT s.n_kept OR m.n_dropped IS NOT s.n_dropped OR "
             "m.logprob IS NOT s.logprob OR m.is_greedy IS NOT s.is_greedy OR m.generated IS NOT s.generated OR "
             "m.truncation IS NOT s.truncation OR m.n_continuation IS NOT s.n_continuation) "
             "UNION SELECT s.doc FROM shard.doc_metrics s JOIN main.doc_metrics m ON m.run_id = ?1 AND m.doc = s.doc "
             "AND m.metric = s.metric WHERE s.run_id = ?2 AND s.doc >= ?3 AND s.doc < ?4 AND (m.value IS NOT s.value "
             "OR m.weight IS NOT s.weight) LIMIT 1");
      d.bind(1, out.run_id).bind(2, shard_run_id).bind(3, doc_lo).bind(4, doc_hi);
      if (d.step())
        fail("{}: document {} of {} {} ctx {} is already in {} with other values: the two were computed "
             "differently (another build, device or setting); merge them into separate stores",
             shard_path, d.i64(0), out.task, out.mode, out.ctx, path());
    }
    {
      Stmt n(db_,
             "SELECT count(*) FROM shard.run_docs WHERE run_id = ?2 AND doc >= ?3 AND doc < ?4 AND doc "
             "NOT IN (SELECT doc FROM main.run_docs WHERE run_id = ?1)");
      n.bind(1, out.run_id).bind(2, shard_run_id).bind(3, doc_lo).bind(4, doc_hi);
      n.step();
      out.new_docs = n.i64(0);
    }
    Stmt s(db_, fmt::format("INSERT OR IGNORE INTO main.samples(run_id, {0}) SELECT ?1, {0} FROM shard.samples "
                            "WHERE run_id = ?2 AND doc >= ?3 AND doc < ?4 ORDER BY doc, request",
                            kSampleColumns));
    s.bind(1, out.run_id).bind(2, shard_run_id).bind(3, doc_lo).bind(4, doc_hi);
    s.step();
    Stmt m(db_,
           "INSERT OR IGNORE INTO main.doc_metrics(run_id, doc, metric, value, weight) SELECT ?1, doc, metric, value, "
           "weight FROM shard.doc_metrics WHERE run_id = ?2 AND doc >= ?3 AND doc < ?4 ORDER BY doc, metric");
    m.bind(1, out.run_id).bind(2, shard_run_id).bind(3, doc_lo).bind(4, doc_hi);
    m.step();
    Stmt d(db_, "INSERT OR IGNORE INTO main.run_docs(run_id, doc) SELECT ?1, doc FROM shard.run_docs WHERE run_id = ?2 "
                "AND doc >= ?3 AND doc < ?4 ORDER BY doc");
    d.bind(1, out.run_id).bind(2, shard_run_id).bind(3, doc_lo).bind(4, doc_hi);
    d.step();
  });
  return out;
}

}  // namespace supra
