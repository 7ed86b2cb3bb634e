#pragma once
// A typed view of memory on one device, row-major. Storage is shared: a view (rows(), a loader's slice of a
// stacked weight) keeps its owner alive. The engine never reads `data` of a device tensor on the host.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"

namespace supra {

enum class Device { CPU, CUDA };

struct Tensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  void* data = nullptr;
  Device device = Device::CPU;
  std::shared_ptr<void> owner;  // mmap region, host buffer or device buffer
  // A weight in a backend's own form (CPU: oneDNN-packed panels, Backend::upload_linear); then `data` is not
  // row-major and only that backend's matmul reads it. Views (slice_rows, reshaped) drop it.
  std::shared_ptr<const void> packed;

  bool empty() const { return data == nullptr; }
  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return shape.empty() ? 0 : n;
  }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
  int64_t dim(size_t i) const { return shape.at(i); }
  int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  // Elements per row (product of all dims after the first).
  int64_t row_size() const {
    int64_t n = 1;
    for (size_t i = 1; i < shape.size(); i++) n *= shape[i];
    return n;
  }
  template <class T>
  T* ptr() const {
    return static_cast<T*>(data);
  }
  // Rows [begin, end) of the first dimension, sharing storage.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // The same storage seen with another shape of equal element count.
  Tensor reshaped(std::vector<int64_t> new_shape) const;
  std::string shape_str() const;
};

// Host tensor owning fresh zero-initialised memory.
Tensor host_tensor(DType dtype, std::vector<int64_t> shape);

}  // namespace supra
