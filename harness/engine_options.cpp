#include "harness/engine_options.h"

#include <filesystem>
#include <sstream>
#include <thread>

#include "engine/error.h"

namespace supra {

void EngineOptions::add_to(CLI::App& app, bool model_required) {
  auto* m = app.add_option("--model", model, "llama2.c .bin file, or a folder with an HF or open_lm checkpoint");
  if (model_required) m->required();
  app.add_option("--tokenizer", tokenizer,
                 "sentencepiece .model or llama2.c tokenizer.bin (default: the one beside the weights)");
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--form", form, "SUPRA form for prefill and scoring: parallel, chunked or recurrent")
      ->check(CLI::IsMember({"parallel", "chunked", "recurrent"}));
  app.add_option("--chunk", chunk, "SUPRA chunk length of the chunked form")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "CPU threads (0: every core)")->check(CLI::NonNegativeNumber);
  app.add_option("--gpu-dtype", gpu_dtype, "weight dtype on the GPU: bf16, f16 or f32")
      ->check(CLI::IsMember({"bf16", "f16", "f32"}));
}

ModelOptions EngineOptions::model_options() const {
  ModelOptions mo;
  mo.form = parse_form(form);
  mo.chunk = chunk;
  return mo;
}

std::unique_ptr<Backend> EngineOptions::make_backend() const {
  if (device == "cpu") {
    const int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    return make_cpu_backend(n);
  }
  std::string why;
  auto b = make_cuda_backend(parse_dtype(gpu_dtype), &why);
  if (!b) fail("--device cuda: {}", why);
  return b;
}

const Tokenizer& EngineSession::require_tokenizer() const {
  if (!tokenizer)
    fail("{}: no tokenizer found beside the weights (looked for tokenizer.model or one tok*.model, and for a "
         "llama2.c .bin also tokenizer.bin or one tok*.bin); give one with --tokenizer, or pass token ids",
         ckpt.path);
  return *tokenizer;
}

EngineSession open_session(const EngineOptions& o, Checkpoint ckpt) {
  EngineSession s;
  s.ckpt = std::move(ckpt);
  if (!o.tokenizer.empty()) s.ckpt.tokenizer = o.tokenizer;
  if (!s.ckpt.tokenizer.empty()) {
    s.tokenizer = std::make_unique<Tokenizer>(s.ckpt.tokenizer);
    if (s.tokenizer->vocab_size() > s.ckpt.config.vocab_size)
      fail("{}: tokenizer {} has {} pieces but the model's vocabulary is {}", s.ckpt.path, s.ckpt.tokenizer,
           s.tokenizer->vocab_size(), s.ckpt.config.vocab_size);
  }
  s.backend = o.make_backend();
  s.model = std::make_unique<Model>(s.ckpt, *s.backend, o.model_options());
  return s;
}

EngineSession open_session(const EngineOptions& o) {
  LoadOptions lo;
  lo.tokenizer = o.tokenizer;
  return open_session(o, load_checkpoint(o.model, lo));
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
