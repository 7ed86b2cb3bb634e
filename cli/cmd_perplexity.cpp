// supra-eval perplexity: rolling loglikelihood of a text file at a given context length (lm-eval's disjoint
// windows), reported as token, word and byte perplexity and bits per byte.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "datasets/text_file.h"
#include "engine/scorer.h"
#include "cli/commands.h"
#include "cli/engine_options.h"

namespace supra {

void register_perplexity(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    std::string file;
    int64_t ctx = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("perplexity", "rolling perplexity of a text file at a context length");
  add_engine_options(*cmd, args->eng);
  cmd->add_option("--file", args->file, "UTF-8 text file")->required();
  cmd->add_option("--ctx", args->ctx, "context length (tokens per window)")->required()->check(int_in(1, kMaxTrainCtx));
  cmd->callback([args] {
    const std::string text = datasets::read_text_file(args->file);  // UTF-8 checked, as `run` reads text files
    if (text.empty()) fail("{}: the text file is empty", args->file);
    EngineSession s = open_session(args->eng);
    const Tokenizer& tok = s.require_tokenizer();
    const auto tokens = tok.encode(text);
    Scorer scorer(*s.model, {args->ctx, 512, 8});
    const RollingResult r = scorer.loglikelihood_rolling(tokens, tok.bos_id());
    // Words as lm-eval counts them: re.split(r"\s+", text).
    int64_t words = 0;
    {
      std::regex ws("\\s+");
      words = std::distance(std::sregex_token_iterator(text.begin(), text.end(), ws, -1), std::sregex_token_iterator());
    }
    const double nll = -r.logprob;
    std::printf("file\t%s\nmodel\t%s\nmode\t%s\nctx\t%ld\ntokens\t%ld\nwindows\t%ld\nwords\t%ld\nbytes\t%zu\n",
                args->file.c_str(), s.ckpt.path.c_str(), mode_name(s.ckpt.config.attention), long(args->ctx),
                long(r.n_tokens), long(r.n_windows), long(words), text.size());
    std::printf("nll\t%.6f\ntoken_perplexity\t%.6f\nword_perplexity\t%.6f\nbyte_perplexity\t%.6f\nbits_per_byte\t%.6f\n",
                nll, std::exp(nll / double(r.n_tokens)), std::exp(nll / double(words)),
                std::exp(nll / double(text.size())), nll / double(text.size()) / std::log(2.0));
  });
}

}  // namespace supra
