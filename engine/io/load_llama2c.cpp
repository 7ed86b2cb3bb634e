// llama2.c legacy (v0) checkpoint: a 7 x int32 header, then fp32 arrays back to back (SUPRA.md section 4).
// The file is mmapped and every weight is a view into it.
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace supra {

namespace {

// llama2.c's own tokenizer beside the weights, for when there is no sentencepiece .model there (that one wins, so
// results made with it stay the same): `tokenizer.bin`, else the only `tok*.bin` (llama2.c names custom
// vocabularies tok<N>.bin) other than the weights file; empty when there is none or more than one.
std::string find_llama2c_tokenizer(const std::string& weights) {
  namespace fs = std::filesystem;
  const fs::path w(weights);
  const fs::path dir = w.parent_path().empty() ? fs::path(".") : w.parent_path();
  std::error_code ec;
  if (fs::is_regular_file(dir / "tokenizer.bin", ec) && !fs::equivalent(dir / "tokenizer.bin", w, ec))
    return (dir / "tokenizer.bin").string();
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file(ec) && name.rfind("tok", 0) == 0 && e.path().extension() == ".bin" &&
        !fs::equivalent(e.path(), w, ec))
      found.push_back(e.path().string());
  }
  return found.size() == 1 ? found[0] : std::string();
}

}  // namespace

Checkpoint load_llama2c(const std::string& file) {
  MappedFile m = map_file(file);
  constexpr size_t kHeader = 7 * sizeof(int32_t);
  if (m.size < kHeader)
    fail("{}: {} bytes, shorter than the {}-byte llama2.c header", file, m.size, kHeader);
  int32_t h[7];
  std::memcpy(h, m.data, kHeader);
  // Version 1/2 exports start with the magic "ak42"; only the legacy layout is supported.
  if (uint32_t(h[0]) == 0x616b3432u)
    fail("{}: a llama2.c version-1/2 export (magic 'ak42'); expected the legacy v0 format (export --version 0)",
         file);
  const int dim = h[0], hidden = h[1], n_layers = h[2], n_heads = h[3], n_kv = h[4], seq_len = h[6];
  const bool shared = h[5] > 0;  // negative vocab size: the classifier is stored separately
  const int vocab = shared ? h[5] : -h[5];
  if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv <= 0 || vocab <= 0 || seq_len <= 0 ||
      dim % n_heads != 0 || n_heads % n_kv != 0)
    fail("{}: not a llama2.c v0 header (dim={}, hidden_dim={}, n_layers={}, n_heads={}, n_kv_heads={}, "
         "vocab_size={}, seq_len={})",
         file, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
  const int64_t D = dim, F = hidden, L = n_layers, V = vocab, hd = dim / n_heads;
  const int64_t Q = n_heads * hd, KV = n_kv * hd;

  // Element counts in file order; the two freq_cis tables are legacy and skipped.
  const int64_t counts[] = {V * D,     L * D, L * Q * D, L * KV * D, L * KV * D, L * D * Q, L * D,
                            L * F * D, L * D * F, L * F * D, D, seq_len * hd / 2, seq_len * hd / 2,
                            shared ? 0 : V * D};
  uint64_t expected = kHeader;
  for (int64_t c : counts) expected += uint64_t(c) * sizeof(float);
  if (m.size != expected)
    fail("{}: llama2.c checkpoint is {} bytes but its header (dim={}, hidden_dim={}, n_layers={}, n_heads={}, "
         "n_kv_heads={}, vocab_size={}, seq_len={}) needs exactly {} bytes: {}",
         file, m.size, h[0], h[1], h[2], h[3], h[4], h[5], h[6], expected,
         m.size < expected ? "the file is truncated" : "trailing bytes (not a legacy v0 file?)");

  size_t off = kHeader;
  auto next = [&](std::vector<int64_t> shape) {
    Tensor t;
    t.dtype = DType::F32;
    t.shape = std::move(shape);
    t.data = m.data + off;
    t.owner = m.owner;
    off += t.nbytes();
    return t;
  };

  Checkpoint ck;
  ck.path = file;
  ModelConfig& c = ck.config;
  c.source_format = "llama2c";
  c.architecture = "llama";
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = n_layers;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv;
  c.head_dim = int(hd);
  c.vocab_size = vocab;
  c.train_ctx = seq_len;
  // Fixed by the format (run.c hard-codes them); sentencepiece ids of the Llama tokenizers.
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.f;
  c.rope_pairing = RopePairing::Interleaved;
  c.tie_embeddings = shared;
  c.bos_id = 1;
  c.eos_id = 2;
  c.weight_dtype = DType::F32;

  ModelWeights& w = ck.weights;
  w.layers.resize(n_layers);
  w.tok_embeddings = next({V, D});
  // Each per-layer array is [L, rows, cols]: view it whole, then take layer l's slice.
  auto per_layer = [&](std::vector<int64_t> shape, Tensor LayerWeights::*field) {
    std::vector<int64_t> s = {L};
    s.insert(s.end(), shape.begin(), shape.end());
    Tensor all = next(s);
    for (int l = 0; l < n_layers; l++) w.layers[l].*field = all.slice_rows(l, l + 1).reshaped(shape);
  };
  per_layer({D}, &LayerWeights::attn_norm);
  per_layer({Q, D}, &LayerWeights::wq);
  per_layer({KV, D}, &LayerWeights::wk);
  per_layer({KV, D}, &LayerWeights::wv);
  per_layer({D, Q}, &LayerWeights::wo);
  per_layer({D}, &LayerWeights::ffn_norm);
  per_layer({F, D}, &LayerWeights::w_gate);
  per_layer({D, F}, &LayerWeights::w_down);
  per_layer({F, D}, &LayerWeights::w_up);
  w.final_norm = next({D});
  off += size_t(seq_len) * size_t(hd) * sizeof(float);  // freq_cis_real + freq_cis_imag
  w.output = shared ? w.tok_embeddings : next({V, D});

  c.validate(file);
  ck.tokenizer = find_tokenizer(std::filesystem::path(file).parent_path().string());
  if (ck.tokenizer.empty()) ck.tokenizer = find_llama2c_tokenizer(file);
  return ck;
}

}  // namespace supra
