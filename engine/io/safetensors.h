#pragma once
// safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then
// the raw bytes. Files are memory-mapped; tensors are views into the mapping (no copy, stored dtype kept).
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tensor.h"

namespace supra {

class SafetensorsFile {
 public:
  // Maps `path` and validates the header: length within the file, every tensor's dtype known, its byte size equal
  // to prod(shape) * dtype size, offsets inside the data area. Errors name the file and the tensor.
  explicit SafetensorsFile(const std::string& path);
  const std::string& path() const { return path_; }
  bool has(const std::string& name) const { return tensors_.count(name) > 0; }
  // A view into the mapping; error naming the file and tensor when absent.
  Tensor get(const std::string& name) const;
  std::vector<std::string> names() const;
  const nlohmann::json& metadata() const { return metadata_; }

 private:
  std::string path_;
  std::shared_ptr<void> map_;  // munmap on release
  size_t size_ = 0;
  std::map<std::string, Tensor> tensors_;
  nlohmann::json metadata_;
};

// Writes tensors (host, any float dtype, converted to `dtype` if it differs) to a safetensors file.
void write_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                       DType dtype, const nlohmann::json& metadata = nlohmann::json::object());

}  // namespace supra
