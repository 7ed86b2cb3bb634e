#pragma once
// Command-line options shared by every command that runs a model (--model, --tokenizer, --device, --threads,
// --form, --chunk), and the loading they imply.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

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

  // Adds the options to a subcommand. `model_required` false for commands that can run without a file (bench).
  void add_to(CLI::App& app, bool model_required = true);
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

// "1,2, 3" or "1 2 3" -> ints; error naming the option on a bad entry.
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& option);
// Token ids given on the command line; each must lie in [0, vocab_size) (the model reads its embedding row).
std::vector<int32_t> parse_token_ids(const std::string& s, const std::string& option, int vocab_size);

}  // namespace supra
