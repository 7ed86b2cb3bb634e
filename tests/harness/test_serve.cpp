// supra-eval serve, driven the way lm-evaluation-harness's `local-completions` drives it (tests/harness/serve_util.h):
// loglikelihoods equal `supra-eval logprobs` on the same ids in both modes, PIQA through the server equals
// `supra-eval run`, greedy generation equals `generate`, bad input gets a JSON error while the server keeps serving,
// concurrent clients each get their own answers, and the prefix cache computes a shared context once.
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "engine/scorer.h"
#include "harness/engine_session.h"
#include "harness/request_encoding.h"
#include "harness/task_catalog.h"
#include "tests/engine/test_util.h"
#include "tests/harness/serve_util.h"
#include "tests/harness/store_query.h"

using namespace supra;
using namespace supra::test;
using Catch::Contains;

namespace {

const std::string kSoftmax = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";
const std::string kSupra = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K-supra";

std::string served_name(const std::string& model) { return std::filesystem::path(model).filename().string(); }

EngineSession session(const std::string& model) {
  EngineOptions o;
  o.model = model;
  o.threads = 1;
  return open_session(o);
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t t : ids) s += std::to_string(t) + " ";
  return s;
}

// `supra-eval logprobs --ids`: log P(token i | tokens before it) for i >= 1, as printed (6 decimals).
std::vector<double> cli_logprobs(const std::string& model, const std::vector<int32_t>& ids, const std::string& name) {
  std::string out;
  const int rc = run_cli({"logprobs", "--model", model, "--ids", join_ids(ids), "--threads", "1"}, out,
                         fresh_temp("serve", name + ".log").string());
  INFO(out);
  REQUIRE(rc == 0);
  std::vector<double> lp(ids.size(), 0.0);
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line.find('\t') == std::string::npos) continue;
    std::istringstream ls(line);
    size_t pos = 0;
    int tok = 0;
    double v = 0;
    if (ls >> pos >> tok >> v && pos < lp.size()) lp[pos] = v;
  }
  return lp;
}

// The bound on two summed logprobs of `n` tokens computed in different orders (a fork of a cached context against
// one pass; another batch composition), plus the 6-decimal printing of `supra-eval logprobs` per token.
double sum_tol(Model& m, const std::vector<int32_t>& ids, int64_t n, bool printed) {
  return logprob_tol(m.config(), int64_t(ids.size()), n, logit_scale(m, ids)) + (printed ? double(n) * 5e-7 : 0.0);
}

std::vector<LlRequest> story_requests(const Tokenizer& tok) {
  const std::vector<std::string> contexts = {"Once upon a time, there was a little girl", "The cat sat on the"};
  const std::vector<std::string> conts = {" named Lily.", " who liked to play outside.", " mat.", " big red ball."};
  std::vector<LlRequest> reqs;
  for (const auto& c : contexts)
    for (const auto& x : conts) {
      const LoglikelihoodRequest r = encode_pair(tok, c, x, true);
      reqs.push_back({r.context, r.continuation});
    }
  return reqs;
}

}  // namespace

TEST_CASE("serve: lm-eval loglikelihood requests equal supra-eval logprobs on the same ids in both modes", "[serve]") {
  for (const std::string& model : {kSoftmax, kSupra}) {
    INFO(model);
    EngineSession s = session(model);
    const Tokenizer& tok = s.require_tokenizer();
    const auto reqs = story_requests(tok);
    ServeProcess server({"--model", model}, "ll");
    auto c = server.client();
    const std::string name = served_name(model);
    // Context lengths: the whole request, and one that cuts the left (lm-eval's max_length).
    size_t longest = 0;
    for (const auto& r : reqs) longest = std::max(longest, r.continuation.size());
    for (const int64_t max_length : {int64_t(512), int64_t(longest + 2)}) {
      for (const size_t batch : {size_t(1), size_t(8)}) {
        const auto got = lm_eval_loglikelihood(c, name, reqs, max_length, batch);
        REQUIRE(got.size() == reqs.size());
        for (size_t i = 0; i < reqs.size(); i++) {
          int64_t ctxlen = 0;
          const auto inp = ll_input(reqs[i], max_length, ctxlen);
          REQUIRE(ctxlen > 0);
          const auto ref = cli_logprobs(model, inp, "ll_ref");
          double want = 0;
          for (size_t t = size_t(ctxlen); t < inp.size(); t++) want += ref[t];
          // is_greedy as the scorer sees it on the same ids.
          Scorer scorer(*s.model, {int64_t(inp.size()), 512, 1});
          LoglikelihoodRequest lr{{inp.begin(), inp.begin() + ctxlen}, {inp.begin() + ctxlen, inp.end()}};
          const auto sc = scorer.loglikelihood(std::span<const LoglikelihoodRequest>(&lr, 1));
          INFO("request " << i << " max_length " << max_length << " batch " << batch);
          CHECK(std::abs(got[i].first - want) <= sum_tol(*s.model, inp, int64_t(inp.size()) - ctxlen, true));
          CHECK(got[i].second == sc[0].is_greedy);
        }
      }
    }
    // A string prompt is BOS + its tokens, and scores as those ids do.
    const Reply r = post(c, "/v1/completions",
                         json{{"model", name}, {"prompt", "Once upon a time"}, {"max_tokens", 1}, {"echo", true},
                              {"logprobs", 1}, {"temperature", 0}}.dump());
    REQUIRE(r.status == 200);
    std::vector<int32_t> ids = {int32_t(tok.bos_id())};
    for (int32_t t : tok.encode("Once upon a time")) ids.push_back(t);
    const auto& lps = r.body["choices"][0]["logprobs"]["token_logprobs"];
    REQUIRE(lps.size() == ids.size() + 1);
    CHECK(lps[0].is_null());
    const auto ref = cli_logprobs(model, ids, "str_ref");
    for (size_t t = 1; t < ids.size(); t++)
      CHECK(std::abs(lps[t].get<double>() - ref[t]) <= sum_tol(*s.model, ids, 1, true));
    CHECK(server.stop() == 0);
  }
}

TEST_CASE("serve: PIQA scored through the server equals supra-eval run on the same documents", "[serve]") {
  const int64_t n_docs = 12;
  for (const std::string& model : {kSoftmax, kSupra}) {
    INFO(model);
    const auto db = fresh_temp("serve", "piqa.sqlite");
    std::string out;
    REQUIRE(run_cli({"run", "--model", model, "--tasks", "piqa", "--limit", std::to_string(n_docs), "--db", db.string(),
                     "--threads", "1"},
                    out, fresh_temp("serve", "piqa_run.log").string()) == 0);
    EngineSession s = session(model);
    const Tokenizer& tok = s.require_tokenizer();
    auto task = make_any_task("piqa");
    task->load("");
    tasks::TaskSettings ts;
    ts.ctx = s.ckpt.config.train_ctx;
    task->configure(ts);
    ServeProcess server({"--model", model}, "piqa");
    auto c = server.client();
    for (int64_t d = 0; d < n_docs; d++) {
      const auto reqs = task->requests(d, ts);
      std::vector<LlRequest> ll;
      for (const auto& q : reqs) {
        const LoglikelihoodRequest r = encode_pair(tok, q.context, q.continuation, false);  // run's add_bos default
        ll.push_back({r.context, r.continuation});
      }
      const auto got = lm_eval_loglikelihood(c, served_name(model), ll, ts.ctx, 1);
      std::vector<tasks::Response> responses;
      for (size_t i = 0; i < got.size(); i++) {
        tasks::Response r;
        r.logprob = got[i].first;
        r.is_greedy = got[i].second;
        responses.push_back(r);
        const double stored = query_double(
            db, "SELECT logprob FROM samples WHERE run_id = 1 AND doc = " + std::to_string(d) + " AND request = " +
                    std::to_string(i));
        std::vector<int32_t> all = ll[i].context;
        all.insert(all.end(), ll[i].continuation.begin(), ll[i].continuation.end());
        INFO("doc " << d << " request " << i);
        CHECK(std::abs(got[i].first - stored) <= sum_tol(*s.model, all, int64_t(ll[i].continuation.size()), false));
      }
      for (const auto& [metric, v] : task->process(d, responses)) {
        INFO("doc " << d << " metric " << metric);
        CHECK(v.value == query_double(db, "SELECT value FROM doc_metrics WHERE run_id = 1 AND doc = " +
                                              std::to_string(d) + " AND metric = '" + metric + "'"));
      }
    }
    CHECK(server.stop() == 0);
  }
}

TEST_CASE("serve: greedy generation equals supra-eval generate, and a seed repeats a sample", "[serve]") {
  ServeProcess server({"--model", kSoftmax}, "gen");
  auto c = server.client();
  const std::string name = served_name(kSoftmax);
  EngineSession s = session(kSoftmax);
  const Tokenizer& tok = s.require_tokenizer();
  const std::string prompt = "Once upon a time";
  for (const std::vector<std::string>& stop : {std::vector<std::string>{}, std::vector<std::string>{"."}}) {
    std::vector<std::string> args = {"generate", "--model", kSoftmax, "--prompt", prompt, "--max-tokens", "40",
                                     "--threads", "1"};
    for (const auto& u : stop) args.insert(args.end(), {"--until", u});
    std::string out;
    REQUIRE(run_cli(args, out, fresh_temp("serve", "gen.log").string()) == 0);
    // stdout's line (stderr's note may come first in the shared log: stdout to a file is flushed at exit).
    std::string want, line;
    std::istringstream lines(out);
    while (std::getline(lines, line))
      if (line.rfind(prompt, 0) == 0) want = line;
    INFO(out);
    REQUIRE(!want.empty());
    // Text prompt (the server adds BOS as generate does) and the same prompt as ids (lm-eval's tokenized requests).
    std::vector<int32_t> ids = {int32_t(tok.bos_id())};
    for (int32_t t : tok.encode(prompt)) ids.push_back(t);
    CHECK(lm_eval_generate(c, prompt, name, 40, stop)[0] == want.substr(prompt.size()));
    CHECK(lm_eval_generate(c, json::array({ids}), name, 40, stop)[0] == want.substr(prompt.size()));
  }
  const auto a = lm_eval_generate(c, prompt, name, 30, {}, 0.9, 7);
  const auto b = lm_eval_generate(c, prompt, name, 30, {}, 0.9, 7);
  CHECK(a == b);
  CHECK(server.stop() == 0);
}

namespace {

// Sends raw bytes on a fresh connection and closes it without reading: a client that goes away mid-request.
void send_and_close(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size()));
  close(fd);
}

void expect_error(const Reply& r, int status, const std::string& type, const std::string& says) {
  INFO(r.body.dump());
  CHECK(r.status == status);
  REQUIRE(r.body.is_object());
  REQUIRE(r.body.contains("error"));
  CHECK(r.body["error"]["type"] == type);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Contains(says));
}

}  // namespace

TEST_CASE("serve: bad requests get a JSON error naming the fault and the server keeps serving", "[serve]") {
  ServeProcess server({"--model", kSoftmax, "--api-key", "k3y", "--max-payload-mib", "0.01"}, "bad");
  auto c = server.client();
  const httplib::Headers key = {{"Authorization", "Bearer k3y"}};
  const std::string name = served_name(kSoftmax);
  auto completion = [&](const json& body) { return post(c, "/v1/completions", body.dump(), key); };

  expect_error(post(c, "/v1/completions", R"({"prompt":[1,2]})"), 401, "authentication_error", "API key");
  expect_error(post(c, "/v1/completions", R"({"prompt":[1,2]})", {{"Authorization", "Bearer nope"}}), 401,
               "authentication_error", "API key");
  CHECK(get(c, "/health").status == 200);  // liveness needs no key
  expect_error(post(c, "/v1/completions", R"({"prompt": [1, 2)", key), 400, "invalid_request_error", "not valid JSON");
  expect_error(post(c, "/v1/completions", R"([1, 2])", key), 400, "invalid_request_error", "JSON object");
  {
    const Reply r = completion({{"prompt", {1, 2}}, {"max_tokens", 1}, {"temprature", 0}});
    expect_error(r, 400, "invalid_request_error", "unknown field \"temprature\"");
    CHECK(r.body["error"]["param"] == "temprature");
  }
  expect_error(completion({{"prompt", {{1, 2}, {1, 512}}}, {"max_tokens", 1}}), 400, "invalid_request_error",
               "prompt[1][1]: token id 512 is outside the vocabulary [0, 512)");
  expect_error(completion({{"prompt", {1, -3}}, {"max_tokens", 1}}), 400, "invalid_request_error",
               "outside the vocabulary");
  expect_error(completion({{"prompt", {1, 2.5}}, {"max_tokens", 1}}), 400, "invalid_request_error",
               "must be an integer");
  expect_error(completion({{"max_tokens", 1}}), 400, "invalid_request_error", "\"prompt\" is required");
  expect_error(completion({{"prompt", json::array()}, {"max_tokens", 1}}), 400, "invalid_request_error", "prompt");
  expect_error(completion({{"prompt", std::vector<int>(600, 5)}, {"max_tokens", 1}}), 400, "invalid_request_error",
               "the context length is 512");
  expect_error(completion({{"prompt", std::vector<int>(500, 5)}, {"max_tokens", 20}}), 400, "invalid_request_error",
               "the context length is 512");
  expect_error(completion({{"prompt", {1, 2}}, {"model", "gpt-4"}}), 404, "not_found_error", "is not served here");
  expect_error(completion({{"prompt", {1, 2}}, {"stream", true}}), 400, "invalid_request_error", "stream");
  expect_error(completion({{"prompt", {1, 2}}, {"n", 2}}), 400, "invalid_request_error", "\"n\"");
  expect_error(completion({{"prompt", {1, 2}}, {"logprobs", 99}}), 400, "invalid_request_error", "\"logprobs\"");
  expect_error(completion({{"prompt", {1, 2}}, {"max_tokens", -1}}), 400, "invalid_request_error", "\"max_tokens\"");
  expect_error(completion({{"prompt", {1, 2}}, {"stop", {1}}}), 400, "invalid_request_error", "\"stop\"");
  expect_error(post(c, "/v1/completions", json{{"prompt", std::string(20000, 'a')}}.dump(), key), 413,
               "invalid_request_error", "larger than the server's limit");
  expect_error(get(c, "/v2/nothing", key), 404, "not_found_error", "no endpoint");
  expect_error(post(c, "/tokenize", R"({"text": "a"})", key), 400, "invalid_request_error", "unknown field");
  expect_error(post(c, "/detokenize", R"({"tokens": [1, 9999]})", key), 400, "invalid_request_error", "tokens[1]");

  // Clients that go away: mid-body, and after a whole generation request without reading the reply.
  send_and_close(server.port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k3y\r\n"
                                "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"prompt\": [1, 2");
  const std::string gen = json{{"prompt", {1, 403}}, {"max_tokens", 200}, {"temperature", 0}}.dump();
  send_and_close(server.port(), "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k3y\r\n"
                                "Content-Type: application/json\r\nContent-Length: " +
                                    std::to_string(gen.size()) + "\r\n\r\n" + gen);

  // Still serving, right answers.
  const Reply ok = completion({{"model", name}, {"prompt", {1, 403, 407}}, {"max_tokens", 1}, {"echo", true},
                               {"logprobs", 1}, {"temperature", 0}});
  INFO(ok.body.dump());
  REQUIRE(ok.status == 200);
  CHECK(ok.body["choices"][0]["logprobs"]["token_logprobs"].size() == 4);
  const Reply tk = post(c, "/tokenize", R"({"prompt": "Once upon", "add_special_tokens": false})", key);
  REQUIRE(tk.status == 200);
  const Reply dt = post(c, "/detokenize", json{{"tokens", tk.body["tokens"]}}.dump(), key);
  REQUIRE(dt.status == 200);
  CHECK(dt.body["prompt"] == "Once upon");
  const Reply info = get(c, "/tokenizer_info", key);
  REQUIRE(info.status == 200);
  CHECK(info.body["eos_token"] == "</s>");
  // lm-eval's remote tokenizer takes the EOS id from tokenizing the eos_token string.
  const Reply eos = post(c, "/tokenize", R"({"prompt": "</s>", "add_special_tokens": false})", key);
  REQUIRE(eos.status == 200);
  CHECK(eos.body["tokens"] == json::array({2}));
  const Reply models = get(c, "/v1/models", key);
  REQUIRE(models.status == 200);
  CHECK(models.body["data"][0]["id"] == name);
  CHECK(server.stop() == 0);
}

TEST_CASE("serve: concurrent clients get their own answers with no error", "[serve]") {
  EngineSession s = session(kSoftmax);
  const Tokenizer& tok = s.require_tokenizer();
  ServeProcess server({"--model", kSoftmax, "--max-batch", "8"}, "concurrent");
  const std::string name = served_name(kSoftmax);
  const int n_clients = 8, rounds = 3;
  // Client k: its own contexts and continuations, and its own generation prompt.
  std::vector<std::vector<LlRequest>> work(n_clients);
  std::vector<std::vector<double>> want(n_clients);
  std::vector<std::string> prompts(n_clients), want_text(n_clients);
  const std::vector<std::string> subjects = {"a dog", "a cat", "a bird", "a fish", "a boy", "a girl", "a tree", "a car"};
  for (int k = 0; k < n_clients; k++) {
    for (const char* cont : {" was happy.", " ran away.", " liked to play."}) {
      const LoglikelihoodRequest r = encode_pair(tok, "Once upon a time there was " + subjects[size_t(k)], cont, true);
      work[size_t(k)].push_back({r.context, r.continuation});
      Scorer scorer(*s.model, {512, 512, 1});
      want[size_t(k)].push_back(scorer.loglikelihood(std::span<const LoglikelihoodRequest>(&r, 1))[0].logprob);
    }
    prompts[size_t(k)] = "One day " + subjects[size_t(k)];
    GenerateRequest g;
    g.context = {int32_t(tok.bos_id())};
    for (int32_t t : tok.encode(prompts[size_t(k)])) g.context.push_back(t);
    g.max_gen_toks = 24;
    Scorer scorer(*s.model, {512, 512, 1});
    want_text[size_t(k)] = scorer.generate_until(std::span<const GenerateRequest>(&g, 1), tok)[0].text;
  }
  std::mutex mu;
  std::vector<std::string> problems;
  std::vector<std::thread> threads;
  for (int k = 0; k < n_clients; k++)
    threads.emplace_back([&, k] {
      httplib::Client c("127.0.0.1", server.port());
      c.set_read_timeout(300);
      for (int r = 0; r < rounds; r++) {
        std::vector<std::vector<int32_t>> p;
        std::vector<int64_t> ctxlens;
        for (const auto& q : work[size_t(k)]) {
          int64_t ctxlen = 0;
          p.push_back(ll_input(q, 512, ctxlen));
          ctxlens.push_back(ctxlen);
        }
        auto res = c.Post("/v1/completions", ll_payload(p, name).dump(), "application/json");
        auto gen = c.Post("/v1/completions",
                          json{{"model", name}, {"prompt", prompts[size_t(k)]}, {"max_tokens", 24}, {"temperature", 0},
                               {"stop", json::array()}, {"seed", 1234}}.dump(),
                          "application/json");
        std::lock_guard<std::mutex> lock(mu);
        if (!res || res->status != 200 || !gen || gen->status != 200) {
          problems.push_back("client " + std::to_string(k) + ": a request failed");
          continue;
        }
        const auto got = parse_logprobs(json::parse(res->body), ctxlens);
        for (size_t i = 0; i < got.size(); i++) {
          std::vector<int32_t> all = p[i];
          if (std::abs(got[i].first - want[size_t(k)][i]) >
              sum_tol(*s.model, all, int64_t(work[size_t(k)][i].continuation.size()), false))
            problems.push_back("client " + std::to_string(k) + " request " + std::to_string(i) + ": logprob " +
                               std::to_string(got[i].first) + " != " + std::to_string(want[size_t(k)][i]));
        }
        const std::string text = json::parse(gen->body)["choices"][0]["text"];
        if (text != want_text[size_t(k)])
          problems.push_back("client " + std::to_string(k) + ": generated \"" + text + "\", alone \"" +
                             want_text[size_t(k)] + "\"");
      }
    });
  for (auto& t : threads) t.join();
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
  auto c = server.client();
  const Reply h = get(c, "/health");
  CHECK(h.body["requests"].get<int64_t>() == 2 * n_clients * rounds);
  CHECK(server.stop() == 0);
}

TEST_CASE("serve: the prefix cache computes a shared context once and changes no result", "[serve]") {
  for (const std::string& model : {kSoftmax, kSupra}) {
    EngineSession s = session(model);
    const Tokenizer& tok = s.require_tokenizer();
    const std::string name = served_name(model);
    // lm-eval's multiple-choice shape: one request per choice, the same context.
    std::vector<LlRequest> reqs;
    for (const char* cont : {" she found a big red ball in the park.", " she went to the store with her mom."}) {
      const LoglikelihoodRequest r =
          encode_pair(tok, "Once upon a time, there was a little girl named Lily. One day,", cont, true);
      reqs.push_back({r.context, r.continuation});
    }
    std::vector<std::vector<int32_t>> prompts;
    for (const auto& r : reqs) {
      prompts.push_back(r.context);
      prompts.back().insert(prompts.back().end(), r.continuation.begin(), r.continuation.end());
    }
    const int64_t n1 = int64_t(prompts[0].size()), n2 = int64_t(prompts[1].size());
    int64_t m = 0;  // tokens the two prompts share
    while (m < std::min(n1, n2) && prompts[0][size_t(m)] == prompts[1][size_t(m)]) m++;
    REQUIRE(m >= int64_t(reqs[0].context.size()));
    // Sent together (batch 2), and one after the other (lm-eval's default batch 1).
    for (const size_t batch : {size_t(2), size_t(1)}) {
      INFO(model << " batch " << batch);
      std::vector<std::pair<double, bool>> with, without;
      int64_t cached = 0, fed = 0;
      {
        ServeProcess server({"--model", model}, "cache_on");
        auto c = server.client();
        with = lm_eval_loglikelihood(c, name, reqs, 512, batch);
        const Reply h = get(c, "/health");
        cached = h.body["cached_tokens"].get<int64_t>();
        fed = h.body["fed_tokens"].get<int64_t>();
      }
      {
        ServeProcess server({"--model", model, "--cache-mib", "0"}, "cache_off");
        auto c = server.client();
        without = lm_eval_loglikelihood(c, name, reqs, 512, batch);
        const Reply h = get(c, "/health");
        CHECK(h.body["cached_tokens"].get<int64_t>() == 0);
        CHECK(h.body["fed_tokens"].get<int64_t>() == n1 + n2);
      }
      if (batch == 2) {
        // The shared part is fed once, and both prompts go on from a fork of it.
        CHECK(cached == 2 * m);
        CHECK(fed == n1 + n2 - m);
      } else if (model == kSoftmax) {
        // The second prompt goes on from the first's KV cache cut to the shared part but its last token, which is
        // fed again to score the token after it.
        CHECK(cached == m - 1);
        CHECK(fed == n1 + n2 - m + 1);
      } else {
        // A SUPRA state cannot be cut: the shared part is computed again for the second prompt, and kept for a third.
        CHECK(cached == m);
        CHECK(fed == n1 + n2);
      }
      for (size_t i = 0; i < reqs.size(); i++) {
        CHECK(std::abs(with[i].first - without[i].first) <=
              sum_tol(*s.model, prompts[i], int64_t(reqs[i].continuation.size()), false));
        CHECK(with[i].second == without[i].second);
      }
    }
  }
}
