#include "train/trainable_model.h"

#include <cmath>
#include <memory>

#include "core/error.h"
#include "train/ops.h"
#include "train/supra_attention_grad.h"

namespace supra::train {

// Activations of one step, N = B*L rows. Per layer: what the backward reads.
template <class T>
struct LayerActs {
  std::vector<T> x_in, rstd1, xn1;   // [N, D], [N], [N, D]
  std::vector<T> q0, k0, v;          // [N, Q], [N, KV], [N, KV]  projections
  std::vector<T> qf, kf;             // SUPRA: relu(phi(q0)) [N, Q], relu(phi(k0)) [N, KV] (before RoPE)
  std::vector<T> qr, kr;             // after RoPE (SUPRA: kr also scaled by 1/sqrt(d)); [N, Q], [N, KV]
  std::vector<T> krep, vrep;         // SUPRA with GQA: repeated to H heads [N, Q]
  std::vector<T> states;             // SUPRA: [B, H, n_chunks, d, d]
  std::vector<T> lse;                // softmax: [N, H]
  std::vector<T> att, gn_rstd;       // attention output [N, Q] (SUPRA: after GroupNorm), [N, H]
  std::vector<T> h, rstd2, xn2;      // residual after attention [N, D], [N], [N, D]
  std::vector<T> gate, up, act;      // [N, F] x3
};

template <class T>
struct TrainableModel<T>::Acts {
  int B = 0, L = 0;
  std::vector<int32_t> pos;  // [N] position of each row within its sequence
  std::vector<LayerActs<T>> layers;
  std::vector<T> x_last, rstdf, xnf, logits;  // [N, D], [N], [N, D], [N, V]
};

template <class T>
TrainableModel<T>::TrainableModel(const Checkpoint& ckpt, int chunk) : cfg_(ckpt.config), chunk_(chunk) {
  cfg_.validate(ckpt.path);
  if (cfg_.sliding_window) fail("{}: training with a sliding window is not supported", ckpt.path);
  if (chunk <= 0) fail("SUPRA chunk must be positive, got {}", chunk);
  if (int(ckpt.weights.layers.size()) != cfg_.n_layers)
    fail("{}: config says {} layers, weights have {}", ckpt.path, cfg_.n_layers, ckpt.weights.layers.size());
  // Registers every parameter (in the engine's weight order) and remembers where to copy its values from.
  size_t total = 0;
  std::vector<std::pair<size_t, Tensor>> sources;
  off_.layers.resize(size_t(cfg_.n_layers));
  for_each_weight(cfg_, [&](const Weight& wt) {
    const Tensor& src = wt.in(ckpt.weights);
    ParamInfo p{wt.name, total, wt.shape, wt.decay};
    if (src.empty() || src.numel() != int64_t(p.numel()))
      fail("{}: weight {} missing or of the wrong size (expected {} values, got {})", ckpt.path, wt.name, p.numel(),
           src.empty() ? 0 : src.numel());
    total += p.numel();
    sources.emplace_back(p.offset, src);
    wt.in(off_) = p.offset;
    info_.push_back(std::move(p));
  });
  if (cfg_.tie_embeddings) off_.output = off_.tok_embeddings;
  if (!cfg_.separate_kv_feature_map)  // H == Hkv: k uses Aq, bq (SUPRA.md section 2)
    for (LayerOf<size_t>& o : off_.layers) {
      o.phi_k_w = o.phi_q_w;
      o.phi_k_b = o.phi_q_b;
    }
  params_.assign(total, T(0));
  grads_.assign(total, T(0));
  std::vector<float> buf;
  for (const auto& [off, src] : sources) {
    buf.resize(size_t(src.numel()));
    convert_to_f32(src.dtype, src.data, buf.data(), buf.size());
    for (size_t i = 0; i < buf.size(); i++) params_[off + i] = T(buf[i]);
  }
  acts_ = new Acts();
}

template <class T>
TrainableModel<T>::~TrainableModel() {
  delete acts_;
}

template <class T>
void TrainableModel<T>::zero_grads() {
  std::fill(grads_.begin(), grads_.end(), T(0));
}

template <class T>
const std::vector<T>& TrainableModel<T>::last_logits() const {
  return acts_->logits;
}

template <class T>
double TrainableModel<T>::step(const int32_t* tokens, int B, int L, bool backward) {
  if (B <= 0 || L <= 0) fail("training step: batch {} and length {} must be positive", B, L);
  for (int64_t i = 0; i < int64_t(B) * (L + 1); i++)
    if (tokens[i] < 0 || tokens[i] >= cfg_.vocab_size)
      fail("training step: token id {} outside the vocabulary [0, {})", tokens[i], cfg_.vocab_size);
  forward(tokens, B, L);
  // Targets: columns 1..L of every row.
  const int64_t N = int64_t(B) * L;
  std::vector<int32_t> targets(static_cast<size_t>(N));
  for (int b = 0; b < B; b++)
    for (int t = 0; t < L; t++) targets[size_t(b) * L + t] = tokens[int64_t(b) * (L + 1) + t + 1];
  Acts& a = *acts_;
  std::vector<T> dlogits;
  if (backward) dlogits.resize(a.logits.size());
  const double loss = cross_entropy_forward_backward(a.logits.data(), targets.data(), N, cfg_.vocab_size, T(1.0 / double(N)),
                                                     backward ? dlogits.data() : nullptr);
  if (backward) {
    // The final projection and norm first, then the layers (dlogits would otherwise have to live in Acts).
    const int D = cfg_.dim, V = cfg_.vocab_size;
    std::vector<T> dxnf(size_t(N) * D, T(0)), dx(size_t(N) * D, T(0));
    linear_backward(dlogits.data(), a.xnf.data(), N, D, P(off_.output), V, dxnf.data(), G(off_.output), (T*)nullptr);
    rmsnorm_backward(dxnf.data(), a.x_last.data(), P(off_.final_norm), a.rstdf.data(), N, D, dx.data(),
                     G(off_.final_norm));
    a.x_last.swap(dx);  // hand dx to backward() through the (no longer needed) x_last buffer
    this->backward(tokens, B, L);
  }
  return loss / double(N);
}

template <class T>
void TrainableModel<T>::forward(const int32_t* tokens, int B, int L) {
  Acts& a = *acts_;
  const int64_t N = int64_t(B) * L;
  const int D = cfg_.dim, F = cfg_.hidden_dim, V = cfg_.vocab_size, Q = cfg_.q_dim(), KV = cfg_.kv_dim();
  const int H = cfg_.n_heads, Hkv = cfg_.n_kv_heads, d = cfg_.head_dim;
  const bool supra = cfg_.attention == AttentionMode::Supra;
  const int64_t nc = supra_n_chunks(L, chunk_);
  a.B = B;
  a.L = L;
  a.layers.resize(size_t(cfg_.n_layers));
  a.pos.resize(size_t(N));
  std::vector<int32_t> ids(static_cast<size_t>(N));
  for (int b = 0; b < B; b++)
    for (int t = 0; t < L; t++) {
      a.pos[size_t(b) * L + t] = t;
      ids[size_t(b) * L + t] = tokens[int64_t(b) * (L + 1) + t];
    }
  std::vector<T> x(size_t(N) * D), tmp(size_t(N) * D);
  embedding_forward(ids.data(), N, P(off_.tok_embeddings), D, x.data());
  for (int l = 0; l < cfg_.n_layers; l++) {
    const LayerOf<size_t>& o = off_.layers[size_t(l)];
    LayerActs<T>& s = a.layers[size_t(l)];
    s.x_in = x;
    s.rstd1.resize(size_t(N));
    s.xn1.resize(size_t(N) * D);
    rmsnorm_forward(x.data(), P(o.attn_norm), N, D, cfg_.norm_eps, s.xn1.data(), s.rstd1.data());
    s.q0.resize(size_t(N) * Q);
    s.k0.resize(size_t(N) * KV);
    s.v.resize(size_t(N) * KV);
    linear_forward(s.xn1.data(), N, D, P(o.wq), (const T*)nullptr, Q, s.q0.data());
    linear_forward(s.xn1.data(), N, D, P(o.wk), (const T*)nullptr, KV, s.k0.data());
    linear_forward(s.xn1.data(), N, D, P(o.wv), (const T*)nullptr, KV, s.v.data());
    s.att.resize(size_t(N) * Q);
    if (!supra) {
      s.qr = s.q0;
      s.kr = s.k0;
      rope_apply(s.qr.data(), a.pos.data(), N, H, d, cfg_.rope_theta, cfg_.rope_pairing, false);
      rope_apply(s.kr.data(), a.pos.data(), N, Hkv, d, cfg_.rope_theta, cfg_.rope_pairing, false);
      s.lse.resize(size_t(N) * H);
      for (int b = 0; b < B; b++) {
        const int64_t r = int64_t(b) * L;
        attention_forward(s.qr.data() + r * Q, s.kr.data() + r * KV, s.v.data() + r * KV, L, H, Hkv, d,
                          s.att.data() + r * Q, s.lse.data() + r * H);
      }
    } else {
      // q = relu(Aq q0 + bq), k = relu(Ak k0 + bk) (Aq, bq when H == Hkv); RoPE after phi; k /= sqrt(d).
      s.qf.resize(size_t(N) * Q);
      s.kf.resize(size_t(N) * KV);
      linear_forward(s.q0.data(), N, Q, P(o.phi_q_w), P(o.phi_q_b), Q, s.qf.data());
      linear_forward(s.k0.data(), N, KV, P(o.phi_k_w), P(o.phi_k_b), KV, s.kf.data());
      relu_forward(s.qf.data(), N * Q);
      relu_forward(s.kf.data(), N * KV);
      s.qr = s.qf;
      s.kr = s.kf;
      rope_apply(s.qr.data(), a.pos.data(), N, H, d, cfg_.rope_theta, cfg_.rope_pairing, false);
      rope_apply(s.kr.data(), a.pos.data(), N, Hkv, d, cfg_.rope_theta, cfg_.rope_pairing, false);
      const T ks = T(1) / std::sqrt(T(d));
      for (auto& z : s.kr) z *= ks;
      const T* kk = s.kr.data();
      const T* vv = s.v.data();
      if (H != Hkv) {
        s.krep.resize(size_t(N) * Q);
        s.vrep.resize(size_t(N) * Q);
        repeat_heads_forward(s.kr.data(), N, H, Hkv, d, s.krep.data());
        repeat_heads_forward(s.v.data(), N, H, Hkv, d, s.vrep.data());
        kk = s.krep.data();
        vv = s.vrep.data();
      }
      s.states.resize(size_t(B) * H * nc * d * d);
      std::vector<T> raw(size_t(N) * Q);
      for (int b = 0; b < B; b++) {
        const int64_t r = int64_t(b) * L;
        supra_forward(s.qr.data() + r * Q, kk + r * Q, vv + r * Q, L, H, d, cfg_.decay_slopes.data(), chunk_,
                      raw.data() + r * Q, s.states.data() + size_t(b) * H * nc * d * d);
      }
      s.gn_rstd.resize(size_t(N) * H);
      groupnorm_forward(raw.data(), N * H, d, cfg_.groupnorm_eps, s.att.data(), s.gn_rstd.data());
    }
    linear_forward(s.att.data(), N, Q, P(o.wo), (const T*)nullptr, D, tmp.data());
    for (size_t i = 0; i < x.size(); i++) x[i] += tmp[i];
    s.h = x;
    s.rstd2.resize(size_t(N));
    s.xn2.resize(size_t(N) * D);
    rmsnorm_forward(x.data(), P(o.ffn_norm), N, D, cfg_.norm_eps, s.xn2.data(), s.rstd2.data());
    s.gate.resize(size_t(N) * F);
    s.up.resize(size_t(N) * F);
    s.act.resize(size_t(N) * F);
    linear_forward(s.xn2.data(), N, D, P(o.w_gate), (const T*)nullptr, F, s.gate.data());
    linear_forward(s.xn2.data(), N, D, P(o.w_up), (const T*)nullptr, F, s.up.data());
    swiglu_forward(s.gate.data(), s.up.data(), N * F, s.act.data());
    linear_forward(s.act.data(), N, F, P(o.w_down), (const T*)nullptr, D, tmp.data());
    for (size_t i = 0; i < x.size(); i++) x[i] += tmp[i];
  }
  a.x_last = x;
  a.rstdf.resize(size_t(N));
  a.xnf.resize(size_t(N) * D);
  rmsnorm_forward(x.data(), P(off_.final_norm), N, D, cfg_.norm_eps, a.xnf.data(), a.rstdf.data());
  a.logits.resize(size_t(N) * V);
  linear_forward(a.xnf.data(), N, D, P(off_.output), (const T*)nullptr, V, a.logits.data());
}

// Layer by layer in reverse; dx (gradient of the residual stream after the last layer) arrives in acts.x_last.
template <class T>
void TrainableModel<T>::backward(const int32_t* tokens, int B, int L) {
  Acts& a = *acts_;
  const int64_t N = int64_t(B) * L;
  const int D = cfg_.dim, F = cfg_.hidden_dim, Q = cfg_.q_dim(), KV = cfg_.kv_dim();
  const int H = cfg_.n_heads, Hkv = cfg_.n_kv_heads, d = cfg_.head_dim;
  const bool supra = cfg_.attention == AttentionMode::Supra;
  const int64_t nc = supra_n_chunks(L, chunk_);
  std::vector<T> dx = std::move(a.x_last);
  std::vector<T> dxn(size_t(N) * D), dact(size_t(N) * F), dgate(size_t(N) * F), dup(size_t(N) * F);
  std::vector<T> datt(size_t(N) * Q), dq(size_t(N) * Q), dk(size_t(N) * KV), dv(size_t(N) * KV);
  for (int l = cfg_.n_layers - 1; l >= 0; l--) {
    const LayerOf<size_t>& o = off_.layers[size_t(l)];
    LayerActs<T>& s = a.layers[size_t(l)];
    // out = h + down(swiglu(gate(xn2), up(xn2))); dx is d out and becomes d h.
    std::fill(dact.begin(), dact.end(), T(0));
    linear_backward(dx.data(), s.act.data(), N, F, P(o.w_down), D, dact.data(), G(o.w_down), (T*)nullptr);
    std::fill(dgate.begin(), dgate.end(), T(0));
    std::fill(dup.begin(), dup.end(), T(0));
    swiglu_backward(dact.data(), s.gate.data(), s.up.data(), N * F, dgate.data(), dup.data());
    std::fill(dxn.begin(), dxn.end(), T(0));
    linear_backward(dgate.data(), s.xn2.data(), N, D, P(o.w_gate), F, dxn.data(), G(o.w_gate), (T*)nullptr);
    linear_backward(dup.data(), s.xn2.data(), N, D, P(o.w_up), F, dxn.data(), G(o.w_up), (T*)nullptr);
    rmsnorm_backward(dxn.data(), s.h.data(), P(o.ffn_norm), s.rstd2.data(), N, D, dx.data(), G(o.ffn_norm));
    // h = x_in + wo(att)
    std::fill(datt.begin(), datt.end(), T(0));
    linear_backward(dx.data(), s.att.data(), N, Q, P(o.wo), D, datt.data(), G(o.wo), (T*)nullptr);
    std::fill(dq.begin(), dq.end(), T(0));
    std::fill(dk.begin(), dk.end(), T(0));
    std::fill(dv.begin(), dv.end(), T(0));
    if (!supra) {
      std::vector<T> dqr(size_t(N) * Q, T(0)), dkr(size_t(N) * KV, T(0));
      for (int b = 0; b < B; b++) {
        const int64_t r = int64_t(b) * L;
        attention_backward(datt.data() + r * Q, s.qr.data() + r * Q, s.kr.data() + r * KV, s.v.data() + r * KV,
                           s.att.data() + r * Q, s.lse.data() + r * H, L, H, Hkv, d, dqr.data() + r * Q,
                           dkr.data() + r * KV, dv.data() + r * KV);
      }
      rope_apply(dqr.data(), a.pos.data(), N, H, d, cfg_.rope_theta, cfg_.rope_pairing, true);
      rope_apply(dkr.data(), a.pos.data(), N, Hkv, d, cfg_.rope_theta, cfg_.rope_pairing, true);
      dq.swap(dqr);
      dk.swap(dkr);
    } else {
      std::vector<T> draw(size_t(N) * Q, T(0));
      groupnorm_backward(datt.data(), s.att.data(), s.gn_rstd.data(), N * H, d, draw.data());
      std::vector<T> dqr(size_t(N) * Q, T(0)), dkrep(size_t(N) * Q, T(0)), dvrep(size_t(N) * Q, T(0));
      const T* kk = H != Hkv ? s.krep.data() : s.kr.data();
      const T* vv = H != Hkv ? s.vrep.data() : s.v.data();
      for (int b = 0; b < B; b++) {
        const int64_t r = int64_t(b) * L;
        supra_backward(draw.data() + r * Q, s.qr.data() + r * Q, kk + r * Q, vv + r * Q,
                       s.states.data() + size_t(b) * H * nc * d * d, L, H, d, cfg_.decay_slopes.data(), chunk_,
                       dqr.data() + r * Q, dkrep.data() + r * Q, dvrep.data() + r * Q);
      }
      std::vector<T> dkf(size_t(N) * KV, T(0));
      if (H != Hkv) {
        repeat_heads_backward(dkrep.data(), N, H, Hkv, d, dkf.data());
        repeat_heads_backward(dvrep.data(), N, H, Hkv, d, dv.data());
      } else {
        dkf.swap(dkrep);
        dv.swap(dvrep);
      }
      const T ks = T(1) / std::sqrt(T(d));
      for (auto& z : dkf) z *= ks;
      rope_apply(dqr.data(), a.pos.data(), N, H, d, cfg_.rope_theta, cfg_.rope_pairing, true);
      rope_apply(dkf.data(), a.pos.data(), N, Hkv, d, cfg_.rope_theta, cfg_.rope_pairing, true);
      relu_backward(s.qf.data(), N * Q, dqr.data());
      relu_backward(s.kf.data(), N * KV, dkf.data());
      linear_backward(dqr.data(), s.q0.data(), N, Q, P(o.phi_q_w), Q, dq.data(), G(o.phi_q_w), G(o.phi_q_b));
      linear_backward(dkf.data(), s.k0.data(), N, KV, P(o.phi_k_w), KV, dk.data(), G(o.phi_k_w), G(o.phi_k_b));
    }
    std::fill(dxn.begin(), dxn.end(), T(0));
    linear_backward(dq.data(), s.xn1.data(), N, D, P(o.wq), Q, dxn.data(), G(o.wq), (T*)nullptr);
    linear_backward(dk.data(), s.xn1.data(), N, D, P(o.wk), KV, dxn.data(), G(o.wk), (T*)nullptr);
    linear_backward(dv.data(), s.xn1.data(), N, D, P(o.wv), KV, dxn.data(), G(o.wv), (T*)nullptr);
    rmsnorm_backward(dxn.data(), s.x_in.data(), P(o.attn_norm), s.rstd1.data(), N, D, dx.data(), G(o.attn_norm));
  }
  std::vector<int32_t> ids(static_cast<size_t>(N));
  for (int b = 0; b < B; b++)
    for (int t = 0; t < L; t++) ids[size_t(b) * L + t] = tokens[int64_t(b) * (L + 1) + t];
  embedding_backward(ids.data(), N, dx.data(), D, G(off_.tok_embeddings));
}

template <class T>
Checkpoint TrainableModel<T>::to_checkpoint() const {
  Checkpoint ck;
  ck.config = cfg_;
  ck.config.weight_dtype = DType::F32;
  auto get = [&](size_t off, std::vector<int64_t> shape) {
    Tensor t = host_tensor(DType::F32, std::move(shape));
    float* p = t.ptr<float>();
    for (int64_t i = 0; i < t.numel(); i++) p[i] = float(params_[off + size_t(i)]);
    return t;
  };
  ModelWeights& w = ck.weights;
  w.layers.resize(size_t(cfg_.n_layers));
  for_each_weight(cfg_, [&](const Weight& wt) { wt.in(w) = get(wt.in(off_), wt.shape); });
  if (cfg_.tie_embeddings) w.output = w.tok_embeddings;
  return ck;
}

template class TrainableModel<float>;
template class TrainableModel<double>;

}  // namespace supra::train
