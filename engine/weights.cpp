#include "engine/weights.h"

#include "core/error.h"

namespace supra {

namespace {

int64_t size_of(const ModelConfig& c, Dim d) {
  switch (d) {
    case Dim::D: return c.dim;
    case Dim::F: return c.hidden_dim;
    case Dim::V: return c.vocab_size;
    case Dim::Q: return c.q_dim();
    case Dim::KV: return c.kv_dim();
    case Dim::None: break;
  }
  fail("weight table: no size for this dimension");
}

}  // namespace

bool config_has(const ModelConfig& c, Needs needs) {
  switch (needs) {
    case Needs::Always: return true;
    case Needs::Supra: return c.attention == AttentionMode::Supra;
    case Needs::SeparateKv: return c.attention == AttentionMode::Supra && c.separate_kv_feature_map;
    case Needs::Untied: return !c.tie_embeddings;
  }
  return false;
}

Weight make_weight(const ModelConfig& c, int row, int layer) {
  const WeightSpec<Tensor>& s = kWeightTable<Tensor>[row];
  Weight w;
  w.row = row;
  w.layer = layer;
  w.name = layer < 0 ? s.name : "layers." + std::to_string(layer) + "." + s.name;
  w.shape = {size_of(c, s.rows)};
  if (s.cols != Dim::None) w.shape.push_back(size_of(c, s.cols));
  w.decay = s.decay;
  w.needs = s.needs;
  w.init = s.init;
  w.stream = s.stream;
  return w;
}

int weight_row(std::string_view name) {
  for (int r = 0; r < kWeightCount; r++)
    if (name == kWeightTable<Tensor>[r].name) return r;
  fail("weight table: no weight called '{}'", name);
}

std::optional<Weight> find_weight(const ModelConfig& c, std::string_view name, int layer) {
  const int r = weight_row(name);
  const WeightSpec<Tensor>& s = kWeightTable<Tensor>[r];
  if ((s.layer != nullptr) != (layer >= 0))
    fail("weight table: '{}' is a {} weight", name, s.layer ? "per-layer" : "model-level");
  if (!config_has(c, s.needs)) return std::nullopt;
  return make_weight(c, r, layer);
}

size_t matrix_bytes(const ModelConfig& c, const ModelWeights& w, std::optional<DType> as) {
  size_t b = 0;
  for_each_weight(c, [&](const Weight& wt) {
    const Tensor& t = wt.in(w);
    if (wt.matrix() && !t.empty()) b += as ? size_t(t.numel()) * dtype_size(*as) : t.nbytes();
  });
  return b;
}

}  // namespace supra
