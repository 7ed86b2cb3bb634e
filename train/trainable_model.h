#pragma once
// The decoder of the engine (SUPRA.md sections 1-2, either attention mode) as a trainable model: every parameter
// in one flat buffer with a gradient buffer of the same layout, a straight-line forward over packed sequences that
// saves what the backward needs, and the backward layer by layer. T = float for training, double for the
// gradient checks. It computes the same function as supra::Model (tests hold the logits of both to each other)
// in the checkpoint's own RoPE pairing; sliding windows are not supported (an error).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/checkpoint.h"

namespace supra::train {

struct ParamInfo {
  std::string name;  // the engine's weight names (engine/weights.h): tok_embeddings, layers.{i}.wq, ..., output
  size_t offset = 0;
  std::vector<int64_t> shape;
  bool decay = false;  // AdamW weight decay applies (matrices; not norms or biases)
  size_t numel() const {
    size_t n = 1;
    for (auto s : shape) n *= size_t(s);
    return n;
  }
};

template <class T>
class TrainableModel {
 public:
  // Copies (and widens) the checkpoint's weights. `chunk`: SUPRA chunk length of the chunked form.
  TrainableModel(const Checkpoint& ckpt, int chunk);
  ~TrainableModel();
  TrainableModel(const TrainableModel&) = delete;
  TrainableModel& operator=(const TrainableModel&) = delete;

  const ModelConfig& config() const { return cfg_; }
  int chunk() const { return chunk_; }
  std::vector<T>& params() { return params_; }
  std::vector<T>& grads() { return grads_; }
  const std::vector<ParamInfo>& param_info() const { return info_; }

  // tokens [B, L+1]: each row is one packed sequence; inputs are columns 0..L-1, targets 1..L. Positions start at
  // 0 in every row and every row starts from an empty state. Returns the mean cross-entropy over B*L targets.
  // With `backward`, the gradients of that mean are ADDED to grads() (zero them first with zero_grads()).
  double step(const int32_t* tokens, int B, int L, bool backward);
  void zero_grads();
  // Logits [B*L, V] of the last step() (for tests).
  const std::vector<T>& last_logits() const;

  // The current weights as an engine checkpoint (fp32 host tensors), config unchanged.
  Checkpoint to_checkpoint() const;

 private:
  struct Acts;
  void forward(const int32_t* tokens, int B, int L);
  void backward(const int32_t* tokens, int B, int L);
  T* P(size_t off) { return params_.data() + off; }
  T* G(size_t off) { return grads_.data() + off; }

  ModelConfig cfg_;
  int chunk_;
  std::vector<T> params_, grads_;
  std::vector<ParamInfo> info_;
  // Offsets into params_/grads_ in the engine's weight layout. Aliases: output == tok_embeddings when tied, and
  // phi_k_* == phi_q_* when H == Hkv (k uses Aq, bq): both uses add into one gradient.
  ModelOf<size_t> off_{};
  Acts* acts_;
};

extern template class TrainableModel<float>;
extern template class TrainableModel<double>;

}  // namespace supra::train
