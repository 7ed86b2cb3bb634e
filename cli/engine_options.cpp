#include "cli/engine_options.h"

#include <sstream>

#include "core/error.h"
#include "engine/model.h"

namespace supra {

CLI::Validator int_in(int64_t lo, int64_t hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        size_t used = 0;
        long long v = 0;
        try {
          v = std::stoll(s, &used);
        } catch (...) {
          used = 0;
        }
        if (s.empty() || used != s.size() || v < lo || v > hi)
          return fmt::format("'{}' is not an integer in {}..{}", s, lo, hi);
        return "";
      },
      fmt::format("INT in {}..{}", lo, hi));
}

void add_engine_options(CLI::App& app, EngineOptions& o, bool model_required) {
  auto* m = app.add_option("--model", o.model, "llama2.c .bin file, or a folder with an HF or open_lm checkpoint");
  if (model_required) m->required();
  app.add_option("--tokenizer", o.tokenizer,
                 "sentencepiece .model or llama2.c tokenizer.bin (default: the one beside the weights)");
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--form", o.form, "SUPRA form for prefill and scoring: parallel, chunked or recurrent")
      ->check(CLI::IsMember({"parallel", "chunked", "recurrent"}));
  app.add_option("--chunk", o.chunk, "SUPRA chunk length of the chunked form")->check(int_in(1, kMaxChunk));
  app.add_option("--threads", o.threads, "CPU threads (0: every core)")->check(int_in(0, 4096));
  app.add_option("--gpu-dtype", o.gpu_dtype, "weight dtype on the GPU: bf16, f16 or f32")
      ->check(CLI::IsMember({"bf16", "f16", "f32"}));
  app.add_option("--cpu-dtype", o.cpu_dtype,
                 "CPU GEMM compute: f32, or bf16 (weights kept in bf16, activations rounded to bf16 at each GEMM "
                 "input, fp32 accumulation; in the run key)")
      ->check(CLI::IsMember({"f32", "bf16"}));
  app.add_option("--kv-dtype", o.kv_dtype,
                 "softmax KV-cache storage: f32, f16 or bf16 (default: f32 on cpu, bf16 on cuda; in the run key)")
      ->check(CLI::IsMember({"bf16", "f16", "f32"}));
}

std::vector<int64_t> parse_int_list(const std::string& s, const std::string& option) {
  std::vector<int64_t> out;
  std::string item;
  std::string norm = s;
  for (char& c : norm)
    if (c == ',') c = ' ';
  std::istringstream in(norm);
  while (in >> item) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    if (used != item.size()) fail("{}: '{}' is not an integer (expected a list like 128,512,2048)", option, item);
    out.push_back(v);
  }
  if (out.empty()) fail("{}: expected at least one integer", option);
  return out;
}

std::vector<int32_t> parse_token_ids(const std::string& s, const std::string& option, int vocab_size) {
  std::vector<int32_t> ids;
  for (const int64_t v : parse_int_list(s, option)) {
    if (v < 0 || v >= vocab_size)
      fail("{}: token id {} is outside the model's vocabulary (0..{})", option, v, vocab_size - 1);
    ids.push_back(int32_t(v));
  }
  return ids;
}

}  // namespace supra
