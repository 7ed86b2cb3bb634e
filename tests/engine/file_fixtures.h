#pragma once
// Files made by the engine tests: a scratch folder removed at scope exit, text/JSON writers, and a safetensors file
// from a raw header (for malformed ones).
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace supra::test {

namespace fs = std::filesystem;

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = fs::temp_directory_path() / fmt::format("supra_test_engine_{}_{}", ::getpid(), n++);
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  std::string str() const { return path.string(); }
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline void write_json(const std::string& path, const nlohmann::json& j) { write_text(path, j.dump(2)); }

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// A safetensors file from a raw header text and data bytes.
inline void write_raw_safetensors(const std::string& path, const std::string& header, size_t data_bytes) {
  std::string s(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; i++) s[i] = char((n >> (8 * i)) & 0xff);
  s += header;
  s.append(data_bytes, '\0');
  write_text(path, s);
}

}  // namespace supra::test
