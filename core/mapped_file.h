#pragma once
// A read-only memory mapping of a whole file. Tensors loaded from it are views whose `owner` is `owner` below,
// so the mapping lives exactly as long as some tensor still points into it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace supra {

struct MappedFile {
  std::string path;
  std::shared_ptr<void> owner;  // munmap on release; null for an empty file
  uint8_t* data = nullptr;      // PROT_READ: writing through it faults
  size_t size = 0;
};

// Maps `path` read-only. Error naming the file when it cannot be opened or mapped.
MappedFile map_file(const std::string& path);

}  // namespace supra
