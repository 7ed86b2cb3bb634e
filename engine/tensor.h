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

// A tensor's dimensions, held inline: views (slice_rows, reshaped) are made on every forward call, and a decode
// step must not allocate. Reads like a std::vector<int64_t> and converts to and from one.
class Shape {
 public:
  static constexpr size_t kMaxDims = 8;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.size()); }
  Shape(const std::vector<int64_t>& dims) { assign(dims.data(), dims.size()); }  // NOLINT: implicit on purpose
  operator std::vector<int64_t>() const { return std::vector<int64_t>(begin(), end()); }  // NOLINT

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t& operator[](size_t i) { return d_[i]; }
  int64_t operator[](size_t i) const { return d_[i]; }
  int64_t at(size_t i) const;  // throws std::out_of_range past the end, as std::vector does
  int64_t back() const { return d_[n_ - 1]; }
  void push_back(int64_t v);  // fails beyond kMaxDims dimensions
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + n_; }
  int64_t* begin() { return d_; }
  int64_t* end() { return d_ + n_; }
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.n_ != b.n_) return false;
    for (size_t i = 0; i < a.n_; i++)
      if (a.d_[i] != b.d_[i]) return false;
    return true;
  }

 private:
  void assign(const int64_t* d, size_t n);
  int64_t d_[kMaxDims] = {};
  size_t n_ = 0;
};

struct Tensor {
  DType dtype = DType::F32;
  Shape shape;
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
