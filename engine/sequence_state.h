#pragma once
// Per-sequence memory, one interface for both attention modes (llama.cpp's idea of a memory shared by the KV cache
// and the recurrent state): the model appends to it, callers snapshot it with fork() so a shared context is
// computed once and every continuation goes on from a copy. The model reaches the concrete state through the
// checked kv_cache() / supra_state(), which fail (instead of undefined behaviour) on a state of the other mode.
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/backend.h"

namespace supra {

class KVCache;
class SupraState;

class SequenceState {
 public:
  virtual ~SequenceState() = default;
  // Tokens already consumed; the next token sits at this position.
  int64_t n_past() const { return n_past_; }
  void advance(int64_t n) { n_past_ += n; }
  virtual std::unique_ptr<SequenceState> fork() const = 0;
  // A copy that holds only the first n tokens (0 <= n <= n_past), or nullptr when this kind of state cannot forget
  // tokens (a SUPRA state has summed every token into one matrix). The completions server's prefix cache uses it to
  // go on from the part a new prompt shares with an earlier one.
  virtual std::unique_ptr<SequenceState> fork_prefix(int64_t n) const {
    (void)n;
    return nullptr;
  }
  // Bytes of device memory this state holds.
  virtual size_t bytes() const = 0;
  // The attention mode this state serves.
  virtual AttentionMode mode() const = 0;
  // This state as the memory of the given mode; an error naming both modes when it is the other kind (a state
  // made by another model).
  KVCache& kv_cache();
  SupraState& supra_state();

 protected:
  int64_t n_past_ = 0;
};

// Softmax mode: per layer K and V rows [capacity, Hkv*d], fp32. Rows [0, n_past) are valid.
class KVCache final : public SequenceState {
 public:
  // Rows [0, n_past + n) of one layer's keys and values: the cache so far and the n rows just appended.
  struct LayerView {
    Tensor k, v;  // [n_past + n, Hkv*d]
  };

  KVCache(Backend& backend, int n_layers, int kv_dim);
  // Writes the keys and values k, v [n, Hkv*d] of n new tokens of `layer` at rows [n_past, n_past + n), growing
  // the cache first when needed, and returns the layer's view. One forward appends the same n rows to every
  // layer before advance(n); only its first append grows.
  LayerView append(int layer, const Tensor& k, const Tensor& v);
  std::unique_ptr<SequenceState> fork() const override;
  std::unique_ptr<SequenceState> fork_prefix(int64_t n) const override;  // rows [0, n)
  size_t bytes() const override;
  AttentionMode mode() const override { return AttentionMode::Softmax; }

 private:
  // Makes room for `rows` rows in every layer, keeping the valid ones. Grows by at least a quarter (amortised
  // O(1) copies) rather than doubling, so a fork of a long context that starts decoding stays near its size.
  void reserve(int64_t rows);

  Backend& backend_;
  int kv_dim_;
  int64_t capacity_ = 0;
  std::vector<Tensor> k_, v_;
};

// SUPRA mode: per layer S [H, d, d], fp32, whatever the context length.
class SupraState final : public SequenceState {
 public:
  SupraState(Backend& backend, int n_layers, int n_heads, int head_dim);
  // Layer `layer`'s state S [H, d, d], read and updated in place by the SUPRA attention.
  Tensor& layer(int i) { return s_.at(size_t(i)); }
  std::unique_ptr<SequenceState> fork() const override;
  size_t bytes() const override;
  AttentionMode mode() const override { return AttentionMode::Supra; }

 private:
  Backend& backend_;
  std::vector<Tensor> s_;
};

}  // namespace supra
