#include "harness/state_memory.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#ifdef SUPRA_WITH_CUDA
#include "engine/cuda/cuda_backend.h"
#endif

namespace supra {

namespace {

// MemAvailable of /proc/meminfo in bytes; 0 where it cannot be read.
size_t available_ram() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}

}  // namespace

size_t default_state_memory(EngineSession& s) {
#ifdef SUPRA_WITH_CUDA
  if (cuda::is_cuda_backend(*s.backend)) return cuda::device_info(*s.backend).free_bytes / 10 * 8;
#endif
  (void)s;
  const size_t ram = available_ram();
  if (ram == 0) fail("--state-memory: /proc/meminfo gives no MemAvailable here; give the budget in bytes (e.g. 8G)");
  return ram / 2;
}

size_t parse_bytes(const std::string& text, const std::string& option) {
  double value = 0;
  size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (...) {
    used = 0;
  }
  std::string unit = text.substr(used);
  for (char& c : unit) c = char(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() == 2 && unit[1] == 'B') unit.pop_back();  // "GB" as "G"
  const double scale = unit.empty() ? 1.0 : unit == "K" ? 1024.0 : unit == "M" ? 1048576.0
                     : unit == "G" ? 1073741824.0 : unit == "T" ? 1099511627776.0 : -1.0;
  if (used == 0 || scale < 0 || value < 0)
    fail("{}: '{}' is not a size (expected bytes, or a number with K, M, G or T, e.g. 8G)", option, text);
  return size_t(value * scale);
}

}  // namespace supra
