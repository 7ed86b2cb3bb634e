#include "train/adamw.h"

#include <cmath>

namespace supra::train {

void AdamW::update(std::vector<float>& params, const std::vector<float>& grads, const std::vector<ParamInfo>& layout,
                   double lr, int64_t t) {
  const float b1 = float(opts_.beta1), b2 = float(opts_.beta2);
  const float c1 = float(1.0 / (1.0 - std::pow(opts_.beta1, double(t))));
  const float c2 = float(1.0 / (1.0 - std::pow(opts_.beta2, double(t))));
  const float eps = float(opts_.eps), flr = float(lr);
  for (const ParamInfo& p : layout) {
    const float wd = p.decay ? float(lr * opts_.weight_decay) : 0.f;
    const size_t end = p.offset + p.numel();
#pragma omp parallel for schedule(static) if (p.numel() > 65536)
    for (size_t i = p.offset; i < end; i++) {
      const float g = grads[i];
      m_[i] = b1 * m_[i] + (1.f - b1) * g;
      v_[i] = b2 * v_[i] + (1.f - b2) * g * g;
      const float mh = m_[i] * c1, vh = v_[i] * c2;
      params[i] -= flr * mh / (std::sqrt(vh) + eps) + wd * params[i];
    }
  }
}

double grad_norm(const std::vector<float>& grads) {
  double s = 0;
  for (float g : grads) s += double(g) * double(g);
  return std::sqrt(s);
}

}  // namespace supra::train
