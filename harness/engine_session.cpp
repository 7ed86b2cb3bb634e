#include "harness/engine_session.h"

#include <filesystem>
#include <thread>

#include "core/error.h"

namespace supra {

ModelOptions EngineOptions::model_options() const {
  ModelOptions mo;
  mo.form = parse_form(form);
  mo.chunk = chunk;
  mo.kv_dtype = !kv_dtype.empty() ? parse_dtype(kv_dtype) : device == "cuda" ? DType::BF16 : DType::F32;
  return mo;
}

std::unique_ptr<Backend> EngineOptions::make_backend() const {
  if (device == "cpu") {
    const int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    return make_cpu_backend(n, parse_dtype(cpu_dtype));
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
  // The session keeps the checkpoint's config, path and tokenizer; its host weights go once the backend has them.
  s.model = std::make_unique<Model>(s.ckpt, *s.backend, o.model_options(), Model::ReleaseHostWeights{});
  return s;
}

EngineSession open_session(const EngineOptions& o) {
  LoadOptions lo;
  lo.tokenizer = o.tokenizer;
  return open_session(o, load_checkpoint(o.model, lo));
}

}  // namespace supra
