#pragma once
// Per-sequence memory, one interface for both attention modes (llama.cpp's idea of a memory shared by the KV cache
// and the recurrent state): the model appends to it, callers snapshot it with fork() so a shared context is
// computed once and every continuation goes on from a copy.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/backend.h"

namespace supra {

class SequenceState {
 public:
  virtual ~SequenceState() = default;
  // Tokens already consumed; the next token sits at this position.
  int64_t n_past() const { return n_past_; }
  void advance(int64_t n) { n_past_ += n; }
  virtual std::unique_ptr<SequenceState> fork() const = 0;
  // Bytes of device memory this state holds.
  virtual size_t bytes() const = 0;

 protected:
  int64_t n_past_ = 0;
};

// Softmax mode: per layer K and V rows [capacity, Hkv*d], fp32. Rows [0, n_past) are valid.
class KVCache final : public SequenceState {
 public:
  KVCache(Backend& backend, int n_layers, int kv_dim);
  // Makes room for `rows` rows in every layer (amortised doubling; the valid rows are kept).
  void reserve(int64_t rows);
  Tensor& k(int layer) { return k_[layer]; }
  Tensor& v(int layer) { return v_[layer]; }
  std::unique_ptr<SequenceState> fork() const override;
  size_t bytes() const override;

 private:
  Backend& backend_;
  int kv_dim_;
  int64_t capacity_ = 0;
  std::vector<Tensor> k_, v_;
};

// SUPRA mode: per layer S [H, d, d], fp32, whatever the context length.
class SupraState final : public SequenceState {
 public:
  SupraState(Backend& backend, int n_layers, int n_heads, int head_dim);
  Tensor& s(int layer) { return s_[layer]; }
  std::unique_ptr<SequenceState> fork() const override;
  size_t bytes() const override;

 private:
  Backend& backend_;
  std::vector<Tensor> s_;
};

}  // namespace supra
