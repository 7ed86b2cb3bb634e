// open_lm folder (SUPRA linear_attn, or softmax torch_attn/xformers_attn): an open_lm Params JSON plus
// safetensors with open_lm state-dict names (SUPRA.md section 4), the layout of the released SUPRA models.
// open_lm's own defaults for missing keys (softmax, LayerNorm, no decay) are wrong for SUPRA, so the loader
// requires every key that changes the numbers, and the saver writes them all.
#include <algorithm>
#include <filesystem>
#include <set>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace supra {

namespace {

// open_lm stacks q, k, v into in_proj and gate, up into w12.
const FormatNames kOpenLmNames = {
    "layers.",
    {
        {"tok_embeddings.weight", {"tok_embeddings"}},
        {"attention.in_proj.weight", {"wq", "wk", "wv"}},
        {"attention.out_proj.weight", {"wo"}},
        {"feed_forward.w12.weight", {"w_gate", "w_up"}},
        {"feed_forward.w3.weight", {"w_down"}},
        {"attention_norm.weight", {"attn_norm"}},
        {"ffn_norm.weight", {"ffn_norm"}},
        {"attention._totrain_embed.weight", {"phi_q_w"}},
        {"attention._totrain_embed.bias", {"phi_q_b"}},
        {"attention._totrain_embed_kv.weight", {"phi_k_w"}},
        {"attention._totrain_embed_kv.bias", {"phi_k_b"}},
        {"norm.weight", {"final_norm"}},
        {"output.weight", {"output"}},
    },
};

// config.json when it is an open_lm one (has attn_name), else params.json, else config.json (which then fails
// naming the missing key).
std::string open_lm_config_path(const std::string& dir) {
  const fs::path d(dir);
  const fs::path cfg = d / "config.json", params = d / "params.json";
  if (fs::exists(cfg)) {
    const nlohmann::json j = read_json_file(cfg.string());
    if (j.is_object() && j.contains("attn_name")) return cfg.string();
  }
  if (fs::exists(params)) return params.string();
  if (fs::exists(cfg)) return cfg.string();
  fail("{}: no open_lm config: expected params.json or a config.json with open_lm keys (attn_name, dim, ...)", dir);
}

std::vector<std::string> weight_files(const std::string& dir, std::string* index) {
  std::vector<std::string> shards, indexes;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file()) continue;
    if (name.size() > 23 && name.ends_with(".safetensors.index.json")) indexes.push_back(e.path().string());
    else if (name.ends_with(".safetensors")) shards.push_back(e.path().string());
  }
  std::sort(shards.begin(), shards.end());
  if (indexes.size() > 1) fail("{}: several *.safetensors.index.json files: cannot tell which one holds the model", dir);
  if (indexes.size() == 1) {
    *index = indexes[0];
    std::set<std::string> listed;
    const nlohmann::json j = read_json_file(indexes[0]);
    if (j.contains("weight_map") && j["weight_map"].is_object())
      for (const auto& [n, f] : j["weight_map"].items())
        if (f.is_string()) listed.insert(index_shard_path(indexes[0], n, f.get<std::string>()));
    return {listed.begin(), listed.end()};
  }
  if (shards.empty()) fail("{}: no *.safetensors weight files", dir);
  return shards;
}

}  // namespace

std::vector<std::string> open_lm_checkpoint_files(const std::string& dir) {
  std::vector<std::string> files = {open_lm_config_path(dir)};
  std::string index;
  std::vector<std::string> shards = weight_files(dir, &index);
  if (!index.empty()) files.push_back(index);
  files.insert(files.end(), shards.begin(), shards.end());
  return files;
}

Checkpoint load_open_lm(const std::string& dir) {
  const std::string cfg_path = open_lm_config_path(dir);
  const ConfigJson c(cfg_path);

  Checkpoint ck;
  ck.path = dir;
  ModelConfig& m = ck.config;
  m.source_format = "open_lm";
  m.architecture = "open_lm";

  const std::string attn = c.get_str("attn_name");
  if (attn == "linear_attn") m.attention = AttentionMode::Supra;
  else if (attn == "torch_attn" || attn == "xformers_attn") m.attention = AttentionMode::Softmax;
  else c.bad("attn_name", "\"linear_attn\" (SUPRA), \"torch_attn\" or \"xformers_attn\" (softmax)");
  const bool supra = m.attention == AttentionMode::Supra;

  m.dim = c.get_int_in("dim", 1, kMaxDim);
  m.n_layers = c.get_int_in("n_layers", 1, kMaxLayers);
  m.n_heads = c.get_int_in("n_heads", 1, kMaxHeads);
  // SUPRA needs to know whether k has its own feature map, so the kv head count must be explicit there; for
  // softmax open_lm's default (no GQA) is checked against the in_proj shape below.
  m.n_kv_heads = supra ? c.get_int_in("n_heads_kv", 1, kMaxHeads) : c.get_int_in("n_heads_kv", 1, kMaxHeads, m.n_heads);
  m.vocab_size = c.get_int_in("vocab_size", 1, kMaxVocab);
  m.norm_eps = float(c.get_num("norm_eps"));
  m.train_ctx = c.get_int_in("seq_len", 1, kMaxTrainCtx);
  if (!c.has("qk_head_dim") && m.dim % m.n_heads != 0)
    fail("{}: dim {} is not a multiple of n_heads {} and qk_head_dim is absent", cfg_path, m.dim, m.n_heads);
  m.head_dim = c.has("qk_head_dim") ? c.get_int_in("qk_head_dim", 1, kMaxHeadDim) : m.dim / m.n_heads;
  if (c.has("v_head_dim") && c.get_int("v_head_dim") != m.head_dim)
    c.bad("v_head_dim", fmt::format("{} (the qk head dim; different v heads are not implemented)", m.head_dim));
  if (c.get_bool("apply_qk_norm", false)) c.bad("apply_qk_norm", "false (qk norm is not implemented)");
  if (c.get_bool("post_embed_norm", false)) c.bad("post_embed_norm", "false (not implemented)");

  const std::string norm = c.get_str("norm_type");
  if (norm != "rms_norm" && norm != "lp_rms_norm")
    c.bad("norm_type", "\"rms_norm\" (LayerNorm variants are not Llama-like and are not implemented)");
  const std::string ffn = c.get_str("ffn_type");
  if (ffn != "swiglu" && ffn != "swiglu_torch") c.bad("ffn_type", "\"swiglu\"");

  const std::string pos = c.get_str("positional_embedding_type");
  if (pos == "rotary") {
    m.rope_pairing = RopePairing::RotateHalf;
    m.rope_theta = float(c.get_num("rotary_base_frequency", 10000.0));  // open_lm's documented default
  } else if (pos == "llama_rotary") {
    m.rope_pairing = RopePairing::Interleaved;  // open_lm's llama_rotary pairs (2i, 2i+1), theta fixed at 1e4
    m.rope_theta = 10000.f;
  } else {
    c.bad("positional_embedding_type", "\"rotary\" or \"llama_rotary\"");
  }
  m.tie_embeddings = c.get_bool("weight_tying", false);  // open_lm default; checked against output.weight below
  m.bos_id = c.get_int_in("bos_token_id", 0, m.vocab_size - 1, -1);
  m.eos_id = c.get_int_in("eos_token_id", 0, m.vocab_size - 1, -1);

  if (supra) {
    if (!c.get_bool("use_decay"))
      c.bad("use_decay", "true (only decayed SUPRA is implemented; without decay the state grows unbounded)");
    m.separate_kv_feature_map = m.n_heads != m.n_kv_heads;
    if (c.has("decay_slopes")) {
      const auto& s = c.json()["decay_slopes"];
      if (!s.is_array() || int(s.size()) != m.n_heads)
        c.bad("decay_slopes", fmt::format("a list of {} numbers (one per query head)", m.n_heads));
      for (const auto& x : s) {
        if (!x.is_number()) c.bad("decay_slopes", "numbers");
        m.decay_slopes.push_back(x.get<float>());
      }
      m.decay_kind = DecaySlopes::Checkpoint;
    } else if (c.get_bool("use_retnet_slopes", false)) {  // open_lm default false = the released models' ALiBi
      m.decay_kind = DecaySlopes::RetNet;
      m.decay_slopes = retnet_slopes(m.n_heads);
    } else {
      m.decay_kind = DecaySlopes::Alibi;
      m.decay_slopes = alibi_slopes(m.n_heads);
    }
  }

  std::string index;
  const std::vector<std::string> files = weight_files(dir, &index);
  const TensorStore st = index.empty() ? TensorStore::from_files(files) : TensorStore::from_index(index);
  // HF-hub copies prefix every name with "model.".
  const std::string tok = file_name(kOpenLmNames, "tok_embeddings", -1);
  const std::string pre = !st.has(tok) && st.has("model." + tok) ? "model." : "";

  // The FFN width is not an open_lm Params key (open_lm derives it from dim): read it from w12 = [gate; up].
  const std::string w12 = pre + file_name(kOpenLmNames, "w_gate", 0);
  const Tensor w12_0 = st.get(w12);
  if (w12_0.shape.size() != 2 || w12_0.rows() % 2 != 0 || w12_0.rows() / 2 > kMaxHidden)
    fail("{}: tensor '{}' has shape {}, expected [2 * hidden_dim, {}]", st.where(), w12, w12_0.shape_str(), m.dim);
  m.hidden_dim = int(w12_0.rows() / 2);
  if (c.has("hidden_dim") && c.get_int("hidden_dim") != m.hidden_dim)
    c.bad("hidden_dim", fmt::format("{} (half the rows of {})", m.hidden_dim, w12));
  m.validate(cfg_path);

  const std::string output = pre + file_name(kOpenLmNames, "output", -1);
  if (!m.tie_embeddings && !st.has(output))
    fail("{}: required tensor '{}' not found and {} says weight_tying is false", st.where(), output, cfg_path);
  std::set<std::string> used;
  ModelWeights& w = ck.weights;
  w.layers.resize(size_t(m.n_layers));
  for (const FileTensor& f : file_tensors(kOpenLmNames, m)) {
    used.insert(pre + f.name);
    take_file_tensor(f, st.get(pre + f.name, f.shape), w);
  }
  m.weight_dtype = w.tok_embeddings.dtype;
  if (m.tie_embeddings) {
    w.output = w.tok_embeddings;
    used.insert(output);  // a stored copy of the tied matrix is ignored
  }
  // A tensor we would silently drop (a kv feature map with H == Hkv, qk norms, ...) means a model we do not
  // compute. The old rotary inv_freq buffer is the one known leftover.
  for (const auto& name : st.names())
    if (!used.count(name) && !name.ends_with("pos_embed.inv_freq"))
      fail("{}: unexpected tensor '{}' for a {} open_lm model with n_heads={} n_heads_kv={}", st.where(), name,
           mode_name(m.attention), m.n_heads, m.n_kv_heads);

  ck.tokenizer = find_tokenizer(dir);
  return ck;
}

void save_open_lm(const Checkpoint& in, const std::string& dir, DType dtype) {
  // open_lm "rotary" is rotate-half and honours rotary_base_frequency; write every model in that pairing.
  const Checkpoint ck = with_rope_pairing(in, RopePairing::RotateHalf);
  const ModelConfig& m = ck.config;
  m.validate(in.path.empty() ? "save_open_lm" : in.path);
  fs::create_directories(dir);
  const bool supra = m.attention == AttentionMode::Supra;

  nlohmann::json j = {
      {"dim", m.dim},
      {"hidden_dim", m.hidden_dim},  // the FFN width (not an open_lm Params key; the loader checks it against w12)
      {"n_layers", m.n_layers},
      {"n_heads", m.n_heads},
      {"n_heads_kv", m.n_kv_heads},
      {"qk_head_dim", m.head_dim},
      {"v_head_dim", m.head_dim},
      {"vocab_size", m.vocab_size},
      {"norm_eps", json_float(m.norm_eps)},
      {"seq_len", m.train_ctx},
      {"attn_name", supra ? "linear_attn" : "torch_attn"},
      {"use_decay", supra},
      {"use_retnet_slopes", supra && m.decay_kind == DecaySlopes::RetNet},
      {"positional_embedding_type", "rotary"},
      {"rotary_base_frequency", json_float(m.rope_theta)},
      {"ffn_type", "swiglu"},
      {"norm_type", "rms_norm"},
      {"apply_qk_norm", false},
      {"post_embed_norm", false},
      {"weight_tying", m.tie_embeddings},
      {"bos_token_id", m.bos_id},
      {"eos_token_id", m.eos_id},
  };
  if (m.sliding_window) fail("save_open_lm: open_lm has no sliding window (model has {})", *m.sliding_window);
  if (supra) {
    nlohmann::json s = nlohmann::json::array();
    for (float x : m.decay_slopes) s.push_back(json_float(x));
    j["decay_slopes"] = s;  // exact slopes, whatever rule made them
  }

  // Tied: safetensors stores the matrix once (output is not in the list).
  std::vector<std::pair<std::string, Tensor>> t;
  for (const FileTensor& f : file_tensors(kOpenLmNames, m)) t.emplace_back(f.name, make_file_tensor(f, ck.weights));

  write_safetensors((fs::path(dir) / "model.safetensors").string(), t, dtype, {{"format", "pt"}});
  write_json_file((fs::path(dir) / "config.json").string(), j);
}

}  // namespace supra
