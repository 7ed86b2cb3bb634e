#pragma once
// Learning rate: linear warm-up from 0 to lr_max over `warmup` steps, then cosine from lr_max down to lr_min at
// the last step (SUPRA.md section 5: 1000 warm-up steps then cosine, scaled down to our step counts).
#include <cstdint>

namespace supra::train {

struct Schedule {
  double lr_max = 0, lr_min = 0;
  int64_t warmup = 0, steps = 0;
  // lr of step `step` (0-based): (step+1)/warmup * lr_max while warming up; cosine over the remaining steps,
  // reaching lr_min at step `steps`-1.
  double lr(int64_t step) const;
};

}  // namespace supra::train
