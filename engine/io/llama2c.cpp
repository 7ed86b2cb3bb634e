// llama2.c legacy (v0) checkpoint: a 7 x int32 header, then fp32 arrays back to back (SUPRA.md section 4).
// The loader mmaps the file and every weight is a view into it; the saver writes what the loader and run.c read.
// Softmax models only, and only what the format can say (no sliding window, norm eps 1e-5, rope theta 1e4).
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "core/checked_math.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace supra {

namespace {

// The file's arrays after the header, in order: each per-layer weight for every layer at once ([L, ...]), and
// between final_norm and output (stored only when untied) the legacy freq_cis tables (kFreqCis).
constexpr const char* kFreqCis = nullptr;
constexpr const char* kLlama2cOrder[] = {"tok_embeddings", "attn_norm", "wq",     "wk",         "wv",
                                         "wo",             "ffn_norm",  "w_gate", "w_down",     "w_up",
                                         "final_norm",     kFreqCis,    "output"};

// Floats of each of the two freq_cis tables (cos, sin): [seq_len, head_dim / 2].
int64_t freq_cis_floats(const ModelConfig& c) { return int64_t(c.train_ctx) * (c.head_dim / 2); }  // < 2^39

// The legacy freq_cis tables, cos then sin, as llama2.c's export writes them (in double); loaders skip them.
std::vector<float> freq_cis_tables(const ModelConfig& c) {
  const int half = c.head_dim / 2;
  const size_t n = size_t(freq_cis_floats(c));
  std::vector<float> t(2 * n);
  for (int p = 0; p < c.train_ctx; p++)
    for (int i = 0; i < half; i++) {
      const double freq = std::pow(double(c.rope_theta), -2.0 * i / c.head_dim);
      t[size_t(p) * half + i] = float(std::cos(p * freq));
      t[n + size_t(p) * half + i] = float(std::sin(p * freq));
    }
  return t;
}

// Bytes of a v0 file of a model with config c.
uint64_t llama2c_file_bytes(const ModelConfig& c) {
  uint64_t floats = 0;
  for (const char* name : kLlama2cOrder) {
    if (name == kFreqCis) {
      floats = checked_add(floats, 2 * uint64_t(freq_cis_floats(c)), "freq_cis");
      continue;
    }
    const bool per_layer = is_layer_weight(name);
    if (std::optional<Weight> wt = find_weight(c, name, per_layer ? 0 : -1)) {
      uint64_t n = 1;
      for (int64_t d : wt->shape) n = checked_mul(n, uint64_t(d), name);
      floats = checked_add(floats, per_layer ? checked_mul(n, uint64_t(c.n_layers), name) : n, name);
    }
  }
  return checked_add(7 * sizeof(int32_t), checked_mul(floats, sizeof(float), "llama2.c file size"), "llama2.c file size");
}

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
  const int64_t vocab = shared ? int64_t(h[5]) : -int64_t(h[5]);  // int64: -INT32_MIN does not fit an int
  if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv <= 0 || vocab <= 0 || vocab > kMaxVocab ||
      seq_len <= 0 || dim % n_heads != 0 || n_heads % n_kv != 0)
    fail("{}: not a llama2.c v0 header (dim={}, hidden_dim={}, n_layers={}, n_heads={}, n_kv_heads={}, "
         "vocab_size={}, seq_len={})",
         file, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
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
  c.head_dim = dim / n_heads;
  c.vocab_size = int(vocab);
  c.train_ctx = seq_len;
  // Fixed by the format (run.c hard-codes them); sentencepiece ids of the Llama tokenizers.
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.f;
  c.rope_pairing = RopePairing::Interleaved;
  c.tie_embeddings = shared;
  c.bos_id = 1;
  c.eos_id = 2;
  c.weight_dtype = DType::F32;
  c.validate(file);  // every size in range before any size is computed from it

  const uint64_t expected = llama2c_file_bytes(c);
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
  ModelWeights& w = ck.weights;
  w.layers.resize(size_t(n_layers));
  for (const char* name : kLlama2cOrder) {
    if (name == kFreqCis) {
      off += 2 * size_t(freq_cis_floats(c)) * sizeof(float);
      continue;
    }
    if (!is_layer_weight(name)) {
      if (std::optional<Weight> wt = find_weight(c, name, -1)) wt->in(w) = next(wt->shape);
      continue;
    }
    // [L, rows, cols]: view it whole, then take layer l's slice.
    std::vector<int64_t> shape = find_weight(c, name, 0)->shape;
    shape.insert(shape.begin(), int64_t(n_layers));
    const Tensor all = next(shape);
    for (int l = 0; l < n_layers; l++) {
      const Weight wt = *find_weight(c, name, l);
      wt.in(w) = all.slice_rows(l, l + 1).reshaped(wt.shape);
    }
  }
  if (shared) w.output = w.tok_embeddings;
  ck.tokenizer = find_tokenizer(std::filesystem::path(file).parent_path().string());
  if (ck.tokenizer.empty()) ck.tokenizer = find_llama2c_tokenizer(file);
  return ck;
}

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
  for (const char* name : kLlama2cOrder) {
    if (name == kFreqCis) {
      const std::vector<float> t = freq_cis_tables(c);
      put(t.data(), t.size() * sizeof(float));
      continue;
    }
    if (!is_layer_weight(name)) {
      if (std::optional<Weight> wt = find_weight(c, name, -1)) put_f32(wt->in(ck.weights));
      continue;
    }
    for (int l = 0; l < c.n_layers; l++) put_f32(find_weight(c, name, l)->in(ck.weights));
  }
  if (std::fclose(f.release()) != 0) fail("{}: write failed: {}", tmp, std::strerror(errno));
  if (std::rename(tmp.c_str(), file.c_str()) != 0)
    fail("{}: cannot rename {} into place: {}", file, tmp, std::strerror(errno));
}

}  // namespace supra
