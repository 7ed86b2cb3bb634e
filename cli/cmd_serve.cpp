// supra-eval serve: an OpenAI-compatible completions server (echo + logprobs) that lm-evaluation-harness's
// `local-completions` model scores through (harness/completions_server.h).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include <pthread.h>

#include "core/error.h"
#include "harness/completions_server.h"
#include "cli/commands.h"
#include "cli/engine_options.h"

namespace supra {

void register_serve(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    ServeOptions serve;
    int64_t ctx = 0;
    int max_batch = 32;
    double cache_mib = 1024;
    double max_payload_mib = 32;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible completions server for lm-evaluation-harness");
  add_engine_options(*cmd, args->eng);
  cmd->add_option("--ctx", args->ctx, "context length: prompt + max_tokens must fit (default: the model's training "
                                      "context)");
  cmd->add_option("--host", args->serve.host, "address to listen on (default 127.0.0.1: this machine only)");
  cmd->add_option("--port", args->serve.port, "port (0: any free port, printed at start)")->check(CLI::Range(0, 65535));
  cmd->add_option("--api-key", args->serve.api_key, "require \"Authorization: Bearer <key>\" on every request");
  cmd->add_option("--served-model-name", args->serve.model_name,
                  "the model name requests must use (default: the model's file or folder name)");
  cmd->add_option("--max-batch", args->max_batch, "prompts the engine runs together")->check(CLI::PositiveNumber);
  cmd->add_option("--cache-mib", args->cache_mib, "prefix cache size in MiB (0: no cache)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--max-payload-mib", args->max_payload_mib, "largest request body in MiB")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--http-threads", args->serve.http_threads, "HTTP worker threads")->check(CLI::PositiveNumber);
  cmd->callback([args] {
    // SIGINT/SIGTERM go to one waiting thread that stops the server (blocked here, before any thread starts, so
    // every thread inherits the mask).
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

    EngineSession s = open_session(args->eng);
    const int64_t ctx = args->ctx > 0 ? args->ctx : int64_t(s.ckpt.config.train_ctx);
    if (ctx <= 0) fail("serve: --ctx not given, and {} records no training context; pass --ctx", s.ckpt.path);
    ServeOptions so = args->serve;
    if (so.model_name.empty()) so.model_name = std::filesystem::path(args->eng.model).filename().string();
    so.max_payload = size_t(args->max_payload_mib * 1024 * 1024);
    CompletionEngineOptions eo;
    eo.ctx = ctx;
    eo.max_batch = args->max_batch;
    eo.cache_bytes = size_t(args->cache_mib * 1024 * 1024);
    CompletionEngine engine(*s.model, s.tokenizer.get(), eo);
    CompletionsServer server(engine, s.tokenizer.get(), s.ckpt.config.vocab_size, so);
    const int port = server.bind();
    std::printf("serving %s (%s, ctx %ld) as \"%s\" on http://%s:%d/v1/completions\n", args->eng.model.c_str(),
                mode_name(s.ckpt.config.attention), long(ctx), so.model_name.c_str(), so.host.c_str(), port);
    std::fflush(stdout);
    std::thread waiter([&server, &engine, sigs] {
      int sig = 0;
      sigwait(&sigs, &sig);
      server.stop();
      engine.stop();
    });
    // HTTP on its own threads; the engine on this one, which made the backend (its thread settings apply here).
    std::exception_ptr http_error;
    std::thread http([&] {
      try {
        server.listen();
      } catch (...) {
        http_error = std::current_exception();
      }
      pthread_kill(waiter.native_handle(), SIGTERM);  // stop everything when listening ends on its own
    });
    engine.run();
    http.join();
    waiter.join();
    if (http_error) std::rethrow_exception(http_error);
    const auto st = engine.stats();
    std::fprintf(stderr, "served %ld requests (%ld prompts, %ld rounds): %ld tokens fed, %ld from the prefix cache\n",
                 long(st.requests), long(st.prompts), long(st.rounds), long(st.fed_tokens), long(st.cached_tokens));
  });
}

}  // namespace supra
