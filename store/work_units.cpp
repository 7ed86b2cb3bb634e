// Work units in a worker's shard (schema 6): who runs a unit, since when, and how it ended. The claim is a lease on
// the whole unit, judged alive like a run lease (store/leases.cpp), so a killed worker's unit is simply taken again.
#include "store/store.h"

namespace supra {

namespace {

std::optional<UnitRecord> unit_row(Db& db, const std::string& plan_id, int64_t unit) {
  for (UnitRecord& r : read_work_units(db))
    if (r.plan_id == plan_id && r.unit == unit) return std::move(r);
  return std::nullopt;
}

bool is_own(const LeaseHolder& h) {
  const LeaseHolder me = this_process();
  return h.host == me.host && h.pid == me.pid && h.proc_start == me.proc_start;
}

}  // namespace

std::vector<UnitRecord> read_work_units(Db& db) {
  std::vector<UnitRecord> out;
  if (!db.has_object("work_units")) return out;
  Stmt q(db,
         "SELECT plan_id, unit, plan_json, status, host, pid, proc_start, job_id, gpu, attempts, started_at, "
         "heartbeat_at, finished_at, error FROM work_units ORDER BY plan_id, unit");
  while (q.step()) {
    UnitRecord r;
    r.plan_id = q.text(0);
    r.unit = q.i64(1);
    r.plan_json = q.text(2);
    r.status = q.text(3);
    r.holder.host = q.text(4);
    r.holder.pid = q.i64(5);
    r.holder.proc_start = q.text(6);
    r.job_id = q.text(7);
    r.gpu = q.text(8);
    r.attempts = q.i64(9);
    r.holder.started_at = q.text(10);
    r.holder.heartbeat_at = q.text(11);
    r.finished_at = q.is_null(12) ? "" : q.text(12);
    r.error = q.is_null(13) ? "" : q.text(13);
    out.push_back(std::move(r));
  }
  for (UnitRecord& r : out) {
    Stmt p(db,
           "SELECT piece, run_id, doc_lo, doc_hi FROM work_unit_pieces WHERE plan_id = ? AND unit = ? ORDER BY piece");
    p.bind(1, r.plan_id).bind(2, r.unit);
    while (p.step()) r.pieces.push_back({p.i64(0), p.i64(1), p.i64(2), p.i64(3)});
    // The run leases of the shard move with every committed batch: the unit's last progress is the latest of them.
    if (db.has_object("run_leases")) {
      Stmt b(db, "SELECT max(heartbeat_at) FROM run_leases WHERE host = ? AND pid = ?");
      b.bind(1, r.holder.host).bind(2, r.holder.pid);
      if (b.step() && !b.is_null(0) && b.text(0) > r.holder.heartbeat_at) r.holder.heartbeat_at = b.text(0);
    }
  }
  return out;
}

bool Store::claim_unit(const std::string& plan_id, int64_t unit, const std::string& plan_json,
                       const std::string& job_id, const std::string& gpu) {
  bool claimed = false;
  db_.transaction([&] {
    const auto row = unit_row(db_, plan_id, unit);
    if (row && row->status == "finished") return;
    if (row && row->status == "running" && !is_own(row->holder) && holder_alive(row->holder))
      throw RunBusy(fmt::format("{}: unit {} of plan {} is being run by {}{}", path(), unit, plan_id,
                                row->holder.describe(), row->job_id.empty() ? "" : " (job " + row->job_id + ")"),
                    -1, fmt::format("unit {}", unit), row->holder);
    const LeaseHolder me = this_process();
    const std::string now = now_utc();
    Stmt u(db_,
           "INSERT INTO work_units(plan_id, unit, plan_json, status, host, pid, proc_start, job_id, gpu, attempts, "
           "started_at, heartbeat_at) VALUES (?1,?2,?3,'running',?4,?5,?6,?7,?8,1,?9,?9) "
           "ON CONFLICT(plan_id, unit) DO UPDATE SET status = 'running', host = ?4, pid = ?5, proc_start = ?6, "
           "job_id = ?7, gpu = ?8, attempts = attempts + 1, started_at = ?9, heartbeat_at = ?9, finished_at = NULL, "
           "error = NULL");
    u.bind(1, plan_id).bind(2, unit).bind(3, plan_json).bind(4, me.host).bind(5, me.pid).bind(6, me.proc_start);
    u.bind(7, job_id).bind(8, gpu).bind(9, now);
    u.step();
    claimed = true;
  });
  return claimed;
}

void Store::record_unit_piece(const std::string& plan_id, int64_t unit, const UnitPieceRecord& piece) {
  db_.transaction([&] {
    Stmt i(db_,
           "INSERT OR REPLACE INTO work_unit_pieces(plan_id, unit, piece, run_id, doc_lo, doc_hi) "
           "VALUES (?,?,?,?,?,?)");
    i.bind(1, plan_id).bind(2, unit).bind(3, piece.piece).bind(4, piece.run_id).bind(5, piece.doc_lo);
    i.bind(6, piece.doc_hi);
    i.step();
    Stmt u(db_, "UPDATE work_units SET heartbeat_at = ? WHERE plan_id = ? AND unit = ?");
    u.bind(1, now_utc()).bind(2, plan_id).bind(3, unit);
    u.step();
  });
}

void Store::finish_unit(const std::string& plan_id, int64_t unit) {
  const std::string now = now_utc();
  Stmt u(db_,
         "UPDATE work_units SET status = 'finished', finished_at = ?, heartbeat_at = ? WHERE plan_id = ? AND unit = ?");
  u.bind(1, now).bind(2, now).bind(3, plan_id).bind(4, unit);
  u.step();
}

void Store::fail_unit(const std::string& plan_id, int64_t unit, const std::string& error) noexcept {
  try {
    const LeaseHolder me = this_process();
    Stmt u(db_,
           "UPDATE work_units SET status = 'failed', error = ?, finished_at = ? WHERE plan_id = ? AND unit = ? "
           "AND host = ? AND pid = ? AND proc_start = ? AND status = 'running'");
    u.bind(1, error).bind(2, now_utc()).bind(3, plan_id).bind(4, unit).bind(5, me.host).bind(6, me.pid);
    u.bind(7, me.proc_start);
    u.step();
  } catch (...) {
    // Best effort on an error path: a unit left "running" by a dead process reads as failed anyway.
  }
}

}  // namespace supra
