// supra-eval logprobs: teacher-forced log-probabilities of a token list, as TSV, so any other implementation can
// be checked against ours.
#include <cstdio>

#include "core/error.h"
#include "engine/scorer.h"
#include "cli/commands.h"
#include "cli/engine_options.h"

namespace supra {

void register_logprobs(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    std::string ids, text;
    bool add_bos = true;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("logprobs", "teacher-forced per-token log-probabilities (TSV)");
  add_engine_options(*cmd, args->eng);
  auto* ids = cmd->add_option("--ids", args->ids, "token ids, e.g. '1 403 407 261' (no tokenizer needed)");
  auto* text = cmd->add_option("--text", args->text, "text to tokenize");
  ids->excludes(text);
  cmd->add_option("--add-bos", args->add_bos, "prepend BOS to --text (default true)");
  cmd->callback([args, text] {
    if (args->ids.empty() && text->count() == 0) fail("logprobs: give the tokens with --ids, or --text to tokenize");
    EngineSession s = open_session(args->eng);
    std::vector<int32_t> tokens;
    if (!args->ids.empty()) {
      tokens = parse_token_ids(args->ids, "--ids", s.ckpt.config.vocab_size);
    } else {
      const Tokenizer& tok = s.require_tokenizer();
      if (args->add_bos) tokens.push_back(tok.bos_id());
      auto t = tok.encode(args->text);
      tokens.insert(tokens.end(), t.begin(), t.end());
    }
    if (tokens.size() < 2) fail("logprobs: need at least two tokens (a context and a target)");
    LoglikelihoodRequest req{{tokens[0]}, {tokens.begin() + 1, tokens.end()}};
    Scorer scorer(*s.model, {int64_t(tokens.size()), 512, 1});
    auto res = scorer.loglikelihood(std::span<const LoglikelihoodRequest>(&req, 1));
    std::printf("# position\ttoken\tlogprob  (log P(token at position | tokens before it), natural log)\n");
    for (size_t i = 0; i < res[0].token_logprobs.size(); i++)
      std::printf("%zu\t%d\t%.6f\n", i + 1, tokens[i + 1], double(res[0].token_logprobs[i]));
    std::fprintf(stderr, "sum %.6f over %zu tokens, greedy %s\n", res[0].logprob, res[0].token_logprobs.size(),
                 res[0].is_greedy ? "yes" : "no");
  });
}

}  // namespace supra
