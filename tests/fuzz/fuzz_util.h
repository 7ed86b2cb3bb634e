#pragma once
// Shared by the libFuzzer targets: inputs become files (every loader reads a path), refusals are expected, and seed
// inputs are made at fuzz time by our own writers (SUPRA_FUZZ_SEEDS=<dir>: write them there and exit) rather than
// committed as blobs. A supra::Error is a refusal with a message: fine. Any other exception escaping a loader
// (a std::out_of_range, a JSON type_error with no file name) is a finding: it aborts, and libFuzzer keeps the input.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <typeinfo>

#include "core/error.h"

namespace supra::fuzz {

namespace fs = std::filesystem;

// A folder private to this process (libFuzzer's -fork/-jobs children each get their own).
inline const fs::path& scratch() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("supra_fuzz_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string put(const fs::path& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  return path.string();
}

inline std::string put(const fs::path& path, const std::string& bytes) {
  return put(path, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// Runs `body`; a supra::Error is the loader refusing the input (expected), anything else aborts.
template <class F>
void expect_refusal_or_success(F&& body) {
  try {
    body();
  } catch (const supra::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "finding: a %s escaped instead of a supra::Error: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

// The seed folder asked for, or empty.
inline std::string seeds_dir() {
  const char* d = std::getenv("SUPRA_FUZZ_SEEDS");
  return d ? std::string(d) : std::string();
}

}  // namespace supra::fuzz
