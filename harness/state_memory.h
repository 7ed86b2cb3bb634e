#pragma once
// The byte budget for sequence states (KV caches, SUPRA states) that the scorer schedules within (`--state-memory`):
// parsed from the command line, or by default a safe share of the memory free once the model is loaded.
#include <cstddef>
#include <string>

#include "harness/engine_session.h"

namespace supra {

// Half of the RAM the kernel reports available (MemAvailable) on the CPU; 80% of the device's free memory on CUDA.
// Measured after the weights are loaded, so they are not counted twice.
size_t default_state_memory(EngineSession& s);

// "8G", "512M", "64K", "1.5G" (binary units) or a plain number of bytes; "0" means the default. Errors name the
// option and the expected form.
size_t parse_bytes(const std::string& text, const std::string& option);

}  // namespace supra
