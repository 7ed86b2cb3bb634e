#include "engine/tensor.h"

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "core/error.h"

namespace supra {

void Shape::assign(const int64_t* d, size_t n) {
  if (n > kMaxDims) fail("a tensor of {} dimensions; at most {} are supported", n, kMaxDims);
  for (size_t i = 0; i < n; i++) d_[i] = d[i];
  n_ = n;
}

int64_t Shape::at(size_t i) const {
  if (i >= n_) throw std::out_of_range("Shape::at: dimension " + std::to_string(i) + " of " + std::to_string(n_));
  return d_[i];
}

void Shape::push_back(int64_t v) {
  if (n_ == kMaxDims) fail("a tensor of more than {} dimensions is not supported", kMaxDims);
  d_[n_++] = v;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  if (begin < 0 || end < begin || end > rows())
    fail("slice_rows [{}, {}) out of range for a tensor of shape {}", begin, end, shape_str());
  if (packed) fail("slice_rows of a packed weight {}", shape_str());
  Tensor t = *this;
  t.shape[0] = end - begin;
  t.data = static_cast<char*>(data) + size_t(begin) * size_t(row_size()) * dtype_size(dtype);
  return t;
}

Tensor Tensor::reshaped(std::vector<int64_t> new_shape) const {
  if (packed) fail("reshaped of a packed weight {}", shape_str());
  Tensor t = *this;
  t.shape = std::move(new_shape);
  if (t.numel() != numel()) fail("cannot reshape {} to {}", shape_str(), t.shape_str());
  return t;
}

std::string Tensor::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Tensor host_tensor(DType dtype, std::vector<int64_t> shape) {
  Tensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  size_t bytes = t.nbytes();
  // 64-byte alignment for SIMD loads; at least one byte so an empty tensor still has an owner.
  size_t alloc = (bytes + 63) / 64 * 64 + 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) fail("out of host memory allocating {} bytes for a tensor of shape {}", bytes, t.shape_str());
  std::memset(p, 0, alloc);
  t.owner = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  t.data = p;
  return t;
}

}  // namespace supra
