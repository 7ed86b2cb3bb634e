#pragma once
// The process's own memory accounting (Linux /proc/self/status), for measurements such as "peak resident memory of a
// 64k-token document vs a 4k-token one" and bench's memory per configuration. Values in bytes; 0 where the kernel
// does not report them.
#include <cstdint>

namespace supra {

int64_t resident_bytes();       // VmRSS: resident now
int64_t peak_resident_bytes();  // VmHWM: the high-water mark since start (or since the last reset)
// Resets the high-water mark to the current resident size (writes "5" to /proc/self/clear_refs, Linux >= 4.0).
// Returns true when the mark now equals the resident size; false where the kernel refuses (read-only /proc in some
// containers, non-Linux) and the mark keeps counting from process start. SUPRA_NO_PEAK_RESET=1 in the environment
// makes it refuse, so the fallback of PeakWindow can be exercised on a kernel that allows the reset.
bool reset_peak_resident();

// A peak resident size, exact or only bounded: where the high-water mark cannot be reset, a stretch of work that
// stayed below an earlier peak is known only to have peaked at or below that earlier peak.
struct PeakReading {
  int64_t bytes = 0;
  bool exact = false;  // false: `bytes` is only an upper bound of the peak
};
// The peak of two stretches of work taken together: exact when the larger value is exact (an exact peak at or above
// the other's upper bound is the peak of both).
PeakReading combine(PeakReading a, PeakReading b);

// The peak resident memory of one stretch of work, such as one bench configuration. Begins by handing freed heap
// pages back to the kernel (so what earlier work freed does not stay resident and count again), then records the
// resident size as the baseline and resets the high-water mark.
class PeakWindow {
 public:
  PeakWindow();
  int64_t baseline_bytes() const { return baseline_; }
  // The peak since the window began: exact after a reset, or (no reset) when the work rose above the high-water mark
  // it started under; otherwise only that mark as an upper bound.
  PeakReading peak() const;

 private:
  int64_t baseline_ = 0, floor_ = 0;
  bool reset_ = false;
};

}  // namespace supra
