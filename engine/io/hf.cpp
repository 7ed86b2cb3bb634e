// HF Llama/Mistral folder: config.json + model.safetensors, or shards listed in model.safetensors.index.json
// (SUPRA.md section 4). The loader keeps the weights mmapped in their stored dtype; the saver writes what the
// loader (and transformers) reads. Softmax models only: HF Llama/Mistral has no SUPRA feature maps.
#include <filesystem>
#include <set>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace supra {

namespace {

const FormatNames kHfNames = {
    "model.layers.",
    {
        {"model.embed_tokens.weight", {"tok_embeddings"}},
        {"input_layernorm.weight", {"attn_norm"}},
        {"self_attn.q_proj.weight", {"wq"}},
        {"self_attn.k_proj.weight", {"wk"}},
        {"self_attn.v_proj.weight", {"wv"}},
        {"self_attn.o_proj.weight", {"wo"}},
        {"post_attention_layernorm.weight", {"ffn_norm"}},
        {"mlp.gate_proj.weight", {"w_gate"}},
        {"mlp.up_proj.weight", {"w_up"}},
        {"mlp.down_proj.weight", {"w_down"}},
        {"model.norm.weight", {"final_norm"}},
        {"lm_head.weight", {"output"}},
    },
};

}  // namespace

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
        if (f.is_string()) shards.insert(index_shard_path(index.string(), name, f.get<std::string>()));
    files.insert(files.end(), shards.begin(), shards.end());
  } else {
    files.push_back((d / "model.safetensors").string());
  }
  return files;
}

namespace {

// An int, or the first of a list (some configs give several eos ids), inside the vocabulary; -1 when absent.
int token_id(const ConfigJson& c, const std::string& key, int vocab_size) {
  if (!c.has(key)) return -1;
  const auto& v = c.json()[key];
  const std::string expected = fmt::format("a token id in 0..{} (vocab_size - 1) or a list of them", vocab_size - 1);
  const nlohmann::json& id = v.is_array() && !v.empty() ? v[0] : v;
  if (!id.is_number_integer()) c.bad(key, expected);
  if (id.is_number_unsigned() ? id.get<uint64_t>() >= uint64_t(vocab_size)
                              : id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab_size)
    c.bad(key, expected);
  return int(id.get<int64_t>());
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
  m.dim = c.get_int_in("hidden_size", 1, kMaxDim);
  m.hidden_dim = c.get_int_in("intermediate_size", 1, kMaxHidden);
  m.n_layers = c.get_int_in("num_hidden_layers", 1, kMaxLayers);
  m.n_heads = c.get_int_in("num_attention_heads", 1, kMaxHeads);
  m.n_kv_heads = c.get_int_in("num_key_value_heads", 1, kMaxHeads, m.n_heads);  // HF default: no GQA
  if (!c.has("head_dim") && m.dim % m.n_heads != 0)
    fail("{}: hidden_size {} is not a multiple of num_attention_heads {} and head_dim is absent", cfg_path, m.dim,
         m.n_heads);
  m.head_dim = c.has("head_dim") ? c.get_int_in("head_dim", 1, kMaxHeadDim) : m.dim / m.n_heads;
  m.vocab_size = c.get_int_in("vocab_size", 1, kMaxVocab);
  m.train_ctx = c.get_int_in("max_position_embeddings", 1, kMaxTrainCtx);
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
  if (c.has("sliding_window")) m.sliding_window = c.get_int_in("sliding_window", 1, INT32_MAX);
  m.tie_embeddings = c.get_bool("tie_word_embeddings", false);  // HF default
  m.bos_id = token_id(c, "bos_token_id", m.vocab_size);
  m.eos_id = token_id(c, "eos_token_id", m.vocab_size);
  m.rope_pairing = RopePairing::RotateHalf;
  m.validate(cfg_path);

  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (!fs::exists(index) && !fs::exists(single))
    fail("{}: neither model.safetensors nor model.safetensors.index.json is present", dir);
  const TensorStore st = fs::exists(index) ? TensorStore::from_index(index.string())
                                           : TensorStore::from_files({single.string()});

  const std::string lm_head = file_name(kHfNames, "output", -1);
  if (!m.tie_embeddings && !st.has(lm_head))
    fail("{}: required tensor '{}' not found and {} says tie_word_embeddings is false", st.where(), lm_head,
         cfg_path);
  std::set<std::string> used;
  ModelWeights& w = ck.weights;
  w.layers.resize(size_t(m.n_layers));
  for (const FileTensor& f : file_tensors(kHfNames, m)) {
    used.insert(f.name);
    take_file_tensor(f, st.get(f.name, f.shape), w);
  }
  m.weight_dtype = w.tok_embeddings.dtype;
  if (m.tie_embeddings) {
    w.output = w.tok_embeddings;  // HF ties even when a copy of lm_head is stored
    used.insert(lm_head);
  }
  // A tensor we would silently drop means a model we do not compute; old exports keep rotary inv_freq buffers.
  for (const auto& name : st.names())
    if (!used.count(name) && name.find("rotary_emb.inv_freq") == std::string::npos)
      fail("{}: unexpected tensor '{}' (not part of a {} model)", st.where(), name, m.architecture);

  ck.tokenizer = find_tokenizer(dir);
  return ck;
}

void save_hf(const Checkpoint& in, const std::string& dir, DType dtype, bool sharded) {
  if (in.config.attention != AttentionMode::Softmax)
    fail("save_hf: HF Llama/Mistral has no SUPRA feature maps; save SUPRA models with save_open_lm");
  const Checkpoint ck = with_rope_pairing(in, RopePairing::RotateHalf);  // HF q/k rows are rotate-half ordered
  const ModelConfig& m = ck.config;
  m.validate(in.path.empty() ? "save_hf" : in.path);
  fs::create_directories(dir);
  const bool mistral = m.architecture == "mistral" || m.sliding_window.has_value();

  nlohmann::json j = {
      {"architectures", {mistral ? "MistralForCausalLM" : "LlamaForCausalLM"}},
      {"model_type", mistral ? "mistral" : "llama"},
      {"hidden_size", m.dim},
      {"intermediate_size", m.hidden_dim},
      {"num_hidden_layers", m.n_layers},
      {"num_attention_heads", m.n_heads},
      {"num_key_value_heads", m.n_kv_heads},
      {"head_dim", m.head_dim},
      {"vocab_size", m.vocab_size},
      {"max_position_embeddings", m.train_ctx},
      {"rms_norm_eps", json_float(m.norm_eps)},
      {"rope_theta", json_float(m.rope_theta)},
      {"hidden_act", "silu"},
      {"tie_word_embeddings", m.tie_embeddings},
      {"torch_dtype", dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16"},
  };
  if (mistral) j["sliding_window"] = m.sliding_window ? nlohmann::json(*m.sliding_window) : nlohmann::json(nullptr);
  if (m.bos_id >= 0) j["bos_token_id"] = m.bos_id;
  if (m.eos_id >= 0) j["eos_token_id"] = m.eos_id;

  std::vector<std::pair<std::string, Tensor>> t;
  for (const FileTensor& f : file_tensors(kHfNames, m)) t.emplace_back(f.name, make_file_tensor(f, ck.weights));

  const nlohmann::json meta = {{"format", "pt"}};
  if (!sharded) {
    write_safetensors((fs::path(dir) / "model.safetensors").string(), t, dtype, meta);
  } else {
    // Two shards, split in list order (embeddings and early layers first), as HF's writer splits by size.
    const size_t half = t.size() / 2;
    const std::string names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    nlohmann::json map = nlohmann::json::object();
    uint64_t total = 0;
    for (size_t i = 0; i < t.size(); i++) {
      map[t[i].first] = names[i < half ? 0 : 1];
      total += uint64_t(t[i].second.numel()) * dtype_size(dtype);
    }
    write_safetensors((fs::path(dir) / names[0]).string(), {t.begin(), t.begin() + half}, dtype, meta);
    write_safetensors((fs::path(dir) / names[1]).string(), {t.begin() + half, t.end()}, dtype, meta);
    write_json_file((fs::path(dir) / "model.safetensors.index.json").string(),
                    {{"metadata", {{"total_size", total}}}, {"weight_map", map}});
  }
  write_json_file((fs::path(dir) / "config.json").string(), j);
}

}  // namespace supra
