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

KVCache::KVCache(Backend& backend, int n_layers, int kv_dim, DType dtype, std::shared_ptr<Scratch> scratch)
    : backend_(backend), n_layers_(n_layers), kv_dim_(kv_dim), dtype_(dtype), scratch_(std::move(scratch)) {
  if (dtype != DType::F32 && dtype != DType::F16 && dtype != DType::BF16)
    fail("KV cache: dtype {} (expected f32, f16 or bf16)", dtype_name(dtype));
  if (!scratch_) scratch_ = std::make_shared<Scratch>();
}

namespace {
// Rows are allocated in blocks of 16: a fork holding a choice of a few tokens costs a few rows, not hundreds.
int64_t whole_blocks(int64_t rows) { return (rows + 15) / 16 * 16; }
}  // namespace

size_t KVCache::bytes_for(int n_layers, int kv_dim, DType dtype, int64_t rows) {
  return 2 * size_t(n_layers) * size_t(whole_blocks(rows)) * size_t(kv_dim) * dtype_size(dtype);
}

int64_t KVCache::shared_rows() const {
  int64_t r = 0;
  for (const Shared& s : shared_) r += s.rows;
  return r;
}

void KVCache::reserve(int64_t rows) {
  const int64_t base = shared_rows(), need = rows - base;
  if (need <= 0 || (tail_ && need <= tail_->capacity)) return;
  // At least a quarter more (and whole blocks of 16 rows): a cache of 32k tokens that starts decoding should not
  // reserve 64k rows.
  const int64_t old_cap = tail_ ? tail_->capacity : 0;
  const int64_t cap = whole_blocks(std::max<int64_t>(need, old_cap + old_cap / 4));  // whole blocks: bytes_for is exact
  auto grown = std::make_shared<Block>();
  grown->capacity = cap;
  const int64_t valid = n_past_ - base;
  for (int l = 0; l < n_layers_; l++) {
    grown->k.push_back(backend_.alloc(dtype_, {cap, kv_dim_}));
    grown->v.push_back(backend_.alloc(dtype_, {cap, kv_dim_}));
    if (valid > 0) {
      Tensor dk = grown->k.back().slice_rows(0, valid), dv = grown->v.back().slice_rows(0, valid);
      backend_.copy(tail_->k[size_t(l)].slice_rows(0, valid), dk);
      backend_.copy(tail_->v[size_t(l)].slice_rows(0, valid), dv);
    }
  }
  tail_ = std::move(grown);  // a fork still holding the old tail keeps it alive
}

KVCache::LayerView KVCache::append(int layer, const Tensor& k, const Tensor& v) {
  const int64_t n = k.rows();
  if (layer < 0 || layer >= n_layers_) fail("KV cache: layer {} of a cache of {} layers", layer, n_layers_);
  if (k.row_size() != kv_dim_ || v.row_size() != kv_dim_ || v.rows() != n)
    fail("KV cache: appending keys {} and values {} to a cache of rows of {} values", k.shape_str(), v.shape_str(),
         kv_dim_);
  reserve(n_past_ + n);
  const int64_t base = shared_rows(), end = n_past_ + n;
  Tensor& ks = tail_->k[size_t(layer)];
  Tensor& vs = tail_->v[size_t(layer)];
  Tensor kd = ks.slice_rows(n_past_ - base, end - base), vd = vs.slice_rows(n_past_ - base, end - base);
  backend_.convert(k, kd);
  backend_.convert(v, vd);
  if (shared_.empty() && dtype_ == DType::F32) return {ks.slice_rows(0, end), vs.slice_rows(0, end)};
  // Gather the blocks in order into fp32 rows [0, end).
  Scratch& sc = *scratch_;
  if (sc.k.empty() || sc.k.rows() < end || sc.k.device != backend_.device()) {
    const int64_t cap = std::max<int64_t>(whole_blocks(end), sc.k.empty() ? 0 : sc.k.rows() + sc.k.rows() / 4);
    sc.k = backend_.alloc(DType::F32, {cap, kv_dim_});
    sc.v = backend_.alloc(DType::F32, {cap, kv_dim_});
  }
  int64_t at = 0;
  auto gather = [&](const Tensor& kb, const Tensor& vb, int64_t rows) {
    Tensor dk = sc.k.slice_rows(at, at + rows), dv = sc.v.slice_rows(at, at + rows);
    backend_.convert(kb.slice_rows(0, rows), dk);
    backend_.convert(vb.slice_rows(0, rows), dv);
    at += rows;
  };
  for (const Shared& s : shared_)
    if (s.rows > 0) gather(s.block->k[size_t(layer)], s.block->v[size_t(layer)], s.rows);
  gather(ks, vs, end - base);
  return {sc.k.slice_rows(0, end), sc.v.slice_rows(0, end)};
}

std::unique_ptr<SequenceState> KVCache::fork() const { return fork_prefix(n_past_); }

// Shares the blocks that hold rows [0, n): the parent's shared segments, then as much of its own tail as is needed
// (the parent only ever appends past its n_past, so the shared rows never change under the fork).
std::unique_ptr<SequenceState> KVCache::fork_prefix(int64_t n) const {
  if (n < 0 || n > n_past_) fail("KV cache: a fork of the first {} of {} tokens", n, n_past_);
  auto f = std::make_unique<KVCache>(backend_, n_layers_, kv_dim_, dtype_, scratch_);
  int64_t left = n;
  for (const Shared& s : shared_) {
    if (left <= 0) break;
    const int64_t r = std::min(left, s.rows);
    f->shared_.push_back({s.block, r});
    left -= r;
  }
  if (left > 0) f->shared_.push_back({tail_, left});
  f->n_past_ = n;
  return f;
}

std::unique_ptr<SequenceState> KVCache::copy() const {
  auto c = std::make_unique<KVCache>(backend_, n_layers_, kv_dim_, dtype_, scratch_);
  c->reserve(std::max<int64_t>(n_past_, 1));
  for (int l = 0; l < n_layers_; l++) {
    int64_t at = 0;
    auto put = [&](const Tensor& kb, const Tensor& vb, int64_t rows) {
      Tensor dk = c->tail_->k[size_t(l)].slice_rows(at, at + rows);
      Tensor dv = c->tail_->v[size_t(l)].slice_rows(at, at + rows);
      backend_.copy(kb.slice_rows(0, rows), dk);
      backend_.copy(vb.slice_rows(0, rows), dv);
      at += rows;
    };
    for (const Shared& s : shared_)
      if (s.rows > 0) put(s.block->k[size_t(l)], s.block->v[size_t(l)], s.rows);
    if (n_past_ - at > 0) put(tail_->k[size_t(l)], tail_->v[size_t(l)], n_past_ - at);
  }
  c->n_past_ = n_past_;
  return c;
}

size_t KVCache::own_bytes() const {
  return tail_ ? bytes_for(n_layers_, kv_dim_, dtype_, tail_->capacity) : 0;
}

size_t KVCache::bytes() const {
  size_t b = own_bytes();
  for (const Shared& s : shared_) b += bytes_for(n_layers_, kv_dim_, dtype_, s.block->capacity);
  return b;
}

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
