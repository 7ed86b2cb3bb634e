// Writes a softmax Checkpoint as a llama2.c legacy v0 `.bin` (fp32), readable by load_llama2c and by run.c.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "core/error.h"

namespace supra {

void save_llama2c(const Checkpoint& in, const std::string& file) {
  const ModelConfig& c0 = in.config;
  // The format fixes these; a model with other values cannot be written without changing its numbers.
  if (c0.attention != AttentionMode::Softmax) fail("save_llama2c {}: llama2.c has no SUPRA attention", file);
  if (c0.sliding_window) fail("save_llama2c {}: llama2.c has no sliding window (model has {})", file, *c0.sliding_window);
  if (c0.norm_eps != 1e-5f) fail("save_llama2c {}: llama2.c fixes norm eps at 1e-5, model has {}", file, c0.norm_eps);
  if (c0.rope_theta != 10000.f)
    fail("save_llama2c {}: llama2.c fixes rope theta at 10000, model has {}", file, c0.rope_theta);
  if (c0.head_dim * c0.n_heads != c0.dim)
    fail("save_llama2c {}: llama2.c needs head_dim * n_heads == dim ({} * {} != {})", file, c0.head_dim,
         c0.n_heads, c0.dim);
  const Checkpoint ck = with_rope_pairing(in, RopePairing::Interleaved);  // run.c rotates (2i, 2i+1) pairs
  const ModelConfig& c = ck.config;
  c.validate(file);

  // Written beside the target and renamed at the end, so a mapping of the old file stays valid.
  const std::string tmp = file + ".tmp";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(tmp.c_str(), "wb"), &std::fclose);
  if (!f) fail("{}: cannot create: {}", tmp, std::strerror(errno));
  auto put = [&](const void* d, size_t n) {
    if (n && std::fwrite(d, 1, n, f.get()) != n) fail("{}: write failed: {}", file, std::strerror(errno));
  };
  auto put_f32 = [&](const Tensor& t) {
    const Tensor x = to_dtype(t, DType::F32);
    put(x.data, x.nbytes());
  };
  const int32_t header[7] = {c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads,
                             c.tie_embeddings ? c.vocab_size : -c.vocab_size, c.train_ctx};
  put(header, sizeof header);
  const ModelWeights& w = ck.weights;
  put_f32(w.tok_embeddings);
  for (Tensor LayerWeights::*field :
       {&LayerWeights::attn_norm, &LayerWeights::wq, &LayerWeights::wk, &LayerWeights::wv, &LayerWeights::wo,
        &LayerWeights::ffn_norm, &LayerWeights::w_gate, &LayerWeights::w_down, &LayerWeights::w_up})
    for (const auto& L : w.layers) put_f32(L.*field);
  put_f32(w.final_norm);
  // Legacy freq_cis tables (cos, then sin), as llama2.c's export writes them; loaders skip them.
  const int half = c.head_dim / 2;
  std::vector<float> re(size_t(c.train_ctx) * half), im(re.size());
  for (int t = 0; t < c.train_ctx; t++)
    for (int i = 0; i < half; i++) {
      const double freq = std::pow(double(c.rope_theta), -2.0 * i / c.head_dim);
      re[size_t(t) * half + i] = float(std::cos(t * freq));
      im[size_t(t) * half + i] = float(std::sin(t * freq));
    }
  put(re.data(), re.size() * 4);
  put(im.data(), im.size() * 4);
  if (!c.tie_embeddings) put_f32(w.output);
  if (std::fclose(f.release()) != 0) fail("{}: write failed: {}", tmp, std::strerror(errno));
  if (std::rename(tmp.c_str(), file.c_str()) != 0)
    fail("{}: cannot rename {} into place: {}", file, tmp, std::strerror(errno));
}

}  // namespace supra
