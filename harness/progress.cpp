#include "harness/progress.h"

#include <unistd.h>

#include <cstdio>

namespace supra {

Progress::Progress(std::string label, int64_t total, int64_t already_done, std::string unit, double plain_every_s)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      done_(already_done),
      start_done_(already_done),
      plain_every_s_(plain_every_s),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {}

void Progress::update(int64_t done) {
  done_ = done;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_print_).count();
  if ((tty_ && since > 0.2) || (!tty_ && since >= plain_every_s_)) {
    print(false);
    last_print_ = now;
  }
}

void Progress::finish() { print(true); }

void Progress::print(bool final) {
  const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t fresh = done_ - start_done_;
  const double rate = el > 0 ? double(fresh) / el : 0;
  const double eta = rate > 0 ? double(total_ - done_) / rate : 0;
  char line[256];
  std::snprintf(line, sizeof line, "%s: %ld/%ld %s, %.2f %s/s, %s %.0fs", label_.c_str(), long(done_), long(total_),
                unit_.c_str(), rate, unit_.c_str(), final ? "took" : "ETA", final ? el : eta);
  if (tty_)
    std::fprintf(stderr, "\r\033[K%s%s", line, final ? "\n" : "");
  else
    std::fprintf(stderr, "%s\n", line);
  std::fflush(stderr);
}

}  // namespace supra
