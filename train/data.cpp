#include "train/data.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/splitmix64.h"

namespace supra::train {

std::vector<int32_t> tokenize_corpus(const std::string& file, const Tokenizer& tok) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail("{}: cannot open the training text", file);
  const bool jsonl = file.size() >= 6 && file.compare(file.size() - 6, 6, ".jsonl") == 0;
  std::vector<int32_t> out;
  std::string line;
  int64_t docs = 0, line_no = 0;
  while (std::getline(in, line)) {
    line_no++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    std::string text = line;
    if (jsonl) {
      nlohmann::json rec;
      try {
        rec = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        fail("{}:{}: not a JSON record ({}); expected one {{\"text\": ...}} object per line", file, line_no, e.what());
      }
      if (!rec.is_object() || !rec.contains("text") || !rec["text"].is_string())
        fail("{}:{}: expected an object with a string field \"text\"", file, line_no);
      text = rec["text"].get<std::string>();
    }
    out.push_back(tok.bos_id());
    const auto ids = tok.encode(text);
    out.insert(out.end(), ids.begin(), ids.end());
    docs++;
  }
  if (docs == 0)
    fail("{}: no document: expected {}", file, jsonl ? "one {\"text\": ...} record per line" : "one document per line");
  return out;
}

PackedData::PackedData(std::vector<int32_t> tokens, int seq_len, uint64_t seed)
    : tokens_(std::move(tokens)), L_(seq_len), seed_(seed) {
  if (L_ <= 0) fail("sequence length must be positive, got {}", L_);
  n_ = (int64_t(tokens_.size()) - 1) / L_;
  if (n_ <= 0) fail("{} tokens cannot fill one sequence of {} + 1 tokens", tokens_.size(), L_);
}

std::vector<int64_t> PackedData::order(int64_t epoch) const {
  std::vector<int64_t> o(static_cast<size_t>(n_));
  for (int64_t i = 0; i < n_; i++) o[size_t(i)] = i;
  uint64_t state = splitmix64(seed_ ^ splitmix64(uint64_t(epoch) + 0x5eed));
  for (int64_t i = n_ - 1; i > 0; i--) {
    state = splitmix64(state);
    const int64_t j = int64_t(state % uint64_t(i + 1));
    std::swap(o[size_t(i)], o[size_t(j)]);
  }
  return o;
}

void PackedData::next_batch(Cursor& c, int B, std::vector<int32_t>& out) const {
  out.resize(size_t(B) * (L_ + 1));
  for (int b = 0; b < B; b++) {
    if (c.index >= n_) {
      c.epoch++;
      c.index = 0;
    }
    if (cached_epoch_ != c.epoch) {
      cached_order_ = order(c.epoch);
      cached_epoch_ = c.epoch;
    }
    const int32_t* s = sequence(cached_order_[size_t(c.index)]);
    std::copy(s, s + L_ + 1, out.begin() + int64_t(b) * (L_ + 1));
    c.index++;
  }
}

}  // namespace supra::train
