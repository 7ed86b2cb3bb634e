#pragma once
// The process's own memory accounting (Linux /proc/self/status), for measurements such as "peak resident memory of a
// 64k-token document vs a 4k-token one". Values in bytes; 0 where the kernel does not report them.
#include <cstdint>

namespace supra {

int64_t resident_bytes();       // VmRSS: resident now
int64_t peak_resident_bytes();  // VmHWM: the high-water mark since start (or since the last reset)
// Resets the high-water mark to the current resident size (writes "5" to /proc/self/clear_refs, Linux >= 4.0).
// Returns false where the kernel refuses; the peak then keeps counting from process start.
bool reset_peak_resident();

}  // namespace supra
