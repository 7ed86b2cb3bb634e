#include "scrolls/long_tasks.h"

#include <algorithm>

namespace supra::scrolls {

std::vector<std::string> long_task_names() {
  std::vector<std::string> names = scrolls_task_names();
  for (const std::string& n : fixture_task_names()) names.push_back(n);
  names.push_back("passkey");
  names.push_back("kv_retrieval");
  names.push_back("ppl_by_position:<path>");
  return names;
}

std::unique_ptr<tasks::Task> make_long_task(const std::string& name) {
  const size_t colon = name.find(':');
  const std::string base = name.substr(0, colon);
  const std::string path = colon == std::string::npos ? "" : name.substr(colon + 1);
  const auto& official = scrolls_task_names();
  if (std::find(official.begin(), official.end(), base) != official.end()) return make_scrolls_task(base, path);
  const auto& fixtures = fixture_task_names();
  if (std::find(fixtures.begin(), fixtures.end(), name) != fixtures.end()) return make_fixture_task(name);
  if (name == "passkey") return make_passkey();
  if (name == "kv_retrieval") return make_kv_retrieval();
  if (base == "ppl_by_position" && colon != std::string::npos) return make_ppl_by_position(path);
  return nullptr;
}

}  // namespace supra::scrolls
