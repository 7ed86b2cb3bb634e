#include "core/process_memory.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace supra {

namespace {

struct StatusKib {
  int64_t rss = 0, hwm = 0;
};

// VmRSS and VmHWM from one read of /proc/self/status, so the two describe the same moment.
StatusKib read_status() {
  StatusKib s;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss = std::stoll(line.substr(6)) * 1024;
    if (line.rfind("VmHWM:", 0) == 0) s.hwm = std::stoll(line.substr(6)) * 1024;
  }
  return s;
}

}  // namespace

int64_t resident_bytes() { return read_status().rss; }
int64_t peak_resident_bytes() { return read_status().hwm; }

bool reset_peak_resident() {
  const char* no = std::getenv("SUPRA_NO_PEAK_RESET");
  if (no && *no && std::strcmp(no, "0") != 0) return false;
  {
    std::ofstream out("/proc/self/clear_refs");
    if (!out) return false;
    out << "5";
    out.flush();
    if (!out) return false;
  }
  // A write the kernel accepted but ignored would leave the old mark: check that it came down to the resident size
  // (1 MiB of slack for pages touched between the reset and the read).
  const StatusKib s = read_status();
  return s.hwm > 0 && s.hwm - s.rss <= (int64_t(1) << 20);
}

PeakReading combine(PeakReading a, PeakReading b) {
  if (a.bytes != b.bytes) return a.bytes > b.bytes ? a : b;
  return {a.bytes, a.exact || b.exact};
}

PeakWindow::PeakWindow() {
#if defined(__GLIBC__)
  malloc_trim(0);  // free chunks below the heap top stay resident otherwise
#endif
  baseline_ = resident_bytes();
  reset_ = reset_peak_resident();
  floor_ = peak_resident_bytes();
}

PeakReading PeakWindow::peak() const {
  const int64_t hwm = peak_resident_bytes();
  if (hwm <= 0) return {};
  if (reset_ || hwm > floor_) return {hwm, true};
  return {floor_, false};
}

}  // namespace supra
