// HF Llama/Mistral folder: config.json + model.safetensors, or shards listed in model.safetensors.index.json
// (SUPRA.md section 4). Weights stay mmapped in their stored dtype.
#include <filesystem>
#include <set>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace supra {

std::vector<std::string> hf_checkpoint_files(const std::string& dir) {
  const fs::path d(dir);
  std::vector<std::string> files = {(d / "config.json").string()};
  const fs::path index = d / "model.safetensors.index.json";
  if (fs::exists(index)) {
    files.push_back(index.string());
    std::set<std::string> shards;  // sorted, each once
    const nlohmann::json j = read_json_file(index.string());
    if (j.contains("weight_map") && j["weight_map"].is_object())
      for (const auto& [name, f] : j["weight_map"].items())
        if (f.is_string()) shards.insert((d / f.get<std::string>()).string());
    files.insert(files.end(), shards.begin(), shards.end());
  } else {
    files.push_back((d / "model.safetensors").string());
  }
  return files;
}

namespace {

// An int, or the first of a list (some configs give several eos ids); -1 when absent.
int token_id(const ConfigJson& c, const std::string& key) {
  if (!c.has(key)) return -1;
  const auto& v = c.json()[key];
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<int>();
  c.bad(key, "a token id or a list of token ids");
}

std::string architecture_of(const ConfigJson& c) {
  if (c.has("architectures")) {
    const auto& a = c.json()["architectures"];
    if (a.is_array())
      for (const auto& x : a) {
        if (x == "LlamaForCausalLM") return "llama";
        if (x == "MistralForCausalLM") return "mistral";
      }
    c.bad("architectures", "a list holding LlamaForCausalLM or MistralForCausalLM");
  }
  if (c.has("model_type")) {
    const std::string t = c.get_str("model_type");
    if (t == "llama" || t == "mistral") return t;
    c.bad("model_type", "\"llama\" or \"mistral\"");
  }
  fail("{}: neither 'architectures' nor 'model_type' is present: cannot tell the architecture (expected "
       "LlamaForCausalLM or MistralForCausalLM)",
       c.file());
}

}  // namespace

Checkpoint load_hf(const std::string& dir) {
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  const ConfigJson c(cfg_path);
  if (c.has("attn_name"))
    fail("{}: has 'attn_name': an open_lm config, not a HF one (load it with load_open_lm)", cfg_path);

  Checkpoint ck;
  ck.path = dir;
  ModelConfig& m = ck.config;
  m.source_format = "hf";
  m.architecture = architecture_of(c);
  m.dim = c.get_int("hidden_size");
  m.hidden_dim = c.get_int("intermediate_size");
  m.n_layers = c.get_int("num_hidden_layers");
  m.n_heads = c.get_int("num_attention_heads");
  m.n_kv_heads = c.get_int("num_key_value_heads", m.n_heads);  // HF default: no GQA
  if (!c.has("head_dim") && (m.n_heads <= 0 || m.dim % m.n_heads != 0))
    fail("{}: hidden_size {} is not a multiple of num_attention_heads {} and head_dim is absent", cfg_path, m.dim,
         m.n_heads);
  m.head_dim = c.has("head_dim") ? c.get_int("head_dim") : m.dim / m.n_heads;
  m.vocab_size = c.get_int("vocab_size");
  m.train_ctx = c.get_int("max_position_embeddings");
  m.norm_eps = float(c.get_num("rms_norm_eps"));  // required: no silent default for an eps
  // rope_theta: top level, or nested under rope_parameters in newer files; 1e4 is HF's documented default.
  m.rope_theta = 10000.f;
  if (c.has("rope_theta")) {
    m.rope_theta = float(c.get_num("rope_theta"));
  } else if (c.has("rope_parameters")) {
    const auto& rp = c.json()["rope_parameters"];
    if (!rp.is_object()) c.bad("rope_parameters", "an object");
    if (rp.contains("rope_theta")) {
      if (!rp["rope_theta"].is_number()) c.bad("rope_parameters", "rope_theta to be a number");
      m.rope_theta = rp["rope_theta"].get<float>();
    }
    if (rp.contains("rope_type") && rp["rope_type"] != "default")
      c.bad("rope_parameters", "rope_type \"default\" (scaled RoPE is not implemented)");
  }
  // Variants we do not implement change the numbers: refuse them rather than compute something else.
  if (c.has("rope_scaling")) c.bad("rope_scaling", "null (scaled RoPE is not implemented)");
  if (c.has("hidden_act") && c.get_str("hidden_act") != "silu") c.bad("hidden_act", "\"silu\"");
  if (c.get_bool("attention_bias", false)) c.bad("attention_bias", "false (no attention biases implemented)");
  if (c.get_bool("mlp_bias", false)) c.bad("mlp_bias", "false (no MLP biases implemented)");
  // Mistral's HF class defaults a missing sliding_window to 4096; we require the key to be explicit.
  if (m.architecture == "mistral" && !c.json().contains("sliding_window"))
    c.bad("sliding_window", "an integer or null (Mistral)");
  if (c.has("sliding_window")) m.sliding_window = c.get_int("sliding_window");
  m.tie_embeddings = c.get_bool("tie_word_embeddings", false);  // HF default
  m.bos_id = token_id(c, "bos_token_id");
  m.eos_id = token_id(c, "eos_token_id");
  m.rope_pairing = RopePairing::RotateHalf;
  m.validate(cfg_path);

  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (!fs::exists(index) && !fs::exists(single))
    fail("{}: neither model.safetensors nor model.safetensors.index.json is present", dir);
  const TensorStore st = fs::exists(index) ? TensorStore::from_index(index.string())
                                           : TensorStore::from_files({single.string()});

  const int64_t D = m.dim, F = m.hidden_dim, V = m.vocab_size, Q = m.q_dim(), KV = m.kv_dim();
  std::set<std::string> used;
  auto get = [&](const std::string& name, std::vector<int64_t> shape) {
    used.insert(name);
    return st.get(name, shape);
  };
  ModelWeights& w = ck.weights;
  w.tok_embeddings = get("model.embed_tokens.weight", {V, D});
  m.weight_dtype = w.tok_embeddings.dtype;
  w.layers.resize(m.n_layers);
  for (int i = 0; i < m.n_layers; i++) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights& L = w.layers[i];
    L.attn_norm = get(p + "input_layernorm.weight", {D});
    L.wq = get(p + "self_attn.q_proj.weight", {Q, D});
    L.wk = get(p + "self_attn.k_proj.weight", {KV, D});
    L.wv = get(p + "self_attn.v_proj.weight", {KV, D});
    L.wo = get(p + "self_attn.o_proj.weight", {D, Q});
    L.ffn_norm = get(p + "post_attention_layernorm.weight", {D});
    L.w_gate = get(p + "mlp.gate_proj.weight", {F, D});
    L.w_up = get(p + "mlp.up_proj.weight", {F, D});
    L.w_down = get(p + "mlp.down_proj.weight", {D, F});
  }
  w.final_norm = get("model.norm.weight", {D});
  if (m.tie_embeddings) {
    w.output = w.tok_embeddings;  // HF ties even when a copy of lm_head is stored
    used.insert("lm_head.weight");
  } else if (st.has("lm_head.weight")) {
    w.output = get("lm_head.weight", {V, D});
  } else {
    fail("{}: required tensor 'lm_head.weight' not found and {} says tie_word_embeddings is false", st.where(),
         cfg_path);
  }
  // A tensor we would silently drop means a model we do not compute; old exports keep rotary inv_freq buffers.
  for (const auto& name : st.names())
    if (!used.count(name) && name.find("rotary_emb.inv_freq") == std::string::npos)
      fail("{}: unexpected tensor '{}' (not part of a {} model)", st.where(), name, m.architecture);

  ck.tokenizer = find_tokenizer(dir);
  return ck;
}

}  // namespace supra
