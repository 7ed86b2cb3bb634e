#pragma once
// The training loop: packed batches in a seeded order, forward + backward, global grad-norm clipping, AdamW with
// warm-up + cosine lr, validation perplexity every N steps, and checkpoints (the model as an open_lm folder for
// the engine, plus the optimizer state and data position) from which a resumed run continues bit-identically.
// CPU with BLAS; the model, optimizer and loop are separate so a CUDA model can replace TrainableModel later.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "train/adamw.h"
#include "train/data.h"
#include "train/schedule.h"
#include "train/trainable_model.h"

namespace supra::train {

struct TrainOptions {
  int seq = 512;  // tokens per packed sequence (targets per row)
  int batch = 8;  // sequences per step
  int64_t steps = 0;
  double lr_max = 3e-4, lr_min = 1e-5;
  int64_t warmup = 0;
  uint64_t seed = 0;  // data order
  double clip = 1.0;  // max global grad norm (<= 0: no clipping)
  AdamWOptions adam;
  int chunk = 64;  // SUPRA chunk length
  // Do not change the numbers of the model (not part of the resume check):
  int64_t eval_every = 0;   // 0: only at the end
  int64_t save_every = 0;   // 0: only at the end
  int64_t val_batches = 0;  // batches of validation sequences per evaluation (0: all of them)

  // Everything above, for the store and the checkpoint.
  nlohmann::json to_json() const;
  // The part that changes the trained numbers; a resume must match it exactly.
  nlohmann::json numbers_json() const;
};

struct LogRow {
  int64_t step = 0;    // 1-based: the update just made
  int64_t tokens = 0;  // training tokens (targets) consumed so far
  double lr = 0, loss = 0, grad_norm = 0;  // grad_norm before clipping
  std::optional<double> val_loss;          // mean validation cross-entropy; perplexity = exp(val_loss)
  double seconds = 0;                      // wall time of this step (evaluation excluded)
};

class Trainer {
 public:
  // `val` may be null (no validation).
  Trainer(const Checkpoint& base, TrainOptions opts, const PackedData& train, const PackedData* val);
  // Continues from a state written by save(): same options (numbers_json) and parameter count, else an error.
  void resume(const std::string& out_dir);
  int64_t step() const { return step_; }
  int64_t tokens() const { return tokens_; }
  // Trains up to step `until` (<= steps). Saves into out_dir every save_every steps and at `until` (when out_dir
  // is non-empty); `tokenizer` (may be empty) is copied beside the saved model.
  void run(int64_t until, const std::function<void(const LogRow&)>& on_log, const std::string& out_dir,
           const std::string& tokenizer = "");
  // Mean cross-entropy over the validation sequences (val_batches batches of `batch`).
  double evaluate();
  // Writes out_dir/model.safetensors + config.json (open_lm, fp32) and out_dir/train_state/state.safetensors.
  void save(const std::string& out_dir, const std::string& tokenizer = "") const;
  TrainableModel<float>& model() { return model_; }
  const TrainOptions& options() const { return opts_; }

 private:
  TrainOptions opts_;
  const PackedData& train_;
  const PackedData* val_;
  TrainableModel<float> model_;
  AdamW adam_;
  Schedule sched_;
  PackedData::Cursor cursor_;
  int64_t step_ = 0, tokens_ = 0;
  std::vector<int32_t> batch_;
};

}  // namespace supra::train
