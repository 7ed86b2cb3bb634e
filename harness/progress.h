#pragma once
// Progress of long work: a redrawn line with done/total, rate and ETA on a terminal; a plain line every
// `plain_every_s` seconds otherwise (logs, CI).
#include <chrono>
#include <cstdint>
#include <string>

namespace supra {

class Progress {
 public:
  // `already_done`: work finished before this process started (a resumed run); the rate counts only new work.
  Progress(std::string label, int64_t total, int64_t already_done = 0, std::string unit = "docs",
           double plain_every_s = 10.0);
  void update(int64_t done);
  void finish();

 private:
  void print(bool final);
  std::string label_, unit_;
  int64_t total_, done_, start_done_;
  double plain_every_s_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace supra
