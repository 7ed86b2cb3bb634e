// Run leases (schema 4): which process writes a run, judged alive by its pid on this host and by its heartbeat on
// another.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "store/store.h"

namespace supra {

namespace {

std::string read_first_line(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

// Start time of a process in clock ticks after boot (field 22 of /proc/<pid>/stat), "" when unreadable.
std::string start_ticks(int64_t pid) {
  const std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 2));
  std::string f;
  for (int i = 3; i <= 22 && fields >> f; i++)
    if (i == 22) return f;
  return "";
}

std::string boot_id() { return read_first_line("/proc/sys/kernel/random/boot_id"); }

// "<boot id>/<start ticks>" of a process: the same pid after a reboot or after reuse gives another value.
std::string proc_start_of(int64_t pid) {
  const std::string boot = boot_id(), ticks = start_ticks(pid);
  return boot.empty() || ticks.empty() ? "" : boot + "/" + ticks;
}

std::string this_host() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown-host";
  return buf;
}

struct Self {
  std::string host = this_host();
  int64_t pid = int64_t(getpid());
  std::string proc_start = proc_start_of(int64_t(getpid()));
};

const Self& self() {
  static const Self s;
  return s;
}

// Seconds since the epoch of a store timestamp (now_utc's format); -1 when it does not parse.
int64_t parse_utc(const std::string& t) {
  std::tm tm{};
  if (std::sscanf(t.c_str(), "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec) != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return int64_t(timegm(&tm));
}

std::string format_utc(int64_t t) {
  const std::time_t tt = std::time_t(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}

bool is_self(const LeaseHolder& h) {
  return h.host == self().host && h.pid == self().pid && h.proc_start == self().proc_start;
}

// Whether the process holding a lease still runs. On this host: its pid exists and is the same process (not a
// reused pid, not one from before a reboot). On another host this one cannot ask: live until its heartbeat is
// older than the lapse.
bool is_alive(const LeaseHolder& h) {
  if (!h.same_host) {
    const int64_t beat = parse_utc(h.heartbeat_at);
    return beat < 0 || int64_t(std::time(nullptr)) - beat < Store::kForeignLeaseLapseSeconds;
  }
  const auto slash = h.proc_start.find('/');
  if (slash != std::string::npos && !self().proc_start.empty() &&
      h.proc_start.substr(0, slash) != self().proc_start.substr(0, self().proc_start.find('/')))
    return false;  // recorded before this host last booted
  if (kill(pid_t(h.pid), 0) != 0 && errno == ESRCH) return false;
  const std::string now = proc_start_of(h.pid);
  return h.proc_start.empty() || now.empty() || now == h.proc_start;
}

}  // namespace

LeaseHolder this_process() {
  LeaseHolder h;
  h.host = self().host;
  h.pid = self().pid;
  h.proc_start = self().proc_start;
  h.same_host = true;
  return h;
}

bool holder_alive(const LeaseHolder& h) {
  LeaseHolder judged = h;
  judged.same_host = h.host == self().host;
  return is_alive(judged);
}

std::string LeaseHolder::describe() const {
  return fmt::format("pid {} on host {} since {} (last progress {})", pid, host, started_at, heartbeat_at);
}

namespace {

std::vector<LeaseHolder> leases_of(Db& db, int64_t run_id, int64_t lo, int64_t hi) {
  std::vector<LeaseHolder> out;
  Stmt q(db,
         "SELECT host, pid, proc_start, started_at, heartbeat_at, doc_lo, doc_hi FROM run_leases "
         "WHERE run_id = ? AND doc_lo < ? AND doc_hi > ?");
  q.bind(1, run_id).bind(2, hi).bind(3, lo);
  while (q.step()) {
    LeaseHolder h;
    h.host = q.text(0);
    h.pid = q.i64(1);
    h.proc_start = q.text(2);
    h.started_at = q.text(3);
    h.heartbeat_at = q.text(4);
    h.doc_lo = q.i64(5);
    h.doc_hi = q.i64(6);
    h.same_host = h.host == self().host;
    out.push_back(h);
  }
  return out;
}

}  // namespace

std::optional<LeaseHolder> Store::live_foreign_lease(int64_t run_id) {
  for (const LeaseHolder& h : leases_of(db_, run_id, INT64_MIN, INT64_MAX))
    if (!is_self(h) && is_alive(h)) return h;
  return std::nullopt;
}

Store::Lease Store::acquire_lease(int64_t run_id, int64_t doc_lo, int64_t doc_hi, const std::string& what,
                                  bool take_over) {
  Lease out;
  db_.transaction([&] {
    for (const LeaseHolder& h : leases_of(db_, run_id, doc_lo, doc_hi)) {
      if (!is_self(h) && is_alive(h) && !take_over) {
        Stmt n(db_,
               "SELECT (SELECT count(DISTINCT doc) FROM doc_metrics WHERE run_id = ?1), "
               "(SELECT n_docs FROM runs WHERE id = ?1)");
        n.bind(1, run_id);
        n.step();
        const std::string head =
            fmt::format("{}: run {} is being written by {}; {} of {} documents are stored.", path(), what,
                        h.describe(), n.i64(0), n.i64(1));
        if (h.same_host)
          throw RunBusy(head + fmt::format(
                                   " Wait for it to finish (its results go into this store, and this command then "
                                   "prints them without recomputing anything), evaluate other --tasks/--ctx "
                                   "meanwhile, or use another --db. If you stop that process (kill {}), this command "
                                   "resumes the run where it stopped.",
                                   h.pid),
                        run_id, what, h);
        const int64_t beat = parse_utc(h.heartbeat_at);
        throw RunBusy(head + fmt::format(
                                 " Wait for it to finish, evaluate other --tasks/--ctx meanwhile, or use another "
                                 "--db. This host cannot check a process on {}: if it died, its lease lapses at {} "
                                 "({} minutes without progress) and the run then resumes here; pass --take-over to "
                                 "resume it now (only if you are sure that process is gone).",
                                 h.host, beat < 0 ? std::string("?") : format_utc(beat + kForeignLeaseLapseSeconds),
                                 kForeignLeaseLapseSeconds / 60),
                      run_id, what, h);
      }
      if (!is_self(h)) out.taken_from = h;
      Stmt del(db_, "DELETE FROM run_leases WHERE run_id = ? AND doc_lo = ?");
      del.bind(1, run_id).bind(2, h.doc_lo);
      del.step();
    }
    const std::string now = now_utc();
    Stmt ins(db_,
             "INSERT INTO run_leases(run_id, doc_lo, doc_hi, host, pid, proc_start, started_at, heartbeat_at) "
             "VALUES (?,?,?,?,?,?,?,?)");
    ins.bind(1, run_id).bind(2, doc_lo).bind(3, doc_hi).bind(4, self().host).bind(5, self().pid);
    ins.bind(6, self().proc_start).bind(7, now).bind(8, now);
    ins.step();
  });
  leased_[run_id] = what;
  return out;
}

void Store::release_lease(int64_t run_id) noexcept {
  leased_.erase(run_id);
  try {
    db_.transaction([&] { delete_own_lease(run_id); });
  } catch (...) {
    // Best effort on an error path: a lease left behind names a dead pid, and the next run on this host takes
    // it over.
  }
}

void Store::delete_own_lease(int64_t run_id) {
  Stmt del(db_, "DELETE FROM run_leases WHERE run_id = ? AND host = ? AND pid = ? AND proc_start = ?");
  del.bind(1, run_id).bind(2, self().host).bind(3, self().pid).bind(4, self().proc_start);
  del.step();
}

void Store::check_own_lease(int64_t run_id, const char* doing) {
  const auto own = leased_.find(run_id);
  if (own == leased_.end()) {
    // Not leased by us (a caller of the store API that takes no lease): still never write under a live lease.
    for (const LeaseHolder& h : leases_of(db_, run_id, INT64_MIN, INT64_MAX))
      if (!is_self(h) && is_alive(h))
        throw RunBusy(fmt::format("{}: run {} is being written by {}; {} not written", path(), run_id, h.describe(),
                                  doing),
                      run_id, std::to_string(run_id), h);
    return;
  }
  const auto holders = leases_of(db_, run_id, INT64_MIN, INT64_MAX);
  for (const LeaseHolder& h : holders)
    if (is_self(h)) {
      Stmt u(db_,
             "UPDATE run_leases SET heartbeat_at = ? WHERE run_id = ? AND host = ? AND pid = ? AND proc_start = ?");
      u.bind(1, now_utc()).bind(2, run_id).bind(3, self().host).bind(4, self().pid).bind(5, self().proc_start);
      u.step();
      return;
    }
  const std::string by = holders.empty() ? std::string("another process (which has finished with it since)")
                                         : holders.front().describe();
  fail("{}: run {} was taken over by {} while this process (pid {}) was still computing it (--take-over was used, "
       "or this process looked dead to the other one); {} not written, and this process stops. Nothing stored is "
       "lost: the other process continues the run; run this command again afterwards to print its results",
       path(), own->second, by, self().pid, doing);
}

}  // namespace supra
