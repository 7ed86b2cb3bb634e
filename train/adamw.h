#pragma once
// AdamW (Loshchilov & Hutter; PyTorch's torch.optim.AdamW): moments with bias correction, decoupled weight decay
// (p -= lr * wd * p) applied only to the parameters marked `decay` (matrices, not norms or biases).
#include <cstdint>
#include <vector>

#include "train/trainable_model.h"

namespace supra::train {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.95;  // the paper's uptraining betas (SUPRA.md section 5)
  double eps = 1e-8;
  double weight_decay = 0.1;
};

class AdamW {
 public:
  AdamW(size_t n_params, AdamWOptions opts) : opts_(opts), m_(n_params, 0.f), v_(n_params, 0.f) {}
  // One update with the given lr; `t` counts updates from 1 (bias correction).
  void update(std::vector<float>& params, const std::vector<float>& grads, const std::vector<ParamInfo>& layout,
              double lr, int64_t t);
  std::vector<float>& m() { return m_; }
  std::vector<float>& v() { return v_; }
  const AdamWOptions& options() const { return opts_; }

 private:
  AdamWOptions opts_;
  std::vector<float> m_, v_;
};

// sqrt(sum g^2) in double, in a fixed order.
double grad_norm(const std::vector<float>& grads);

}  // namespace supra::train
