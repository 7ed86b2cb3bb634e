#pragma once
// Command-line flags shared by every command that runs a model (--model, --tokenizer, --device, --threads, --form,
// --chunk, --gpu-dtype), and list parsing for numeric flags.
#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "harness/engine_session.h"

namespace supra {

// Adds the flags to a subcommand, bound to `o`. `model_required` false for commands that can run without a file
// (bench on a named shape).
void add_engine_options(CLI::App& app, EngineOptions& o, bool model_required = true);

// An integer option's range, with a message a person can read ("--shots: -5 is not an integer in 0..1024"; CLI11's
// own Range prints "not in range 0.000000 to 1797693...").
CLI::Validator int_in(int64_t lo, int64_t hi);

// "1,2, 3" or "1 2 3" -> ints; error naming the option on a bad entry.
std::vector<int64_t> parse_int_list(const std::string& s, const std::string& option);
// Token ids given on the command line; each must lie in [0, vocab_size) (the model reads its embedding row).
std::vector<int32_t> parse_token_ids(const std::string& s, const std::string& option, int vocab_size);

}  // namespace supra
