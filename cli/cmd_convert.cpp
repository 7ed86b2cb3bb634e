// supra-eval convert: a softmax checkpoint becomes a SUPRA one (SUPRA.md section 4): every pretrained weight kept,
// feature maps initialised like torch.nn.Linear from a seed, written as an open_lm folder (safetensors + config)
// with the tokenizer copied beside it, so the engine and `uptrain` load it directly.
#include <cstdio>
#include <filesystem>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_writer.h"
#include "core/error.h"
#include "cli/commands.h"

namespace fs = std::filesystem;

namespace supra {

void register_convert(CLI::App& app) {
  struct Args {
    std::string from, to, dtype = "f32", slopes = "alibi", tokenizer;
    uint64_t seed = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("convert", "softmax checkpoint -> SUPRA checkpoint (open_lm folder), for uptraining");
  cmd->add_option("--from", args->from, "softmax checkpoint: llama2.c .bin, HF or open_lm folder")->required();
  cmd->add_option("--to", args->to, "output folder (created; existing files are replaced)")->required();
  cmd->add_option("--seed", args->seed, "seed of the feature-map initialisation")->capture_default_str();
  cmd->add_option("--dtype", args->dtype, "weight dtype written: f32 or bf16")
      ->check(CLI::IsMember({"f32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--slopes", args->slopes, "decay slopes: alibi (the released models) or retnet")
      ->check(CLI::IsMember({"alibi", "retnet"}))
      ->capture_default_str();
  cmd->add_option("--tokenizer", args->tokenizer, "sentencepiece .model or llama2.c tokenizer.bin (default: the one beside the weights)");
  cmd->callback([args] {
    LoadOptions lo;
    lo.tokenizer = args->tokenizer;
    Checkpoint ck = load_checkpoint(args->from, lo);
    if (ck.config.attention == AttentionMode::Supra)
      fail("{}: already a SUPRA checkpoint (attn_name linear_attn); convert takes a softmax model", args->from);
    const std::string base_sha = checkpoint_sha256(ck);
    add_supra_feature_maps(ck, args->seed, args->slopes == "retnet" ? DecaySlopes::RetNet : DecaySlopes::Alibi);
    save_open_lm(ck, args->to, parse_dtype(args->dtype));
    std::string tok = "none";
    if (!ck.tokenizer.empty()) {
      const fs::path dst = fs::path(args->to) / fs::path(ck.tokenizer).filename();
      fs::copy_file(ck.tokenizer, dst, fs::copy_options::overwrite_existing);
      tok = dst.string();
    }
    std::printf("from\t%s\nfrom_sha256\t%s\nto\t%s\nseed\t%llu\nslopes\t%s\ndtype\t%s\ntokenizer\t%s\n%s\n",
                args->from.c_str(), base_sha.c_str(), args->to.c_str(), (unsigned long long)args->seed,
                args->slopes.c_str(), args->dtype.c_str(), tok.c_str(), ck.config.summary().c_str());
  });
}

}  // namespace supra
