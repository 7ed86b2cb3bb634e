// supra-eval generate: greedy generation from a prompt (text or token ids).
#include <cstdio>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "core/error.h"
#include "engine/scorer.h"
#include "cli/commands.h"
#include "cli/engine_options.h"

namespace supra {

void register_generate(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    std::string prompt, prompt_ids;
    int max_tokens = 128;
    int64_t ctx = 0;
    std::vector<std::string> until;
    bool add_bos = true, print_ids = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("generate", "greedy generation from a prompt");
  add_engine_options(*cmd, args->eng);
  auto* prompt = cmd->add_option("--prompt", args->prompt, "prompt text (may be empty: generation from BOS)");
  cmd->add_option("--prompt-ids", args->prompt_ids,
                  "prompt as token ids, e.g. '1 403 407' (no BOS added; with --print-ids no tokenizer is needed)")
      ->excludes(prompt);
  cmd->add_option("--max-tokens", args->max_tokens, "tokens to generate")->check(int_in(1, kMaxGenTokens));
  cmd->add_option("--ctx", args->ctx, "context length (default: the model's training context + --max-tokens)")
      ->check(int_in(1, kMaxTrainCtx));
  cmd->add_option("--until", args->until, "stop strings (repeatable)");
  cmd->add_option("--add-bos", args->add_bos, "prepend BOS to a text prompt (default true)");
  cmd->add_flag("--print-ids", args->print_ids, "also print the generated token ids");
  cmd->callback([args] {
    EngineSession s = open_session(args->eng);
    const bool ids_only = !s.tokenizer && !args->prompt_ids.empty();
    if (ids_only && !args->print_ids)
      fail("generate: printing the generated text needs a tokenizer, and none was found beside {}; give one with "
           "--tokenizer, or add --print-ids to print token ids only",
           s.ckpt.path);
    if (ids_only && !args->until.empty())
      fail("generate: --until needs a tokenizer to decode the text, and none was found beside {}; give one with "
           "--tokenizer",
           s.ckpt.path);
    const Tokenizer* tok = ids_only ? nullptr : &s.require_tokenizer();  // ids in and out need none
    GenerateRequest req;
    if (!args->prompt_ids.empty()) {
      req.context = parse_token_ids(args->prompt_ids, "--prompt-ids", s.ckpt.config.vocab_size);
    } else {
      if (args->add_bos) req.context.push_back(tok->bos_id());
      auto ids = tok->encode(args->prompt);
      req.context.insert(req.context.end(), ids.begin(), ids.end());
      if (req.context.empty()) fail("generate: empty prompt and --add-bos false: nothing to condition on");
    }
    req.until = args->until;
    req.max_gen_toks = args->max_tokens;
    const int64_t ctx = args->ctx > 0 ? args->ctx : int64_t(s.ckpt.config.train_ctx) + args->max_tokens;
    Scorer scorer(*s.model, {ctx, 512, 1});
    auto res = scorer.generate_until(std::span<const GenerateRequest>(&req, 1), tok);
    if (!ids_only) std::printf("%s%s\n", args->prompt_ids.empty() ? args->prompt.c_str() : "", res[0].text.c_str());
    if (args->print_ids) {
      std::string ids;
      for (auto t : res[0].tokens) ids += fmt::format("{} ", t);
      std::printf("ids: %s\n", ids.c_str());
    }
    std::fprintf(stderr, "[%zu tokens, stop: %s, context kept %ld of %ld]\n", res[0].tokens.size(),
                 res[0].stop_reason.c_str(), long(res[0].n_kept), long(res[0].n_input));
  });
}

}  // namespace supra
