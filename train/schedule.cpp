#include "train/schedule.h"

#include <cmath>
#include <numbers>

namespace supra::train {

double Schedule::lr(int64_t step) const {
  if (step < warmup) return lr_max * double(step + 1) / double(warmup);
  const int64_t span = steps - warmup - 1;
  if (span <= 0) return lr_max;
  const double f = std::min(1.0, double(step - warmup) / double(span));
  return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + std::cos(std::numbers::pi * f));
}

}  // namespace supra::train
