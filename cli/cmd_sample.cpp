// supra-eval sample: a text corpus sampled from a model, for distillation-style uptraining when no corpus is at
// hand. Story i starts at BOS and ends at EOS, at BOS (llama2.c models delimit stories with BOS) or at --max-len
// tokens; it is written as one line (newlines inside a story become spaces, so a line is a document for `uptrain`).
// Story i draws from its own generator seeded by (seed, i), and stories are written in index order until the
// written text holds --tokens tokens; the batch only sets how many stories are decoded together.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

#include "core/error.h"
#include "core/splitmix64.h"
#include "cli/commands.h"
#include "cli/engine_options.h"

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

}  // namespace

void register_sample(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    int64_t tokens = 0;
    double temperature = 1.0;
    uint64_t seed = 0;
    std::string out;
    int batch = 32;
    int64_t max_len = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sample", "sample a text corpus (one story per line) from a model");
  add_engine_options(*cmd, args->eng);
  cmd->add_option("--tokens", args->tokens, "stop once the written stories hold this many tokens")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", args->temperature, "softmax temperature (0: greedy)")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", args->seed, "seed; story i uses a generator seeded from (seed, i)")->required();
  cmd->add_option("--out", args->out, "output text file")->required();
  cmd->add_option("--batch", args->batch, "stories decoded together")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-len", args->max_len, "longest story in tokens, BOS included (default: the training context)")
      ->check(CLI::PositiveNumber);
  cmd->callback([args] {
    EngineSession s = open_session(args->eng);
    const Tokenizer& tok = s.require_tokenizer();
    Model& m = *s.model;
    const int V = m.config().vocab_size;
    const int64_t max_len = args->max_len > 0 ? args->max_len : m.config().train_ctx;
    if (max_len < 2) fail("--max-len must leave room for a token after BOS (got {})", max_len);
    std::ofstream out(args->out, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot write the corpus", args->out);

    struct Slot {
      int64_t story = -1;
      std::mt19937_64 rng;
      std::vector<int32_t> ids;  // BOS first
      std::unique_ptr<SequenceState> state;
    };
    std::vector<Slot> slots(size_t(args->batch));
    int64_t next_story = 0, next_write = 0, written_tokens = 0, written_stories = 0;
    std::map<int64_t, std::vector<int32_t>> done;  // finished, waiting for their turn to be written
    auto start = [&](Slot& sl) {
      sl.story = next_story++;
      sl.rng.seed(splitmix64(args->seed ^ splitmix64(uint64_t(sl.story))));
      sl.ids.assign(1, tok.bos_id());
      sl.state = m.new_state();
    };
    for (auto& sl : slots) start(sl);
    Tensor hidden, logits;
    std::vector<float> host;
    std::vector<double> scratch;
    const auto t0 = std::chrono::steady_clock::now();
    int64_t decoded = 0;
    while (written_tokens < args->tokens) {
      std::vector<SeqInput> batch;
      for (auto& sl : slots) batch.push_back({sl.state.get(), std::span<const int32_t>(&sl.ids.back(), 1)});
      m.forward(batch, &hidden);
      m.logits(hidden, logits);
      host.resize(size_t(batch.size()) * V);
      m.backend().to_host(logits, host.data());
      decoded += int64_t(batch.size());
      for (size_t r = 0; r < slots.size(); r++) {
        Slot& sl = slots[r];
        const int32_t t = draw(host.data() + r * V, V, args->temperature, sl.rng, scratch);
        const bool end = t == tok.eos_id() || t == tok.bos_id();
        if (!end) sl.ids.push_back(t);
        if (end || int64_t(sl.ids.size()) >= max_len) {
          done[sl.story] = std::vector<int32_t>(sl.ids.begin() + 1, sl.ids.end());
          start(sl);
        }
      }
      // Write finished stories in index order, so the file does not depend on which slot finished first.
      while (written_tokens < args->tokens && done.count(next_write)) {
        const std::vector<int32_t>& ids = done[next_write];
        std::string text = tok.decode(ids);
        for (char& c : text)
          if (c == '\n' || c == '\r') c = ' ';
        const size_t a = text.find_first_not_of(' '), b = text.find_last_not_of(' ');
        if (a != std::string::npos) {
          out << text.substr(a, b - a + 1) << '\n';
          written_tokens += int64_t(ids.size());
          written_stories++;
        }
        done.erase(next_write++);
      }
    }
    out.close();
    if (!out) fail("{}: write failed", args->out);
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("out\t%s\nmodel\t%s\nstories\t%lld\ntokens\t%lld\ntemperature\t%g\nseed\t%llu\nbatch\t%d\nmax_len\t%lld\n"
                "seconds\t%.1f\ndecoded_tok_per_s\t%.0f\n",
                args->out.c_str(), s.ckpt.path.c_str(), (long long)written_stories, (long long)written_tokens,
                args->temperature, (unsigned long long)args->seed, args->batch, (long long)max_len, sec,
                double(decoded) / sec);
  });
}

}  // namespace supra
