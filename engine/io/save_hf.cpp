// Writes a softmax Checkpoint as a HF Llama/Mistral folder, readable by load_hf (and by transformers).
#include <filesystem>

#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace supra {

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
  const ModelWeights& w = ck.weights;
  t.emplace_back("model.embed_tokens.weight", w.tok_embeddings);
  for (int i = 0; i < m.n_layers; i++) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const LayerWeights& L = w.layers[i];
    t.emplace_back(p + "input_layernorm.weight", L.attn_norm);
    t.emplace_back(p + "self_attn.q_proj.weight", L.wq);
    t.emplace_back(p + "self_attn.k_proj.weight", L.wk);
    t.emplace_back(p + "self_attn.v_proj.weight", L.wv);
    t.emplace_back(p + "self_attn.o_proj.weight", L.wo);
    t.emplace_back(p + "post_attention_layernorm.weight", L.ffn_norm);
    t.emplace_back(p + "mlp.gate_proj.weight", L.w_gate);
    t.emplace_back(p + "mlp.up_proj.weight", L.w_up);
    t.emplace_back(p + "mlp.down_proj.weight", L.w_down);
  }
  t.emplace_back("model.norm.weight", w.final_norm);
  if (!m.tie_embeddings) t.emplace_back("lm_head.weight", w.output);

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
