#include "harness/sample_corpus.h"

#include <chrono>
#include <cmath>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/splitmix64.h"

namespace supra {

namespace {

// Index drawn from softmax(logits / temperature); temperature 0 is the argmax (first on ties).
int32_t draw(const float* logits, int V, double temperature, std::mt19937_64& rng, std::vector<double>& p) {
  int32_t am = 0;
  for (int j = 1; j < V; j++)
    if (logits[j] > logits[am]) am = j;
  if (temperature <= 0) return am;
  p.resize(size_t(V));
  double sum = 0;
  for (int j = 0; j < V; j++) sum += (p[j] = std::exp((double(logits[j]) - double(logits[am])) / temperature));
  const double u = double(rng() >> 11) * 0x1.0p-53 * sum;
  double c = 0;
  for (int j = 0; j < V; j++) {
    c += p[j];
    if (u < c) return j;
  }
  return V - 1;
}

// Writes one story in the corpus format; false when the story holds no text (it is then not written).
bool write_story(std::ostream& out, std::string text, CorpusFormat format, bool first) {
  if (format != CorpusFormat::Lines && text.find_first_not_of(" \t\r\n") == std::string::npos) return false;
  switch (format) {
    case CorpusFormat::Jsonl:
      out << nlohmann::json{{"text", text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
      break;
    case CorpusFormat::Text:
      out << (first ? "" : "\n") << text << '\n';
      break;
    case CorpusFormat::Lines: {
      for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
      const size_t a = text.find_first_not_of(' '), b = text.find_last_not_of(' ');
      if (a == std::string::npos) return false;
      out << text.substr(a, b - a + 1) << '\n';
      break;
    }
  }
  return true;
}

}  // namespace

CorpusFormat parse_corpus_format(const std::string& name) {
  if (name == "jsonl") return CorpusFormat::Jsonl;
  if (name == "text") return CorpusFormat::Text;
  if (name == "lines") return CorpusFormat::Lines;
  fail("--format: expected jsonl, text or lines; got '{}'", name);
}

CorpusFormat corpus_format_for_path(const std::string& path) {
  return path.size() >= 6 && path.compare(path.size() - 6, 6, ".jsonl") == 0 ? CorpusFormat::Jsonl : CorpusFormat::Text;
}

SampleStats sample_corpus(Model& m, const Tokenizer& tok, const SampleOptions& o, std::ostream& out) {
  const int V = m.config().vocab_size;
  const int64_t max_len = o.max_len > 0 ? o.max_len : m.config().train_ctx;
  if (max_len < 2) fail("--max-len must leave room for a token after BOS (got {})", max_len);
  struct Slot {
    int64_t story = -1;
    std::mt19937_64 rng;
    std::vector<int32_t> ids;  // BOS first
    std::unique_ptr<SequenceState> state;
  };
  std::vector<Slot> slots(size_t(o.batch));
  int64_t next_story = 0, next_write = 0, written_tokens = 0, written_stories = 0;
  std::map<int64_t, std::vector<int32_t>> done;  // finished, waiting for their turn to be written
  auto start = [&](Slot& sl) {
    sl.story = next_story++;
    sl.rng.seed(splitmix64(o.seed ^ splitmix64(uint64_t(sl.story))));
    sl.ids.assign(1, tok.bos_id());
    sl.state = m.new_state();
  };
  for (auto& sl : slots) start(sl);
  Tensor hidden, logits;
  std::vector<float> host;
  std::vector<double> scratch;
  const auto t0 = std::chrono::steady_clock::now();
  int64_t decoded = 0;
  while (written_tokens < o.tokens) {
    std::vector<SeqInput> batch;
    for (auto& sl : slots) batch.push_back({sl.state.get(), std::span<const int32_t>(&sl.ids.back(), 1)});
    m.forward(batch, &hidden);
    m.logits(hidden, logits);
    host.resize(size_t(batch.size()) * V);
    m.backend().to_host(logits, host.data());
    decoded += int64_t(batch.size());
    for (size_t r = 0; r < slots.size(); r++) {
      Slot& sl = slots[r];
      const int32_t t = draw(host.data() + r * V, V, o.temperature, sl.rng, scratch);
      const bool end = t == tok.eos_id() || t == tok.bos_id();
      if (!end) sl.ids.push_back(t);
      if (end || int64_t(sl.ids.size()) >= max_len) {
        done[sl.story] = std::vector<int32_t>(sl.ids.begin() + 1, sl.ids.end());
        start(sl);
      }
    }
    // Write finished stories in index order, so the file does not depend on which slot finished first.
    while (written_tokens < o.tokens && done.count(next_write)) {
      const std::vector<int32_t>& ids = done[next_write];
      if (write_story(out, tok.decode(ids), o.format, written_stories == 0)) {
        written_tokens += int64_t(ids.size());
        written_stories++;
      }
      done.erase(next_write++);
    }
  }
  SampleStats st;
  st.stories = written_stories;
  st.tokens = written_tokens;
  st.max_len = max_len;
  st.decoded = decoded;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

}  // namespace supra
