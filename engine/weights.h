#pragma once
// The canonical weight set every loader maps its names onto, and the one table of it (kWeightTable) that upload,
// random init, the trainer, the savers and the weight-bytes count loop over: adding a weight is a field below and
// a row in the table. Linear weights are [out, in] row-major in their stored dtype; norms and biases are vectors.
// Tensors may live on the host (mmapped) or on a device. The structs are templates only so the trainer can keep
// the same layout of offsets into its flat parameter buffer (T = size_t); the engine uses T = Tensor.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "engine/model_config.h"
#include "engine/tensor.h"

namespace supra {

template <class T>
struct LayerOf {
  T attn_norm;  // [D]
  T wq;         // [H*d, D]
  T wk;         // [Hkv*d, D]
  T wv;         // [Hkv*d, D]
  T wo;         // [D, H*d]
  T ffn_norm;   // [D]
  T w_gate;     // [F, D]
  T w_up;       // [F, D]
  T w_down;     // [D, F]
  // SUPRA feature map phi (absent in softmax mode).
  T phi_q_w;  // Aq [H*d, H*d]
  T phi_q_b;  // bq [H*d]
  T phi_k_w;  // Ak [Hkv*d, Hkv*d], only when H != Hkv (else k uses Aq, bq)
  T phi_k_b;  // bk [Hkv*d]
};

template <class T>
struct ModelOf {
  using value_type = T;
  T tok_embeddings;  // [V, D]
  std::vector<LayerOf<T>> layers;
  T final_norm;  // [D]
  T output;      // [V, D]; the same storage as tok_embeddings when tied
};

using LayerWeights = LayerOf<Tensor>;
using ModelWeights = ModelOf<Tensor>;

// A size named after the config: D = dim, F = hidden_dim, V = vocab_size, Q = H*d, KV = Hkv*d. None: a vector.
enum class Dim { None, D, F, V, Q, KV };
// When a weight exists.
enum class Needs {
  Always,
  Supra,       // SUPRA mode
  SeparateKv,  // SUPRA with H != Hkv (separate_kv_feature_map)
  Untied,      // tie_embeddings is false (else output is tok_embeddings)
};
// How a fresh weight starts (random_checkpoint, add_supra_feature_maps).
enum class Init {
  Normal,  // near-normal, std 0.02 (Llama-style matrices)
  Ones,    // RMSNorm gains
  FanIn,   // torch.nn.Linear's default: U(-1/sqrt(fan_in), +1/sqrt(fan_in)), fan_in = the last dim
};

template <class T>
struct WeightSpec {
  const char* name;       // canonical; per-layer weights are named layers.{i}.<name>
  T ModelOf<T>::*model;   // a model-level weight, or
  T LayerOf<T>::*layer;   // a per-layer weight
  Dim rows, cols;         // the shape: [rows, cols], or [rows] when cols is None
  bool decay;             // AdamW weight decay applies (the matrices; not norms or biases)
  Needs needs;
  Init init;
  int stream;  // random_checkpoint's stream (never change one: every random model would change)
};

// In model order: the model-level weights before the per-layer ones, the per-layer block (visited once per layer),
// then the rest. The trainer's flat buffer and every saved training state follow this order.
template <class T>
inline constexpr WeightSpec<T> kWeightTable[] = {
    // name, model-level field, per-layer field, shape, decay, needs, init, stream
    {"tok_embeddings", &ModelOf<T>::tok_embeddings, nullptr, Dim::V, Dim::D, true, Needs::Always, Init::Normal, 0},
    {"attn_norm", nullptr, &LayerOf<T>::attn_norm, Dim::D, Dim::None, false, Needs::Always, Init::Ones, 0},
    {"wq", nullptr, &LayerOf<T>::wq, Dim::Q, Dim::D, true, Needs::Always, Init::Normal, 1},
    {"wk", nullptr, &LayerOf<T>::wk, Dim::KV, Dim::D, true, Needs::Always, Init::Normal, 2},
    {"wv", nullptr, &LayerOf<T>::wv, Dim::KV, Dim::D, true, Needs::Always, Init::Normal, 3},
    {"wo", nullptr, &LayerOf<T>::wo, Dim::D, Dim::Q, true, Needs::Always, Init::Normal, 4},
    {"ffn_norm", nullptr, &LayerOf<T>::ffn_norm, Dim::D, Dim::None, false, Needs::Always, Init::Ones, 5},
    {"w_gate", nullptr, &LayerOf<T>::w_gate, Dim::F, Dim::D, true, Needs::Always, Init::Normal, 6},
    {"w_up", nullptr, &LayerOf<T>::w_up, Dim::F, Dim::D, true, Needs::Always, Init::Normal, 7},
    {"w_down", nullptr, &LayerOf<T>::w_down, Dim::D, Dim::F, true, Needs::Always, Init::Normal, 8},
    {"phi_q_w", nullptr, &LayerOf<T>::phi_q_w, Dim::Q, Dim::Q, true, Needs::Supra, Init::FanIn, 0},
    {"phi_q_b", nullptr, &LayerOf<T>::phi_q_b, Dim::Q, Dim::None, false, Needs::Supra, Init::FanIn, 1},
    {"phi_k_w", nullptr, &LayerOf<T>::phi_k_w, Dim::KV, Dim::KV, true, Needs::SeparateKv, Init::FanIn, 2},
    {"phi_k_b", nullptr, &LayerOf<T>::phi_k_b, Dim::KV, Dim::None, false, Needs::SeparateKv, Init::FanIn, 3},
    {"final_norm", &ModelOf<T>::final_norm, nullptr, Dim::D, Dim::None, false, Needs::Always, Init::Ones, 2},
    {"output", &ModelOf<T>::output, nullptr, Dim::V, Dim::D, true, Needs::Untied, Init::Normal, 1},
};
inline constexpr int kWeightCount = int(std::size(kWeightTable<Tensor>));

// One weight of one model: a row of the table resolved against a config (and a layer).
struct Weight {
  int row = 0;     // row of kWeightTable
  int layer = -1;  // -1: a model-level weight
  std::string name;  // tok_embeddings, layers.3.wq, ...
  std::vector<int64_t> shape;
  bool decay = false;
  Needs needs = Needs::Always;
  Init init = Init::Normal;
  int stream = 0;

  bool matrix() const { return shape.size() == 2; }
  bool supra_only() const { return needs == Needs::Supra || needs == Needs::SeparateKv; }
  // This weight's place in a ModelOf<T> (const or not); its layers must already be there.
  template <class W>
  auto& in(W& w) const {
    using T = typename std::remove_const_t<W>::value_type;
    const WeightSpec<T>& s = kWeightTable<T>[row];
    return layer < 0 ? w.*(s.model) : w.layers.at(size_t(layer)).*(s.layer);
  }
};

bool config_has(const ModelConfig& c, Needs needs);
// Row `row` of the table for `layer` (-1 for a model-level weight) of a model with config c.
Weight make_weight(const ModelConfig& c, int row, int layer);
// The row of the weight called `name` (a table name, without the layers.{i}. prefix); an unknown name is an error.
int weight_row(std::string_view name);
inline bool is_layer_weight(std::string_view name) {
  return kWeightTable<Tensor>[weight_row(name)].layer != nullptr;
}
// Weight `name` of `layer` (-1 for a model-level one); nothing when the config has no such weight (a SUPRA weight
// of a softmax model, output when tied).
std::optional<Weight> find_weight(const ModelConfig& c, std::string_view name, int layer);

// Walks rows [0, n) of a table in model order: rows before the per-layer block once, the block (the rows for
// which is_layer(row) is true, contiguous) once per layer, then the rest. f(row, layer), layer -1 outside the block.
template <class IsLayer, class F>
void for_each_row_in_model_order(int n, int n_layers, IsLayer is_layer, F&& f) {
  int first = 0;
  while (first < n && !is_layer(first)) f(first++, -1);
  int end = first;
  while (end < n && is_layer(end)) end++;
  for (int l = 0; l < n_layers; l++)
    for (int r = first; r < end; r++) f(r, l);
  for (int r = end; r < n; r++) f(r, -1);
}

// Calls f(const Weight&) for every weight the config has, in model order (kWeightTable's comment). Skipped:
// SUPRA weights in softmax mode, Ak/bk when H == Hkv, and output when tied (callers set it to tok_embeddings).
template <class F>
void for_each_weight(const ModelConfig& c, F&& f) {
  for_each_row_in_model_order(
      kWeightCount, c.n_layers, [](int r) { return kWeightTable<Tensor>[r].layer != nullptr; },
      [&](int r, int layer) {
        if (config_has(c, kWeightTable<Tensor>[r].needs)) f(make_weight(c, r, layer));
      });
}

// Bytes of the weight matrices (what a decode step streams; norms and biases are not counted, a tied output
// matrix once), in their stored dtype or, when given, in `as` (the dtype a device keeps them in).
size_t matrix_bytes(const ModelConfig& c, const ModelWeights& w, std::optional<DType> as = std::nullopt);

}  // namespace supra
