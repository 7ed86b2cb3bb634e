#pragma once
// What the scale-out tests share: the small sweep they split, an exact dump of a store's results to compare a merged
// store with an unsharded one, and polling a unit's shard.
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "store/db.h"

namespace supra::test {

inline const std::string kSoftmaxModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";
inline const std::string kSupraModel = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K-supra";

// Every result of a store, runs in run-key order, reals as hex floats (exact): two stores with the same dump hold
// the same numbers bit for bit. Timestamps, ids, git revision and config are left out (they differ by design).
inline std::string results_dump(const std::filesystem::path& db) {
  Db h = Db::open_read_only(db.string());
  auto real = [](Stmt& q, int c) { return q.is_null(c) ? std::string("NULL") : fmt::format("{:a}", q.f64(c)); };
  std::string out;
  Stmt r(h, "SELECT run_key, status, n_docs FROM runs ORDER BY run_key");
  while (r.step()) out += fmt::format("run {} {} {}\n", r.text(0), r.text(1), r.i64(2));
  Stmt m(h,
         "SELECT r.run_key, m.metric, m.value, m.stderr, m.n, m.aggregation FROM metrics m JOIN runs r ON "
         "r.id = m.run_id ORDER BY r.run_key, m.metric");
  while (m.step())
    out += fmt::format("metric {} {} {} {} {} {}\n", m.text(0), m.text(1), real(m, 2), real(m, 3), m.i64(4), m.text(5));
  Stmt s(h,
         "SELECT r.run_key, s.doc, s.request, s.type, s.n_input, s.n_kept, s.n_dropped, s.logprob, s.is_greedy, "
         "s.generated, s.truncation FROM samples s JOIN runs r ON r.id = s.run_id "
         "ORDER BY r.run_key, s.doc, s.request");
  while (s.step())
    out += fmt::format("sample {} {} {} {} {} {} {} {} {} {} {}\n", s.text(0), s.i64(1), s.i64(2), s.text(3), s.i64(4),
                       s.i64(5), s.i64(6), real(s, 7), s.is_null(8) ? -1 : s.i64(8), s.is_null(9) ? "NULL" : s.text(9),
                       s.is_null(10) ? "NULL" : s.text(10));
  Stmt d(h,
         "SELECT r.run_key, d.doc, d.metric, d.value, d.weight FROM doc_metrics d JOIN runs r ON r.id = d.run_id "
         "ORDER BY r.run_key, d.doc, d.metric");
  while (d.step())
    out += fmt::format("doc {} {} {} {} {}\n", d.text(0), d.i64(1), d.text(2), real(d, 3), real(d, 4));
  return out;
}

// Documents stored in a shard (0 while the file does not exist or cannot be read yet).
inline int64_t shard_docs(const std::filesystem::path& shard) {
  if (!std::filesystem::exists(shard)) return 0;
  try {
    Db h = Db::open_read_only(shard.string());
    if (!h.has_object("doc_metrics")) return 0;
    Stmt q(h, "SELECT count(*) FROM (SELECT DISTINCT run_id, doc FROM doc_metrics)");
    return q.step() ? q.i64(0) : 0;
  } catch (const Error&) {
    return 0;
  }
}

// The unit's status in its shard ("" before a worker claimed it).
inline std::string shard_unit_status(const std::filesystem::path& shard) {
  if (!std::filesystem::exists(shard)) return "";
  try {
    Db h = Db::open_read_only(shard.string());
    if (!h.has_object("work_units")) return "";
    Stmt q(h, "SELECT status FROM work_units");
    return q.step() ? q.text(0) : "";
  } catch (const Error&) {
    return "";
  }
}

}  // namespace supra::test
