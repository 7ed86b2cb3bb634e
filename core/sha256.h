#pragma once
// SHA-256 (FIPS 180-4), written here because OpenSSL is not a dependency. Used to fingerprint checkpoints and
// data files; output is lowercase hex, as `sha256sum` prints it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace supra {

// Incremental hasher: update() any number of times, then hex() once.
class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::string hex();  // finalises; the object must not be updated afterwards

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
  bool done_ = false;
};

std::string sha256_hex(const void* data, size_t n);
inline std::string sha256_hex(std::string_view s) { return sha256_hex(s.data(), s.size()); }
// Streams the file in blocks (a 14 GB checkpoint is never held in memory). Error naming the file if unreadable.
std::string sha256_file(const std::string& path);

}  // namespace supra
