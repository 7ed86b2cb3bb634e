#pragma once
// The decoder forward pass, written once against the Backend ops, for both attention modes (SUPRA.md 1-2).
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/sequence_state.h"

namespace supra {

struct ModelOptions {
  SupraForm form = SupraForm::Chunked;  // SUPRA prefill/scoring form; one-token steps always use the recurrence
  int chunk = 64;                       // SUPRA chunk length of the chunked form, 1..kMaxChunk
  DType kv_dtype = DType::F32;          // softmax KV cache storage: F32, F16 or BF16 (attention computes in fp32)
};
// The chunked form holds a chunk x chunk block per thread: past this it is no longer the cheap form.
inline constexpr int kMaxChunk = 1 << 14;

// One sequence's share of a batched forward: its state and the tokens to append to it.
struct SeqInput {
  SequenceState* state;
  std::span<const int32_t> tokens;
};

class Model {
 public:
  // Uploads the weights to the backend once: the CPU backend packs every matmul weight for its GEMM and keeps views
  // of the rest (embedding table, norms); CUDA copies them to the device.
  Model(const Checkpoint& ckpt, Backend& backend, ModelOptions opts = {});
  // The same, emptying each of `ckpt`'s host weights once the backend has its own copy, so loading never holds two
  // full copies (a 7B model in bf16 is 13.5 GB: twice that does not fit a 24 GiB machine). The caller keeps the
  // config, path and tokenizer; the checkpoint's weights are no longer usable.
  struct ReleaseHostWeights {};
  Model(Checkpoint& ckpt, Backend& backend, ModelOptions opts, ReleaseHostWeights);
  ~Model();
  const ModelConfig& config() const { return cfg_; }
  Backend& backend() { return backend_; }
  const ModelOptions& options() const { return opts_; }
  void set_options(const ModelOptions& o) { opts_ = o; }

  std::unique_ptr<SequenceState> new_state();
  // Bytes a state of this model holds once it has room for `tokens` tokens (reserve_tokens): KV cache rows in whole
  // blocks of 16 in the KV dtype; a SUPRA state's size whatever the length.
  size_t state_bytes(int64_t tokens) const;
  // Appends each sequence's tokens to its state. `hidden`, when given, receives the final RMSNormed hidden states
  // [sum of tokens, D] in input order (allocated here when empty or too small).
  void forward(std::span<const SeqInput> batch, Tensor* hidden);
  // logits[n, V] = hidden[n, D] . W_out^T (fp32).
  void logits(const Tensor& hidden, Tensor& out);
  // Bytes of the matrices the backend keeps (packed in its compute dtype, or on the device in its dtype): what one
  // decode step streams.
  size_t matrix_bytes() const { return matrix_bytes_; }

 private:
  struct Workspace;
  void load(const Checkpoint& ckpt, ModelWeights* release);
  void ensure_workspace(int64_t rows);
  void attention_block(int layer, std::span<const SeqInput> batch, const Tensor& xn, Tensor& out);

  ModelConfig cfg_;
  Backend& backend_;
  ModelOptions opts_;
  ModelWeights w_;  // on the backend's device; wq/wk/wv/w_gate/w_up left empty (fused_ has them)
  struct Fused {
    Tensor wqkv;       // [Q + 2 KV, D]: wq, wk, wv stacked
    Tensor w_gate_up;  // [2F, D]: w_gate, w_up stacked
  };
  std::vector<Fused> fused_;  // per layer
  std::vector<int64_t> qkv_parts_, gate_up_parts_;
  size_t matrix_bytes_ = 0;
  std::unique_ptr<Workspace> ws_;
  std::shared_ptr<KVCache::Scratch> kv_scratch_;  // fp32 rows of one layer for attention, shared by the states
};

}  // namespace supra
