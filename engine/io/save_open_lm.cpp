// Writes a Checkpoint as an open_lm folder (the layout of the released SUPRA models), readable by load_open_lm.
#include <filesystem>

#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "core/error.h"

namespace fs = std::filesystem;

namespace supra {

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

  std::vector<std::pair<std::string, Tensor>> t;
  const ModelWeights& w = ck.weights;
  t.emplace_back("tok_embeddings.weight", w.tok_embeddings);
  for (int i = 0; i < m.n_layers; i++) {
    const std::string p = "layers." + std::to_string(i) + ".";
    const LayerWeights& L = w.layers[i];
    t.emplace_back(p + "attention.in_proj.weight", stack_rows({L.wq, L.wk, L.wv}));
    t.emplace_back(p + "attention.out_proj.weight", L.wo);
    t.emplace_back(p + "feed_forward.w12.weight", stack_rows({L.w_gate, L.w_up}));
    t.emplace_back(p + "feed_forward.w3.weight", L.w_down);
    t.emplace_back(p + "attention_norm.weight", L.attn_norm);
    t.emplace_back(p + "ffn_norm.weight", L.ffn_norm);
    if (supra) {
      t.emplace_back(p + "attention._totrain_embed.weight", L.phi_q_w);
      t.emplace_back(p + "attention._totrain_embed.bias", L.phi_q_b);
      if (m.separate_kv_feature_map) {
        t.emplace_back(p + "attention._totrain_embed_kv.weight", L.phi_k_w);
        t.emplace_back(p + "attention._totrain_embed_kv.bias", L.phi_k_b);
      }
    }
  }
  t.emplace_back("norm.weight", w.final_norm);
  if (!m.tie_embeddings) t.emplace_back("output.weight", w.output);  // tied: safetensors stores it once

  write_safetensors((fs::path(dir) / "model.safetensors").string(), t, dtype, {{"format", "pt"}});
  write_json_file((fs::path(dir) / "config.json").string(), j);
}

}  // namespace supra
