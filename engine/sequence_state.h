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
  // A state of its own with the same content, sharing nothing (independent sequences that will each decode many
  // tokens, as `bench` measures them). SUPRA: the same as fork().
  virtual std::unique_ptr<SequenceState> copy() const { return fork(); }
  // Makes room for `tokens` tokens in all (n_past included) at once, so a state whose length is known up front is
  // allocated once at its final size (the scorer's memory budget counts exactly that). SUPRA: nothing to do.
  virtual void reserve_tokens(int64_t tokens) { (void)tokens; }
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

// Softmax mode: per layer K and V rows [.., Hkv*d] stored in the cache's dtype (f32, f16 or bf16). Rows
// [0, n_past) are valid. They live in blocks: the blocks this cache shares with the cache it was forked from (read
// only, kept alive by reference counts) and its own tail, where it appends. fork() copies no row: the child shares
// every block of the parent (the parent's tail up to its n_past too; the parent only ever writes past that) and
// starts an empty tail of its own, so a context shared by the choices of a request is stored once (llama.cpp shares
// cache cells between sequences the same way).
class KVCache final : public SequenceState {
 public:
  // Rows [0, n_past + n) of one layer's keys and values, fp32: the cache so far and the n rows just appended.
  struct LayerView {
    Tensor k, v;  // [n_past + n, Hkv*d]
  };
  // Where a layer's rows are gathered (and widened to fp32) for attention when they cannot be read in place (16-bit
  // storage, or rows in several blocks): one per model, reused layer after layer and sequence after sequence.
  struct Scratch {
    Tensor k, v;  // [>= rows, Hkv*d] fp32
  };

  KVCache(Backend& backend, int n_layers, int kv_dim, DType dtype = DType::F32,
          std::shared_ptr<Scratch> scratch = nullptr);
  // Writes the keys and values k, v [n, Hkv*d] (fp32) of n new tokens of `layer` at rows [n_past, n_past + n),
  // growing the tail first when needed, and returns the layer's view. One forward appends the same n rows to every
  // layer before advance(n); only its first append grows.
  LayerView append(int layer, const Tensor& k, const Tensor& v);
  std::unique_ptr<SequenceState> fork() const override;
  std::unique_ptr<SequenceState> fork_prefix(int64_t n) const override;  // rows [0, n)
  std::unique_ptr<SequenceState> copy() const override;
  void reserve_tokens(int64_t tokens) override { reserve(tokens); }
  // Every block this cache holds, shared ones included.
  size_t bytes() const override;
  // Its own tail only: what a fork adds to the memory of its parent.
  size_t own_bytes() const;
  DType dtype() const { return dtype_; }
  AttentionMode mode() const override { return AttentionMode::Softmax; }
  // Bytes of a cache of `rows` rows (one block, as allocated: whole blocks of 16 rows).
  static size_t bytes_for(int n_layers, int kv_dim, DType dtype, int64_t rows);

 private:
  struct Block {
    std::vector<Tensor> k, v;  // per layer [capacity, Hkv*d]
    int64_t capacity = 0;
  };
  struct Shared {
    std::shared_ptr<const Block> block;
    int64_t rows = 0;  // valid rows of the block for this cache
  };
  // Makes room for `rows` rows in the tail, keeping its valid ones. Grows by at least a quarter (amortised O(1)
  // copies) rather than doubling, so a cache of a long context that starts decoding stays near its size.
  void reserve(int64_t rows);
  int64_t shared_rows() const;

  Backend& backend_;
  int n_layers_, kv_dim_;
  DType dtype_;
  std::shared_ptr<Scratch> scratch_;
  std::vector<Shared> shared_;   // rows [0, shared_rows()), in order
  std::shared_ptr<Block> tail_;  // rows [shared_rows(), n_past)
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
