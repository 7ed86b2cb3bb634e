#pragma once
// Every hyper-parameter of a model, whatever checkpoint format it came from. A value that changes numbers is
// never defaulted silently: loaders fill each field from the checkpoint or fail naming the missing key.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/dtype.h"

namespace supra {

enum class AttentionMode { Softmax, Supra };
enum class RopePairing { RotateHalf, Interleaved };  // HF/NeoX/open_lm "rotary" vs Meta/llama2.c
enum class SupraForm { Parallel, Chunked, Recurrent };
enum class DecaySlopes { Alibi, RetNet, Checkpoint };

const char* mode_name(AttentionMode m);
AttentionMode parse_mode(const std::string& s);  // "softmax" | "supra"
const char* form_name(SupraForm f);
SupraForm parse_form(const std::string& s);  // "parallel" | "chunked" | "recurrent"
const char* pairing_name(RopePairing p);

// Upper bounds on what a checkpoint may declare, far above any released model (Llama-3 405B: D 16384, F 53248,
// L 126, H 128, d 128, V 128256, ctx 131072) and low enough that every weight's element count fits 64 bits: a
// malformed header fails here with the field's name instead of wrapping a size or asking for terabytes.
inline constexpr long kMaxDim = 1 << 17, kMaxHidden = 1 << 20, kMaxLayers = 1 << 12, kMaxHeads = 1 << 12,
                      kMaxHeadDim = 1 << 13, kMaxVocab = 1 << 24, kMaxTrainCtx = 1 << 26;

struct ModelConfig {
  std::string source_format;  // "llama2c", "hf", "open_lm", "random"
  std::string architecture;   // "llama", "mistral", "open_lm"
  int dim = 0;                // model width D
  int hidden_dim = 0;         // FFN width F
  int n_layers = 0;
  int n_heads = 0;     // H, query heads
  int n_kv_heads = 0;  // Hkv; H % Hkv == 0
  int head_dim = 0;    // d
  int vocab_size = 0;
  int train_ctx = 0;  // training context length (max_position_embeddings / seq_len)
  float norm_eps = 0.f;
  float rope_theta = 0.f;
  RopePairing rope_pairing = RopePairing::RotateHalf;
  std::optional<int> sliding_window;  // Mistral: a query sees only the last `sliding_window` keys
  bool tie_embeddings = false;
  int bos_id = -1;  // -1: unknown (no tokenizer-free default)
  int eos_id = -1;
  DType weight_dtype = DType::F32;  // dtype the checkpoint stores its weights in

  AttentionMode attention = AttentionMode::Softmax;
  // SUPRA only (SUPRA.md section 2).
  bool separate_kv_feature_map = false;  // H != Hkv: Ak, bk exist
  DecaySlopes decay_kind = DecaySlopes::Alibi;
  std::vector<float> decay_slopes;  // s_h per query head; gamma_h = exp(-s_h)
  float groupnorm_eps = 1e-5f;

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
  // Checks the internal consistency (divisibility, sizes in 1..their kMax*, token ids inside the vocabulary or -1,
  // slopes per head). `where` names the source.
  void validate(const std::string& where) const;
  nlohmann::json to_json() const;
  std::string summary() const;
};

// Slopes s_h for H heads: ALiBi/Lightning rule (SUPRA.md section 2). For H not a power of two, the ALiBi
// paper's rule: the slopes of the nearest lower power of two, then every other slope of the next power of two.
std::vector<float> alibi_slopes(int n_heads);
// RetNet: gamma_h = 1 - 2^(-5-h), s_h = -ln(gamma_h).
std::vector<float> retnet_slopes(int n_heads);

}  // namespace supra
