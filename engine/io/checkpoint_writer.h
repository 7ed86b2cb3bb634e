#pragma once
// Writing a Checkpoint back to disk in each format the loaders read, so conversions (`supra-eval convert`) and
// test fixtures round-trip: load(save(x)) computes the same model as x. Q/K rows are re-ordered when the target
// format's RoPE pairing differs from the checkpoint's (checkpoint_io.h, with_rope_pairing). A value the target
// format cannot express (e.g. a sliding window in llama2.c) is an error, never dropped.
#include <string>

#include "engine/checkpoint.h"

namespace supra {

// llama2.c legacy v0 `.bin`, fp32 (weights of other dtypes are widened). Softmax models only.
void save_llama2c(const Checkpoint& ckpt, const std::string& file);
// HF Llama/Mistral folder: config.json + model.safetensors, or (sharded) two shards and
// model.safetensors.index.json. Softmax models only.
void save_hf(const Checkpoint& ckpt, const std::string& dir, DType dtype, bool sharded = false);
// open_lm folder: config.json with every key load_open_lm needs (decay_slopes included for SUPRA) and
// model.safetensors with open_lm names (stacked in_proj and w12).
void save_open_lm(const Checkpoint& ckpt, const std::string& dir, DType dtype);

}  // namespace supra
