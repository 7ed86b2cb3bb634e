#pragma once
// `supra-eval serve`'s HTTP layer: the OpenAI completions API with echo + logprobs (what lm-evaluation-harness's
// `local-completions` scores loglikelihoods with), vLLM's tokenizer endpoints, /v1/models and /health, on
// cpp-httplib's thread-pool server. Each request is checked here (JSON, fields, token ids, lengths) and answered
// with a JSON error naming what was wrong; checked prompts go to the CompletionEngine's queue.
#include <cstddef>
#include <memory>
#include <string>

#include "engine/tokenizer.h"
#include "harness/completion_engine.h"

namespace supra {

struct ServeOptions {
  std::string host = "127.0.0.1";  // loopback only unless the user opens it
  int port = 8000;                 // 0: any free port (tests)
  std::string api_key;             // "": no key; else every request but /health needs "Authorization: Bearer <key>"
  std::string model_name;          // what /v1/models lists and what a request's "model" must equal
  size_t max_payload = size_t(32) << 20;  // request bodies above this get 413
  int http_threads = 16;
};

class CompletionsServer {
 public:
  CompletionsServer(CompletionEngine& engine, const Tokenizer* tok, int vocab_size, ServeOptions opts);
  ~CompletionsServer();
  // Binds the socket; returns the port (the one chosen when opts.port is 0). Errors name the host and port.
  int bind();
  // Serves until stop() (from another thread or a signal handler's thread).
  void listen();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace supra
