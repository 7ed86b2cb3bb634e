#include "engine/model.h"

#include <cmath>
#include <cstring>

#include "core/error.h"

namespace supra {

namespace {

// The host matrices `parts` stacked by rows, in their common dtype (f32 when they differ): one weight for the
// projections that share an input.
Tensor stack_rows(std::initializer_list<const Tensor*> parts) {
  int64_t rows = 0;
  DType dt = (*parts.begin())->dtype;
  for (const Tensor* t : parts) {
    rows += t->dim(0);
    if (t->dtype != dt) dt = DType::F32;
  }
  Tensor out = host_tensor(dt, {rows, (*parts.begin())->dim(1)});
  char* dst = static_cast<char*>(out.data);
  for (const Tensor* t : parts) {
    if (t->dtype == dt)
      std::memcpy(dst, t->data, t->nbytes());
    else
      convert_to_f32(t->dtype, t->data, reinterpret_cast<float*>(dst), size_t(t->numel()));
    dst += size_t(t->numel()) * dtype_size(dt);
  }
  return out;
}

// Weights that are only ever matmul's W (uploaded with upload_linear); q/k/v and gate/up are fused instead.
bool is_fused(const Weight& wt) {
  const auto f = kWeightTable<Tensor>[wt.row].layer;
  return f == &LayerWeights::wq || f == &LayerWeights::wk || f == &LayerWeights::wv || f == &LayerWeights::w_gate ||
         f == &LayerWeights::w_up;
}

}  // namespace

// Activation buffers of a forward over `rows` tokens, reused across calls.
struct Model::Workspace {
  int64_t rows = 0;
  Tensor tokens, positions;      // i32 [rows]
  Tensor x, xn, tmp;             // [rows, D]
  // q [rows, H*d], k and v [rows, Hkv*d], att [rows, H*d]. When H == Hkv, q and k are one [2 rows, H*d] buffer
  // (qk), and so are phi(q), phi(k) (qkf): a call's q rows then its k rows, adjacent, so a shared SUPRA feature map
  // is one GEMM over both.
  Tensor qk, q, k, v, att;
  Tensor qkf, qf, kf, krep, vrep;  // SUPRA: phi(q) [rows, H*d], phi(k) [rows, Hkv*d], repeated k, v [rows, H*d]
  Tensor gate, up;               // [rows, F]
  std::vector<int32_t> ids, pos;  // host copies of tokens and positions (capacity kept: no allocation per step)
};

Model::Model(const Checkpoint& ckpt, Backend& backend, ModelOptions opts)
    : cfg_(ckpt.config),
      backend_(backend),
      opts_(opts),
      ws_(std::make_unique<Workspace>()),
      kv_scratch_(std::make_shared<KVCache::Scratch>()) {
  load(ckpt, nullptr);
}

Model::Model(Checkpoint& ckpt, Backend& backend, ModelOptions opts, ReleaseHostWeights)
    : cfg_(ckpt.config),
      backend_(backend),
      opts_(opts),
      ws_(std::make_unique<Workspace>()),
      kv_scratch_(std::make_shared<KVCache::Scratch>()) {
  load(ckpt, &ckpt.weights);
}

// `release`: the checkpoint's weights, each emptied once the backend holds what it needs of it (a view the backend
// keeps shares the buffer, which then lives on with the model).
void Model::load(const Checkpoint& ckpt, ModelWeights* release) {
  cfg_.validate(ckpt.path);
  if (opts_.chunk < 1 || opts_.chunk > kMaxChunk)
    fail("SUPRA chunk length must be in 1..{}, got {}", kMaxChunk, opts_.chunk);
  if (int(ckpt.weights.layers.size()) != cfg_.n_layers)
    fail("{}: config says {} layers, weights have {}", ckpt.path, cfg_.n_layers, ckpt.weights.layers.size());
  w_.layers.resize(size_t(cfg_.n_layers));
  for_each_weight(cfg_, [&](const Weight& wt) {
    const Tensor& host = wt.in(ckpt.weights);
    if (host.empty())
      fail("{}: a {} model needs weight '{}', the checkpoint has none", ckpt.path, mode_name(cfg_.attention), wt.name);
    // Checked here, before any kernel: a conversion refusing the dtype inside a parallel region would abort.
    if (host.dtype != DType::F32 && host.dtype != DType::F16 && host.dtype != DType::BF16)
      fail("{}: weight '{}' is stored as {}: expected f32, f16 or bf16", ckpt.path, wt.name, dtype_name(host.dtype));
    if (is_fused(wt) || kWeightTable<Tensor>[wt.row].model == &ModelWeights::output) return;  // below
    // Every other matrix but the embedding table is only a matmul weight: packed once for the backend's GEMM.
    const bool linear = wt.matrix() && wt.layer >= 0;
    wt.in(w_) = linear ? backend_.upload_linear(host) : backend_.upload_weight(host);
    if (wt.matrix()) matrix_bytes_ += wt.in(w_).nbytes();
    if (release && wt.in(*release).data != ckpt.weights.tok_embeddings.data) wt.in(*release) = Tensor{};
  });
  // The output projection in the GEMM's form (packed on the CPU); tied: from the embedding table's host rows.
  const Tensor& out_host = cfg_.tie_embeddings ? ckpt.weights.tok_embeddings : ckpt.weights.output;
  w_.output = backend_.upload_linear(out_host);
  matrix_bytes_ += w_.output.nbytes();
  if (release) release->output = release->tok_embeddings = Tensor{};
  // q/k/v and gate/up share their input: each group stacked into one weight, one GEMM (SUPRA and GQA alike). A
  // feature map shared by q and k is one GEMM over their adjacent rows (attention_block); Aq and Ak stay two.
  const int64_t Q = cfg_.q_dim(), KV = cfg_.kv_dim(), F = cfg_.hidden_dim;
  qkv_parts_ = {Q, KV, KV};
  gate_up_parts_ = {F, F};
  fused_.resize(size_t(cfg_.n_layers));
  for (int l = 0; l < cfg_.n_layers; l++) {
    const LayerWeights& h = ckpt.weights.layers[size_t(l)];
    fused_[size_t(l)].wqkv = backend_.upload_linear(stack_rows({&h.wq, &h.wk, &h.wv}), qkv_parts_);
    fused_[size_t(l)].w_gate_up = backend_.upload_linear(stack_rows({&h.w_gate, &h.w_up}), gate_up_parts_);
    matrix_bytes_ += fused_[size_t(l)].wqkv.nbytes() + fused_[size_t(l)].w_gate_up.nbytes();
    if (release) {
      LayerWeights& r = release->layers[size_t(l)];
      r.wq = r.wk = r.wv = r.w_gate = r.w_up = Tensor{};
    }
  }
}

Model::~Model() = default;

std::unique_ptr<SequenceState> Model::new_state() {
  if (cfg_.attention == AttentionMode::Softmax)
    return std::make_unique<KVCache>(backend_, cfg_.n_layers, cfg_.kv_dim(), opts_.kv_dtype, kv_scratch_);
  return std::make_unique<SupraState>(backend_, cfg_.n_layers, cfg_.n_heads, cfg_.head_dim);
}

size_t Model::state_bytes(int64_t tokens) const {
  if (cfg_.attention == AttentionMode::Softmax)
    return KVCache::bytes_for(cfg_.n_layers, cfg_.kv_dim(), opts_.kv_dtype, tokens);
  return size_t(cfg_.n_layers) * size_t(cfg_.n_heads) * size_t(cfg_.head_dim) * size_t(cfg_.head_dim) * sizeof(float);
}

void Model::ensure_workspace(int64_t rows) {
  Workspace& w = *ws_;
  if (rows <= w.rows) return;
  const int64_t D = cfg_.dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim(), F = cfg_.hidden_dim;
  auto a = [&](DType t, std::vector<int64_t> s) { return backend_.alloc(t, std::move(s)); };
  w.tokens = a(DType::I32, {rows});
  w.positions = a(DType::I32, {rows});
  w.x = a(DType::F32, {rows, D});
  w.xn = a(DType::F32, {rows, D});
  w.tmp = a(DType::F32, {rows, D});
  if (Q == KV) {
    w.qk = a(DType::F32, {2 * rows, Q});
  } else {
    w.q = a(DType::F32, {rows, Q});
    w.k = a(DType::F32, {rows, KV});
  }
  w.v = a(DType::F32, {rows, KV});
  w.att = a(DType::F32, {rows, Q});
  w.gate = a(DType::F32, {rows, F});
  w.up = a(DType::F32, {rows, F});
  if (cfg_.attention == AttentionMode::Supra) {
    if (Q == KV) {
      w.qkf = a(DType::F32, {2 * rows, Q});
    } else {
      w.qf = a(DType::F32, {rows, Q});
      w.kf = a(DType::F32, {rows, KV});
    }
    w.krep = a(DType::F32, {rows, Q});
    w.vrep = a(DType::F32, {rows, Q});
  }
  w.rows = rows;
}

void Model::forward(std::span<const SeqInput> batch, Tensor* hidden) {
  int64_t N = 0;
  for (const SeqInput& s : batch) N += int64_t(s.tokens.size());
  if (N == 0) return;
  ensure_workspace(N);
  Workspace& w = *ws_;

  // Token ids and absolute positions of every row, sequence after sequence.
  std::vector<int32_t>& ids = w.ids;
  std::vector<int32_t>& pos = w.pos;
  ids.clear();
  pos.clear();
  for (const SeqInput& s : batch) {
    for (size_t i = 0; i < s.tokens.size(); i++) {
      ids.push_back(s.tokens[i]);
      pos.push_back(int32_t(s.state->n_past() + int64_t(i)));
    }
  }
  Tensor tokens = w.tokens.slice_rows(0, N), positions = w.positions.slice_rows(0, N);
  backend_.from_host(ids.data(), tokens);
  backend_.from_host(pos.data(), positions);

  Tensor x = w.x.slice_rows(0, N), xn = w.xn.slice_rows(0, N), tmp = w.tmp.slice_rows(0, N);
  Tensor att = w.att.slice_rows(0, N), gate = w.gate.slice_rows(0, N), up = w.up.slice_rows(0, N);
  backend_.embed(tokens, w_.tok_embeddings, x);

  for (int l = 0; l < cfg_.n_layers; l++) {
    const LayerWeights& L = w_.layers[size_t(l)];
    // h = x + Attn(RMSNorm(x))
    backend_.rmsnorm(x, L.attn_norm, cfg_.norm_eps, xn);
    attention_block(l, batch, xn, att);
    backend_.matmul(att, L.wo, tmp);
    backend_.add(x, tmp);
    // out = h + down(silu(gate(h')) * up(h')), h' = RMSNorm(h)
    backend_.rmsnorm(x, L.ffn_norm, cfg_.norm_eps, xn);
    Tensor* gate_up[] = {&gate, &up};
    backend_.matmul_parts(xn, fused_[size_t(l)].w_gate_up, gate_up_parts_, gate_up);
    backend_.swiglu(gate, up, gate);
    backend_.matmul(gate, L.w_down, tmp);
    backend_.add(x, tmp);
  }
  for (const SeqInput& s : batch) s.state->advance(int64_t(s.tokens.size()));

  if (hidden) {
    if (hidden->empty() || hidden->rows() < N || hidden->device != backend_.device())
      *hidden = backend_.alloc(DType::F32, {N, cfg_.dim});
    Tensor out = hidden->slice_rows(0, N);
    backend_.rmsnorm(x, w_.final_norm, cfg_.norm_eps, out);
    *hidden = out;
  }
}

// Attention of layer `layer` for every sequence in the batch: xn[N, D] -> out[N, H*d] (before W_o).
void Model::attention_block(int layer, std::span<const SeqInput> batch, const Tensor& xn, Tensor& out) {
  Workspace& w = *ws_;
  const LayerWeights& L = w_.layers[size_t(layer)];
  const int64_t N = xn.rows();
  const int H = cfg_.n_heads, Hkv = cfg_.n_kv_heads, d = cfg_.head_dim;
  const bool adjacent = !w.qk.empty();
  Tensor q = adjacent ? w.qk.slice_rows(0, N) : w.q.slice_rows(0, N);
  Tensor k = adjacent ? w.qk.slice_rows(N, 2 * N) : w.k.slice_rows(0, N), v = w.v.slice_rows(0, N);
  Tensor positions = w.positions.slice_rows(0, N);
  Tensor* qkv[] = {&q, &k, &v};
  backend_.matmul_parts(xn, fused_[size_t(layer)].wqkv, qkv_parts_, qkv);

  if (cfg_.attention == AttentionMode::Softmax) {
    backend_.rope(q, positions, H, d, cfg_.rope_theta, cfg_.rope_pairing);
    backend_.rope(k, positions, Hkv, d, cfg_.rope_theta, cfg_.rope_pairing);
    const SoftmaxAttnParams p{H, Hkv, d, cfg_.sliding_window};
    int64_t r = 0;
    for (const SeqInput& s : batch) {
      const int64_t n = int64_t(s.tokens.size());
      KVCache& cache = s.state->kv_cache();
      const KVCache::LayerView kv = cache.append(layer, k.slice_rows(r, r + n), v.slice_rows(r, r + n));
      Tensor o = out.slice_rows(r, r + n);
      backend_.attention(q.slice_rows(r, r + n), kv.k, kv.v, s.state->n_past(), p, o);
      r += n;
    }
    return;
  }

  // SUPRA: q = relu(Aq q0 + bq); k = relu(A k0 + b) with A = Ak when H != Hkv, else Aq (SUPRA.md section 2).
  Tensor qf, kf;
  if (!cfg_.separate_kv_feature_map && adjacent) {
    // One feature map for q and k: one GEMM over their 2N adjacent rows.
    Tensor qkf = w.qkf.slice_rows(0, 2 * N);
    backend_.matmul(w.qk.slice_rows(0, 2 * N), L.phi_q_w, qkf, &L.phi_q_b);
    backend_.relu(qkf);
    qf = w.qkf.slice_rows(0, N);
    kf = w.qkf.slice_rows(N, 2 * N);
  } else {
    qf = adjacent ? w.qkf.slice_rows(0, N) : w.qf.slice_rows(0, N);
    kf = adjacent ? w.qkf.slice_rows(N, 2 * N) : w.kf.slice_rows(0, N);
    backend_.matmul(q, L.phi_q_w, qf, &L.phi_q_b);
    backend_.relu(qf);
    backend_.matmul(k, cfg_.separate_kv_feature_map ? L.phi_k_w : L.phi_q_w, kf,
                    cfg_.separate_kv_feature_map ? &L.phi_k_b : &L.phi_q_b);
    backend_.relu(kf);
  }
  // RoPE after phi; per-head, so it commutes with repeating the kv heads: rotate Hkv heads, then repeat.
  backend_.rope(qf, positions, H, d, cfg_.rope_theta, cfg_.rope_pairing);
  backend_.rope(kf, positions, Hkv, d, cfg_.rope_theta, cfg_.rope_pairing);
  backend_.scale(kf, 1.f / std::sqrt(float(d)));
  Tensor krep = kf, vrep = v;
  if (Hkv != H) {
    krep = w.krep.slice_rows(0, N);
    vrep = w.vrep.slice_rows(0, N);
    backend_.repeat_heads(kf, H, Hkv, d, krep);
    backend_.repeat_heads(v, H, Hkv, d, vrep);
  }
  int64_t r = 0;
  for (const SeqInput& s : batch) {
    const int64_t n = int64_t(s.tokens.size());
    SupraAttnParams p{H, d, cfg_.decay_slopes.data(), opts_.form, opts_.chunk};
    if (n == 1) p.form = SupraForm::Recurrent;  // one token: the recurrence is the same math, cheapest
    Tensor o = out.slice_rows(r, r + n);
    backend_.supra_attention(qf.slice_rows(r, r + n), krep.slice_rows(r, r + n), vrep.slice_rows(r, r + n),
                             s.state->supra_state().layer(layer), p, o);
    r += n;
  }
  backend_.groupnorm(out, d, cfg_.groupnorm_eps);
}

void Model::logits(const Tensor& hidden, Tensor& out) {
  if (out.empty() || out.rows() < hidden.rows() || out.device != backend_.device())
    out = backend_.alloc(DType::F32, {hidden.rows(), cfg_.vocab_size});
  out = out.slice_rows(0, hidden.rows());
  backend_.matmul(hidden, w_.output, out);
}

}  // namespace supra
