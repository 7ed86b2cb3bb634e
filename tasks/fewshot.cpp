#include "tasks/fewshot.h"

#include "core/error.h"
#include "tasks/py_random.h"

namespace supra::tasks {

std::vector<int64_t> sample_fewshot(const std::string& task, int64_t pool_size, bool same_split, int64_t doc,
                                    int shots, uint64_t fewshot_seed) {
  if (shots < 0) fail("task {}: the number of shots must be >= 0, found {}", task, shots);
  if (shots == 0) return {};
  const int64_t usable = same_split ? pool_size - 1 : pool_size;
  if (shots > usable)
    fail("task {}: {} shots asked, but only {} examples are available to draw them from{}", task, shots,
         usable < 0 ? 0 : usable, same_split ? " (the split minus the evaluated document)" : "");
  PyRandom rng(fewshot_seed, static_cast<uint64_t>(doc));
  const std::vector<int64_t> drawn = rng.sample(pool_size, same_split ? shots + 1 : shots);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(shots));
  for (int64_t i : drawn) {
    if (same_split && i == doc) continue;
    if (static_cast<int>(out.size()) == shots) break;
    out.push_back(i);
  }
  return out;
}

std::string fewshot_prefix(const std::string& description, const std::vector<std::string>& shots) {
  std::string out = description;
  for (const std::string& s : shots) {
    out += s;
    out += kFewshotDelimiter;
  }
  return out;
}

}  // namespace supra::tasks
