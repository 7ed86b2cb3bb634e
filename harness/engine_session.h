#pragma once
// What every command that runs a model chooses (model, tokenizer, device, threads, SUPRA form and chunk), and the
// loading it implies: a checkpoint, its backend and model, its tokenizer. The flags are cli/engine_options.h.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "engine/model.h"
#include "engine/tokenizer.h"

namespace supra {

struct EngineOptions {
  std::string model;      // llama2.c file or checkpoint folder
  std::string tokenizer;  // sentencepiece .model or llama2.c tokenizer.bin; default: the one beside the weights
  std::string device = "cpu";
  std::string form = "chunked";
  int chunk = 64;
  int threads = 0;  // 0: every core
  std::string gpu_dtype = "bf16";
  std::string cpu_dtype = "f32";  // CPU GEMM compute: f32 or bf16 (make_cpu_backend)
  std::string kv_dtype;  // softmax KV-cache storage; "": f32 on the CPU, bf16 on CUDA

  ModelOptions model_options() const;
  std::unique_ptr<Backend> make_backend() const;
};

// A loaded checkpoint, its backend and model, and the tokenizer when one was found.
struct EngineSession {
  Checkpoint ckpt;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Model> model;
  std::unique_ptr<Tokenizer> tokenizer;

  // Requires a tokenizer: error naming the checkpoint when none was found.
  const Tokenizer& require_tokenizer() const;
};

EngineSession open_session(const EngineOptions& o);
// Same, from a checkpoint already in memory (bench on random weights).
EngineSession open_session(const EngineOptions& o, Checkpoint ckpt);

}  // namespace supra
