// Format detection, the named model shapes for random-weight benchmarks, and checkpoint fingerprints.
#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "core/error.h"
#include "core/sha256.h"

namespace fs = std::filesystem;

namespace supra {

Checkpoint load_checkpoint(const std::string& path, const LoadOptions& opts) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) fail("{}: no such file or directory", path);
  Checkpoint ck;
  if (fs::is_regular_file(st)) {
    if (fs::path(path).extension() == ".safetensors")
      fail("{}: give the folder holding the safetensors and their config.json, not the file", path);
    ck = load_llama2c(path);
  } else if (fs::is_directory(st)) {
    const fs::path cfg = fs::path(path) / "config.json";
    const fs::path params = fs::path(path) / "params.json";
    if (fs::exists(cfg)) {
      const nlohmann::json j = read_json_file(cfg.string());
      if (j.is_object() && j.contains("attn_name")) ck = load_open_lm(path);
      else if (j.is_object() && (j.contains("model_type") || j.contains("architectures"))) ck = load_hf(path);
      else if (fs::exists(params)) ck = load_open_lm(path);
      else
        fail("{}: neither 'attn_name' (open_lm) nor 'model_type'/'architectures' (HF Llama/Mistral) is present: "
             "cannot tell the checkpoint format",
             cfg.string());
    } else if (fs::exists(params)) {
      ck = load_open_lm(path);
    } else {
      fail("{}: expected a HF Llama/Mistral folder (config.json + model.safetensors), an open_lm folder (params.json "
           "or config.json with attn_name) or a llama2.c .bin file",
           path);
    }
  } else {
    fail("{}: not a regular file or directory", path);
  }
  if (!opts.tokenizer.empty()) {
    if (!fs::is_regular_file(opts.tokenizer)) fail("{}: tokenizer file not found", opts.tokenizer);
    ck.tokenizer = opts.tokenizer;
  }
  return ck;
}

namespace {

ModelConfig shape(const char* arch, int dim, int hidden, int layers, int heads, int kv, int vocab, int ctx, bool tied) {
  ModelConfig c;
  c.source_format = "random";
  c.architecture = arch;
  c.dim = dim;
  c.hidden_dim = hidden;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv;
  c.head_dim = heads > 0 ? dim / heads : 0;
  c.vocab_size = vocab;
  c.train_ctx = ctx;
  c.norm_eps = 1e-5f;
  c.rope_theta = 10000.f;
  c.rope_pairing = RopePairing::RotateHalf;
  c.tie_embeddings = tied;
  c.bos_id = 1;  // every named shape uses a Llama sentencepiece vocabulary
  c.eos_id = 2;
  return c;
}

const std::map<std::string, ModelConfig>& shapes() {
  static const std::map<std::string, ModelConfig> m = [] {
    std::map<std::string, ModelConfig> s;
    s["stories260K"] = shape("llama", 64, 172, 5, 8, 4, 512, 512, true);
    s["stories15M"] = shape("llama", 288, 768, 6, 6, 6, 32000, 256, true);
    s["tiny-85m"] = shape("llama", 768, 2048, 12, 12, 12, 512, 2048, false);
    s["llama2-7b"] = shape("llama", 4096, 11008, 32, 32, 32, 32000, 4096, false);
    s["llama2-13b"] = shape("llama", 5120, 13824, 40, 40, 40, 32000, 4096, false);
    ModelConfig mistral = shape("mistral", 4096, 14336, 32, 32, 8, 32000, 32768, false);
    mistral.sliding_window = 4096;
    s["mistral-7b"] = mistral;
    return s;
  }();
  return m;
}

// "dim=..,hidden=..,layers=..,heads=..,kv_heads=..,vocab=..[,ctx=..]"
ModelConfig custom_shape(const std::string& spec) {
  std::map<std::string, int> v;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    const size_t eq = item.find('=');
    if (eq == std::string::npos) fail("model shape '{}': item '{}' is not key=value", spec, item);
    const std::string key = item.substr(0, eq), val = item.substr(eq + 1);
    static const char* known[] = {"dim", "hidden", "layers", "heads", "kv_heads", "vocab", "ctx"};
    if (std::find(std::begin(known), std::end(known), key) == std::end(known))
      fail("model shape '{}': unknown key '{}' (expected dim, hidden, layers, heads, kv_heads, vocab, ctx)", spec, key);
    size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(val, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != val.size() || val.empty() || n <= 0)
      fail("model shape '{}': {} must be a positive integer, got '{}'", spec, key, val);
    v[key] = n;
    pos = end + 1;
  }
  for (const char* k : {"dim", "hidden", "layers", "heads", "kv_heads", "vocab"})
    if (!v.count(k)) fail("model shape '{}': missing '{}'", spec, k);
  if (v["dim"] % v["heads"] != 0) fail("model shape '{}': dim must be a multiple of heads", spec);
  return shape("llama", v["dim"], v["hidden"], v["layers"], v["heads"], v["kv_heads"], v["vocab"],
               v.count("ctx") ? v["ctx"] : 2048, false);
}

}  // namespace

ModelConfig named_shape(const std::string& name) {
  ModelConfig c;
  if (auto it = shapes().find(name); it != shapes().end()) c = it->second;
  else if (name.find('=') != std::string::npos) c = custom_shape(name);
  else {
    std::vector<std::string> known;
    for (const auto& [k, s] : shapes()) known.push_back(k);
    fail("unknown model shape '{}': expected one of {} or 'dim=..,hidden=..,layers=..,heads=..,kv_heads=..,vocab=..[,ctx=..]'",
         name, fmt::join(known, ", "));
  }
  c.validate("model shape '" + name + "'");
  return c;
}

std::string checkpoint_sha256(Checkpoint& ckpt) {
  if (!ckpt.fingerprint.empty()) return ckpt.fingerprint;
  const std::string& f = ckpt.config.source_format;
  if (f == "llama2c") {
    ckpt.fingerprint = sha256_file(ckpt.path);  // a single file: equals `sha256sum file`
  } else if (f == "hf" || f == "open_lm") {
    // A folder: the hash of a sha256sum-style manifest ("<hash>  <name>\n" per file, in load order), so it
    // can be reproduced with standard tools and covers the config as well as the weights.
    const auto files = f == "hf" ? hf_checkpoint_files(ckpt.path) : open_lm_checkpoint_files(ckpt.path);
    std::string manifest;
    for (const auto& p : files) manifest += sha256_file(p) + "  " + fs::path(p).filename().string() + "\n";
    ckpt.fingerprint = sha256_hex(manifest);
  } else {
    fail("{}: cannot fingerprint a '{}' checkpoint: no files and no recorded fingerprint", ckpt.path, f);
  }
  return ckpt.fingerprint;
}

}  // namespace supra
