#pragma once
// The scorer's own work items, shared by scorer.cpp (the scoring API) and scorer_schedule.cpp (passes within the
// state-memory budget). Not for callers outside engine/.
#include <cstdint>
#include <vector>

#include "engine/scorer.h"

namespace supra {

// Tokens to append to one sequence; rows [score_from, size) of them produce log-probabilities of `targets`
// (or, with no targets, just the argmax).
struct Scorer::Job {
  SequenceState* state = nullptr;
  std::vector<int32_t> tokens;
  int64_t score_from = 0;
  std::vector<int32_t> targets;  // size() - score_from entries, or empty for argmax only
  std::vector<float> logprob;
  std::vector<int32_t> argmax;
  int64_t fed = 0;
};

// Members [begin, end) of one group of loglikelihood requests (a group shares its context when it has several).
struct Scorer::Slice {
  size_t group = 0, begin = 0, end = 0;
};

}  // namespace supra
