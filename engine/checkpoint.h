#pragma once
// Loading a model from disk (or making one from nothing) into a ModelConfig + ModelWeights on the host.
// Formats: llama2.c v0 `.bin`, HF Llama/Mistral safetensors folder (single or sharded), open_lm folder
// (SUPRA linear_attn or softmax torch_attn/xformers_attn). See SUPRA.md section 4 for the names.
#include <cstdint>
#include <optional>
#include <string>

#include "engine/model_config.h"
#include "engine/weights.h"

namespace supra {

struct Checkpoint {
  ModelConfig config;
  ModelWeights weights;     // host tensors: mmapped views or owned buffers
  std::string path;         // what the user named (file or folder)
  std::string tokenizer;    // sentencepiece .model or llama2.c tokenizer.bin, found beside or given; empty: none
  std::string fingerprint;  // sha256 of the weight files' bytes (hex), filled by checkpoint_sha256()
};

struct LoadOptions {
  std::string tokenizer;  // explicit tokenizer path; overrides the one found beside the weights
};

// Detects the format of `path` (a llama2.c file, or a folder with config.json / open_lm config) and loads it.
Checkpoint load_checkpoint(const std::string& path, const LoadOptions& opts = {});

Checkpoint load_llama2c(const std::string& file);
Checkpoint load_hf(const std::string& dir);
Checkpoint load_open_lm(const std::string& dir);

// A named shape (llama2-7b, mistral-7b, stories260K, ...) for random-weight benchmarks.
ModelConfig named_shape(const std::string& name);
// Random weights (near-normal: a sum of 4 uniforms scaled to std 0.02; norms 1) of the config's shape in `dtype`; speed does not depend on the
// values. Seeded, so the same call gives the same weights.
Checkpoint random_checkpoint(const ModelConfig& config, DType dtype, uint64_t seed);

// Turns a softmax model into a SUPRA one (SUPRA.md section 4): every pretrained weight kept, feature-map weights
// and biases initialised like torch.nn.Linear (U(-1/sqrt(fan_in), 1/sqrt(fan_in))), seeded; ALiBi decay slopes
// unless `slopes` says otherwise; rotate-half RoPE as open_lm uses.
void add_supra_feature_maps(Checkpoint& ckpt, uint64_t seed, DecaySlopes slopes = DecaySlopes::Alibi);

// sha256 (hex) over the checkpoint's files in a fixed order; cached in ckpt.fingerprint.
std::string checkpoint_sha256(Checkpoint& ckpt);

}  // namespace supra
