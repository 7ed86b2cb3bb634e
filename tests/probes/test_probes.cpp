// The synthetic probes: passkey prompts sized to L with the model's tokenizer, the key where the depth says, seeded
// keys, scoring; the sizing bisection; perplexity-by-position buckets.
// Bucket values are sums of small integer logprobs: exact in floating point, so compared exactly.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "engine/tokenizer.h"
#include "probes/registry.h"
#include "probes/probe_grid.h"

using namespace supra;
using namespace supra::probes;

namespace {

const Tokenizer& tok512() {
  static Tokenizer t(std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/tok512.model");
  return t;
}

tasks::TaskSettings settings(int64_t ctx, uint64_t seed = 1234) {
  tasks::TaskSettings st;
  st.ctx = ctx;
  st.fewshot_seed = seed;
  st.count_tokens = [](std::string_view s) { return int64_t(tok512().encode(s).size()); };
  return st;
}

std::string key_in(const std::string& prompt) {
  std::smatch m;
  REQUIRE(std::regex_search(prompt, m, std::regex("The pass key is (\\d+)\\. Remember it\\. (\\d+) is the pass key")));
  CHECK(m[1] == m[2]);
  return m[1];
}

}  // namespace

TEST_CASE("largest_fitting finds the largest count under the budget", "[probes]") {
  auto cost = [](int64_t n) { return 10 + 3 * n; };
  CHECK(largest_fitting(100, 40, cost) == 10);
  CHECK(largest_fitting(100, 41, cost) == 10);
  CHECK(largest_fitting(100, 42, cost) == 10);
  CHECK(largest_fitting(100, 43, cost) == 11);
  CHECK(largest_fitting(5, 1000, cost) == 5);
  CHECK(largest_fitting(100, 5, cost) == 0);  // nothing fits: the harness cuts and records it
  CHECK(items_before(10, 0) == 0);
  CHECK(items_before(10, 25) == 3);  // round(2.5) away from zero
  CHECK(items_before(10, 100) == 10);
}

TEST_CASE("passkey prompts fill the context, hide the key at the depth, and are seeded", "[probes][passkey]") {
  auto task = tasks::make_task(task_factories(), "passkey");
  REQUIRE(task);
  task->load("");
  for (int64_t ctx : {256, 1024, 4096}) {
    const auto st = settings(ctx);
    task->configure(st);
    REQUIRE(task->size() == kProbeDocs);
    for (int64_t doc = 0; doc < 5; doc++) {
      const auto reqs = task->requests(doc, st);
      REQUIRE(reqs.size() == 2);
      CHECK(reqs[0].type == tasks::RequestType::GenerateUntil);
      CHECK(reqs[1].type == tasks::RequestType::Loglikelihood);
      const std::string& p = reqs[0].context;
      const int64_t n = st.count_tokens(p);
      CHECK(n <= ctx - 12);
      CHECK(n >= ctx - 12 - 12);  // within about a sentence of the budget
      CHECK(p.ends_with("\nWhat is the pass key? The pass key is"));
      const std::string key = key_in(p);
      CHECK(reqs[1].continuation == " " + key);
      // Depth: the share of filler before the key line.
      const size_t at = p.find("The pass key is");
      const double before = double(at), after = double(p.size() - at);
      const int depth = probe_cell(doc, "passkey").depth;
      if (depth == 0) CHECK(before < 200);
      if (depth == 100) CHECK(after < 150);
      if (depth == 50 && ctx >= 1024) CHECK(std::abs(before / (before + after) - 0.5) < 0.05);
    }
  }
  // Same seed, same keys; another seed, other keys.
  task->configure(settings(512, 1));
  const auto a = task->requests(3, settings(512, 1)), b = task->requests(3, settings(512, 1));
  task->configure(settings(512, 2));
  const auto c = task->requests(3, settings(512, 2));
  CHECK(key_in(a[0].context) == key_in(b[0].context));
  CHECK(key_in(a[0].context) != key_in(c[0].context));
}

TEST_CASE("passkey scoring: exact match of the first digits, per depth cell", "[probes][passkey]") {
  auto task = tasks::make_task(task_factories(), "passkey");
  task->load("");
  const auto st = settings(256);
  task->configure(st);
  const std::string key = key_in(task->requests(7, st)[0].context);  // doc 7: depth 50
  tasks::Response gen, ll;
  ll.logprob = -3.5;
  gen.text = " " + key + ". Remember";
  auto m = task->process(7, {gen, ll});
  CHECK(m.at("acc").value == 1.0);
  CHECK(m.at("acc_d50").value == 1.0);
  CHECK(m.count("acc_d0") == 0);
  CHECK(m.at("key_logprob").value == -3.5);
  gen.text = " " + key + "0";  // more digits: not the key
  CHECK(task->process(7, {gen, ll}).at("acc").value == 0.0);
  gen.text = " the key";
  CHECK(task->process(7, {gen, ll}).at("acc_d50").value == 0.0);
}

TEST_CASE("perplexity by position: documents of at most L tokens, buckets doubling from 16", "[probes][ppl]") {
  const std::string path = std::string(SUPRA_SOURCE_DIR) + "/datasets/text/lambada_passages_150.txt";
  auto task = tasks::make_task(task_factories(), "ppl_by_position:" + path);
  REQUIRE(task);
  CHECK(task->name().starts_with("ppl_by_position:lambada_passages_150.txt@"));
  task->load("");
  const auto st = settings(256);
  task->configure(st);
  REQUIRE(task->size() > 10);
  for (int64_t d = 0; d < task->size(); d++) {
    const auto r = task->requests(d, st);
    REQUIRE(r.size() == 1);
    CHECK(r[0].type == tasks::RequestType::LoglikelihoodRolling);
    CHECK(st.count_tokens(r[0].context) <= 256);
    if (d + 1 < task->size()) CHECK(st.count_tokens(r[0].context) > 230);
  }
  std::vector<std::string> names;
  for (const auto& m : task->metrics()) names.push_back(m.name);
  CHECK(names == std::vector<std::string>{"ppl_pos_16", "ppl_pos_32", "ppl_pos_64", "ppl_pos_128", "ppl_pos_256",
                                          "token_perplexity"});
  // 40 tokens: positions 0-15 -> ppl_pos_16, 16-31 -> ppl_pos_32, 32-39 -> ppl_pos_64.
  tasks::Response resp;
  for (int i = 0; i < 40; i++) resp.token_logprobs.push_back(-float(i));
  const auto m = task->process(0, {resp});
  CHECK(m.at("ppl_pos_16").value == -120.0);  // -(0+...+15)
  CHECK(m.at("ppl_pos_16").weight == 16);
  CHECK(m.at("ppl_pos_32").value == -376.0);  // -(16+...+31)
  CHECK(m.at("ppl_pos_64").weight == 8);
  CHECK(m.count("ppl_pos_128") == 0);
  CHECK(m.at("token_perplexity").value == -780.0);
  CHECK(m.at("token_perplexity").weight == 40);
}

TEST_CASE("kv_retrieval prompts hold the asked pair at the depth among distractors sized to L", "[probes][kv]") {
  auto task = tasks::make_task(task_factories(), "kv_retrieval");
  REQUIRE(task);
  task->load("");
  REQUIRE(task->size() == kProbeDocs);
  for (int64_t ctx : {512, 2048}) {
    const auto st = settings(ctx);
    task->configure(st);
    for (int64_t doc : {0, 2, 4}) {  // depths 0, 50, 100
      const auto reqs = task->requests(doc, st);
      REQUIRE(reqs.size() == 2);
      const std::string& p = reqs[0].context;
      const int64_t n = st.count_tokens(p);
      CHECK(n <= ctx - 48);
      CHECK(n >= ctx - 48 - 90);  // within one pair of the budget
      std::smatch m;
      REQUIRE(std::regex_search(p, m, std::regex("\nKey: \"([0-9a-f-]{36})\"\nCorresponding value:$")));
      const std::string key = m[1];
      const std::string value = reqs[1].continuation.substr(1);
      const size_t at = p.find("\"" + key + "\": \"" + value + "\"");
      REQUIRE(at != std::string::npos);
      const size_t first = p.find("{\""), last = p.rfind("\"}");
      const double depth = double(at - first) / double(last - first);
      const int want = probe_cell(doc, "kv_retrieval").depth;
      if (want == 0) CHECK(at == first + 1);                                 // the first pair
      if (want == 100) CHECK(at + key.size() + value.size() + 6 == last + 1);  // the last pair
      if (want == 50 && ctx == 2048) CHECK(std::abs(depth - 0.5) < 0.08);
      // The asked key appears once in the object (and once in the question).
      size_t count = 0;
      for (size_t i = p.find(key); i != std::string::npos; i = p.find(key, i + 1)) count++;
      CHECK(count == 2);
    }
  }
  tasks::Response gen, ll;
  const auto st = settings(512);
  task->configure(st);
  const std::string value = task->requests(1, st)[1].continuation.substr(1);
  gen.text = " \"" + value + "\"";
  CHECK(task->process(1, {gen, ll}).at("acc_d25").value == 1.0);
  gen.text = " " + value.substr(0, 30);
  CHECK(task->process(1, {gen, ll}).at("acc").value == 0.0);
}
