// supra-eval sample: a text corpus sampled from a model (harness/sample_corpus.h says how and in which formats).
#include <cstdio>
#include <fstream>

#include "cli/commands.h"
#include "cli/engine_options.h"
#include "core/error.h"
#include "harness/sample_corpus.h"

namespace supra {

void register_sample(CLI::App& app) {
  struct Args {
    EngineOptions eng;
    SampleOptions sample;
    std::string out, format;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sample", "sample a text corpus (one story per record or paragraph) from a model");
  add_engine_options(*cmd, args->eng);
  SampleOptions& so = args->sample;
  cmd->add_option("--tokens", so.tokens, "stop once the written stories hold this many tokens")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", so.temperature, "softmax temperature (0: greedy)")->required()->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", so.seed, "seed; story i uses a generator seeded from (seed, i)")->required();
  cmd->add_option("--out", args->out, "output file")->required();
  cmd->add_option("--format", args->format,
                  "jsonl: one {\"text\": story} record per line, newlines kept (uptrain's corpus); text: the stories "
                  "as generated, a blank line between them (what perplexity evaluates); lines: one story per line, "
                  "newlines as spaces (the bundled twin's old corpus). Default: jsonl for a .jsonl file, else text");
  cmd->add_option("--batch", so.batch, "stories decoded together")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--max-len", so.max_len, "longest story in tokens, BOS included (default: the training context)")
      ->check(CLI::PositiveNumber);
  cmd->callback([args] {
    EngineSession s = open_session(args->eng);
    const Tokenizer& tok = s.require_tokenizer();
    args->sample.format =
        args->format.empty() ? corpus_format_for_path(args->out) : parse_corpus_format(args->format);
    std::ofstream out(args->out, std::ios::binary | std::ios::trunc);
    if (!out) fail("{}: cannot write the corpus", args->out);
    const SampleStats st = sample_corpus(*s.model, tok, args->sample, out);
    out.close();
    if (!out) fail("{}: write failed", args->out);
    const SampleOptions& o = args->sample;
    std::printf("out\t%s\nmodel\t%s\nstories\t%lld\ntokens\t%lld\ntemperature\t%g\nseed\t%llu\nbatch\t%d\nmax_len\t%lld\n"
                "seconds\t%.1f\ndecoded_tok_per_s\t%.0f\n",
                args->out.c_str(), s.ckpt.path.c_str(), (long long)st.stories, (long long)st.tokens, o.temperature,
                (unsigned long long)o.seed, o.batch, (long long)st.max_len, st.seconds, double(st.decoded) / st.seconds);
  });
}

}  // namespace supra
