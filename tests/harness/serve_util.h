#pragma once
// A `supra-eval serve` child process on a free port, and a client that speaks to it exactly as lm-evaluation-harness
// 0.4.x's `local-completions` model does (lm_eval/models/openai_completions.py, api_models.py): the request bodies it
// sends and the rules it reads the replies by.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/harness/cli_util.h"

namespace supra::test {

using nlohmann::json;

// `supra-eval serve --port 0 <args>`: waits for the line naming the port it bound, stops it with SIGTERM.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args, const std::string& name) {
    log_ = fresh_temp("serve", name + ".log").string();
    std::vector<std::string> a = {"serve", "--port", "0", "--threads", "1"};
    a.insert(a.end(), args.begin(), args.end());
    pid_ = spawn_cli(a, log_);
    const std::regex re(R"(on http://127\.0\.0\.1:([0-9]+)/v1/completions)");
    // The model loads in well under a second; the bound is only there so a broken server fails the test.
    for (int i = 0; i < 1200 && port_ == 0; i++) {
      std::smatch m;
      const std::string out = log();
      if (std::regex_search(out, m, re)) port_ = std::stoi(m[1]);
      else std::this_thread::sleep_for(std::chrono::milliseconds(100));
      int status = 0;
      if (port_ == 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
    }
    INFO(log());
    REQUIRE(port_ > 0);
  }
  ~ServeProcess() { stop(); }
  // SIGTERM; the exit code (0: a clean shutdown).
  int stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    exit_code_ = wait_exit(pid_);
    pid_ = -1;
    return exit_code_;
  }
  int port() const { return port_; }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(300);  // lm-eval's timeout
    c.set_write_timeout(300);
    return c;
  }

 private:
  std::string log_;
  pid_t pid_ = -1;
  int port_ = 0;
  int exit_code_ = -1;
};

// A reply's status and parsed body (null when the body is not JSON).
struct Reply {
  int status = 0;
  json body;
};

inline Reply post(httplib::Client& c, const std::string& path, const std::string& body,
                  const httplib::Headers& headers = {}) {
  auto r = c.Post(path.c_str(), headers, body, "application/json");
  Reply out;
  if (!r) return out;
  out.status = r->status;
  out.body = json::parse(r->body, nullptr, false);
  return out;
}

inline Reply get(httplib::Client& c, const std::string& path, const httplib::Headers& headers = {}) {
  auto r = c.Get(path.c_str(), headers);
  Reply out;
  if (!r) return out;
  out.status = r->status;
  out.body = json::parse(r->body, nullptr, false);
  return out;
}

// One loglikelihood request as lm-eval holds it: context and continuation token ids.
struct LlRequest {
  std::vector<int32_t> context, continuation;
};

// lm-eval's batch_loglikelihood_requests: inp = (context + continuation)[-max_length:], and the context length
// shrinks by what was cut from the left.
inline std::vector<int32_t> ll_input(const LlRequest& r, int64_t max_length, int64_t& ctxlen) {
  std::vector<int32_t> all = r.context;
  all.insert(all.end(), r.continuation.begin(), r.continuation.end());
  const int64_t over = std::max<int64_t>(0, int64_t(all.size()) - max_length);
  ctxlen = int64_t(r.context.size()) - over;
  return std::vector<int32_t>(all.begin() + over, all.end());
}

// lm-eval's _create_payload(generate=False) with tokenized requests: a list of token-id lists.
inline json ll_payload(const std::vector<std::vector<int32_t>>& prompts, const std::string& model) {
  return {{"model", model}, {"prompt", prompts}, {"temperature", 0},  {"max_tokens", 1},
          {"logprobs", 1},  {"seed", 1234},      {"echo", true}};
}

// lm-eval's parse_logprobs: choices sorted by index; sum(token_logprobs[ctxlen:-1]); is_greedy when every token's
// logprob equals the largest of its top_logprobs.
inline std::vector<std::pair<double, bool>> parse_logprobs(const json& out, const std::vector<int64_t>& ctxlens) {
  std::vector<json> choices(out.at("choices").begin(), out.at("choices").end());
  std::sort(choices.begin(), choices.end(),
            [](const json& a, const json& b) { return a.at("index").get<int>() < b.at("index").get<int>(); });
  std::vector<std::pair<double, bool>> res;
  for (size_t i = 0; i < choices.size() && i < ctxlens.size(); i++) {
    const json& lp = choices[i].at("logprobs");
    const json& toks = lp.at("token_logprobs");
    const json& tops = lp.at("top_logprobs");
    double sum = 0;
    bool greedy = true;
    for (size_t t = size_t(ctxlens[i]); t + 1 < toks.size(); t++) {
      const double v = toks[t].get<double>();
      sum += v;
      double mx = -1e300;
      for (const auto& [k, x] : tops[t].items()) mx = std::max(mx, x.get<double>());
      if (v != mx) greedy = false;
    }
    res.emplace_back(sum, greedy);
  }
  return res;
}

// lm-eval's loglikelihood path for a list of requests sent `batch` per HTTP request: (logprob, is_greedy) each.
inline std::vector<std::pair<double, bool>> lm_eval_loglikelihood(httplib::Client& c, const std::string& model,
                                                                   const std::vector<LlRequest>& reqs,
                                                                   int64_t max_length, size_t batch) {
  std::vector<std::pair<double, bool>> out;
  for (size_t b0 = 0; b0 < reqs.size(); b0 += batch) {
    std::vector<std::vector<int32_t>> prompts;
    std::vector<int64_t> ctxlens;
    for (size_t i = b0; i < std::min(reqs.size(), b0 + batch); i++) {
      int64_t ctxlen = 0;
      prompts.push_back(ll_input(reqs[i], max_length, ctxlen));
      ctxlens.push_back(ctxlen);
    }
    const Reply r = post(c, "/v1/completions", ll_payload(prompts, model).dump());
    INFO(r.body.dump());
    REQUIRE(r.status == 200);
    for (const auto& x : parse_logprobs(r.body, ctxlens)) out.push_back(x);
  }
  return out;
}

// lm-eval's _create_payload(generate=True) and parse_generations: the text of each choice by index.
inline std::vector<std::string> lm_eval_generate(httplib::Client& c, const json& prompt, const std::string& model,
                                                 int max_tokens, const std::vector<std::string>& stop,
                                                 double temperature = 0, int seed = 1234) {
  const json body = {{"prompt", prompt},           {"model", model}, {"max_tokens", max_tokens},
                     {"temperature", temperature}, {"stop", stop},   {"seed", seed}};
  const Reply r = post(c, "/v1/completions", body.dump());
  INFO(r.body.dump());
  REQUIRE(r.status == 200);
  std::vector<std::string> texts(r.body.at("choices").size());
  for (const auto& ch : r.body.at("choices")) texts.at(ch.at("index").get<size_t>()) = ch.at("text").get<std::string>();
  return texts;
}

}  // namespace supra::test
