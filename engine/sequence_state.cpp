#include "engine/sequence_state.h"

#include <algorithm>

#include "core/error.h"

namespace supra {

KVCache& SequenceState::kv_cache() {
  if (mode() != AttentionMode::Softmax)
    fail("sequence state: a softmax model was given a {} state (a state made by another model?)", mode_name(mode()));
  return static_cast<KVCache&>(*this);
}

SupraState& SequenceState::supra_state() {
  if (mode() != AttentionMode::Supra)
    fail("sequence state: a SUPRA model was given a {} state (a state made by another model?)", mode_name(mode()));
  return static_cast<SupraState&>(*this);
}

KVCache::KVCache(Backend& backend, int n_layers, int kv_dim)
    : backend_(backend), kv_dim_(kv_dim), k_(size_t(n_layers)), v_(size_t(n_layers)) {}

void KVCache::reserve(int64_t rows) {
  if (rows <= capacity_) return;
  // At least a quarter more (and whole blocks of 256 rows): a fork of a 32k-token cache that starts decoding
  // should not reserve 64k rows.
  const int64_t cap = std::max<int64_t>((rows + 255) / 256 * 256, capacity_ + capacity_ / 4);
  for (auto* list : {&k_, &v_})
    for (auto& t : *list) {
      Tensor grown = backend_.alloc(DType::F32, {cap, kv_dim_});
      if (n_past_ > 0) {
        Tensor dst = grown.slice_rows(0, n_past_);
        backend_.copy(t.slice_rows(0, n_past_), dst);
      }
      t = std::move(grown);
    }
  capacity_ = cap;
}

KVCache::LayerView KVCache::append(int layer, const Tensor& k, const Tensor& v) {
  const int64_t n = k.rows();
  if (layer < 0 || layer >= int(k_.size())) fail("KV cache: layer {} of a cache of {} layers", layer, k_.size());
  if (k.row_size() != kv_dim_ || v.row_size() != kv_dim_ || v.rows() != n)
    fail("KV cache: appending keys {} and values {} to a cache of rows of {} values", k.shape_str(), v.shape_str(),
         kv_dim_);
  reserve(n_past_ + n);
  Tensor& ks = k_[size_t(layer)];
  Tensor& vs = v_[size_t(layer)];
  Tensor kd = ks.slice_rows(n_past_, n_past_ + n), vd = vs.slice_rows(n_past_, n_past_ + n);
  backend_.copy(k, kd);
  backend_.copy(v, vd);
  return {ks.slice_rows(0, n_past_ + n), vs.slice_rows(0, n_past_ + n)};
}

std::unique_ptr<SequenceState> KVCache::fork() const { return fork_prefix(n_past_); }

std::unique_ptr<SequenceState> KVCache::fork_prefix(int64_t n) const {
  if (n < 0 || n > n_past_) fail("KV cache: a fork of the first {} of {} tokens", n, n_past_);
  auto f = std::make_unique<KVCache>(backend_, int(k_.size()), kv_dim_);
  f->reserve(std::max<int64_t>(n, 1));
  for (size_t l = 0; l < k_.size() && n > 0; l++) {
    Tensor dk = f->k_[l].slice_rows(0, n), dv = f->v_[l].slice_rows(0, n);
    backend_.copy(k_[l].slice_rows(0, n), dk);
    backend_.copy(v_[l].slice_rows(0, n), dv);
  }
  f->n_past_ = n;
  return f;
}

size_t KVCache::bytes() const { return 2 * k_.size() * size_t(capacity_) * size_t(kv_dim_) * sizeof(float); }

SupraState::SupraState(Backend& backend, int n_layers, int n_heads, int head_dim) : backend_(backend) {
  for (int l = 0; l < n_layers; l++) s_.push_back(backend_.alloc(DType::F32, {n_heads, head_dim, head_dim}));
}

std::unique_ptr<SequenceState> SupraState::fork() const {
  auto f = std::make_unique<SupraState>(backend_, int(s_.size()), int(s_[0].dim(0)), int(s_[0].dim(1)));
  for (size_t l = 0; l < s_.size(); l++) backend_.copy(s_[l], f->s_[l]);
  f->n_past_ = n_past_;
  return f;
}

size_t SupraState::bytes() const {
  size_t b = 0;
  for (auto& t : s_) b += t.nbytes();
  return b;
}

}  // namespace supra
