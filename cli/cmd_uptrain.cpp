// supra-eval uptrain: trains every weight of a checkpoint (SUPRA.md section 5, at small scale) on a text file,
// logging the loss curve and validation perplexity to the results store, checkpointing into --out (an open_lm
// folder the engine loads, plus the optimizer state) so that --resume continues bit-identically.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "engine/backend.h"
#include "engine/checkpoint.h"
#include "core/error.h"
#include "core/sha256.h"
#include "engine/tokenizer.h"
#include "cli/commands.h"
#include "core/build_info.h"
#include "store/store.h"
#include "train/data.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace supra {

namespace {

struct UptrainArgs {
  std::string from, data, val, out, db, tokenizer;
  train::TrainOptions o;
  int threads = 0;
  bool resume = false;
  int64_t log_every = 10;
  int64_t stop_after = 0;
  bool eval_only = false;
};

void add_uptrain_options(CLI::App& cmd, UptrainArgs& a) {
  train::TrainOptions& o = a.o;
  cmd.add_option("--from", a.from, "checkpoint to start from (convert a softmax model first for SUPRA)")->required();
  cmd.add_option("--data", a.data, "training corpus: .jsonl, one {\"text\": document} record per line (what sample writes), or text, one "
                 "document per line")->required();
  cmd.add_option("--val", a.val, "held-out corpus for validation perplexity, in --data's formats");
  cmd.add_option("--out", a.out, "output folder: the trained model (open_lm) and train_state/state.safetensors")->required();
  cmd.add_option("--tokenizer", a.tokenizer, "sentencepiece .model or llama2.c tokenizer.bin (default: the one beside the weights)");
  cmd.add_option("--seq", o.seq, "tokens per packed sequence")->required()->check(CLI::PositiveNumber);
  cmd.add_option("--batch", o.batch, "sequences per step")->required()->check(CLI::PositiveNumber);
  cmd.add_option("--steps", o.steps, "optimizer steps")->required()->check(CLI::PositiveNumber);
  cmd.add_option("--lr-max", o.lr_max, "peak learning rate")->required()->check(CLI::PositiveNumber);
  cmd.add_option("--lr-min", o.lr_min, "final learning rate of the cosine")->required()->check(CLI::NonNegativeNumber);
  cmd.add_option("--warmup", o.warmup, "linear warm-up steps")->required()->check(CLI::NonNegativeNumber);
  cmd.add_option("--seed", o.seed, "seed of the data order")->required();
  cmd.add_option("--clip", o.clip, "max global gradient norm (0: off)")->capture_default_str();
  cmd.add_option("--weight-decay", o.adam.weight_decay, "AdamW decoupled weight decay (matrices only)")->capture_default_str();
  cmd.add_option("--beta1", o.adam.beta1, "AdamW beta1")->capture_default_str();
  cmd.add_option("--beta2", o.adam.beta2, "AdamW beta2")->capture_default_str();
  cmd.add_option("--adam-eps", o.adam.eps, "AdamW epsilon")->capture_default_str();
  cmd.add_option("--chunk", o.chunk, "SUPRA chunk length of the chunked form")->capture_default_str()->check(CLI::PositiveNumber);
  cmd.add_option("--eval-every", o.eval_every, "validation every N steps (0: at the end only)")->capture_default_str();
  cmd.add_option("--save-every", o.save_every, "checkpoint every N steps (0: at the end only)")->capture_default_str();
  cmd.add_option("--val-batches", o.val_batches, "batches of validation sequences per evaluation (0: all)")
      ->capture_default_str();
  cmd.add_option("--log-every", a.log_every, "print a progress line every N steps")->capture_default_str();
  cmd.add_option("--threads", a.threads, "CPU threads (0: every core); a run is bit-identical for a fixed count")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--db", a.db, "results store for the loss curve and validation perplexity");
  cmd.add_option("--stop-after", a.stop_after,
                 "stop (and save) after this step of the schedule; finish later with --resume")
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--eval-only", a.eval_only,
               "print the validation loss and perplexity of --from (in the training framing) and exit; writes nothing");
  cmd.add_flag("--resume", a.resume, "continue from --out/train_state/state.safetensors (same settings)");
}

// Every setting of the run, the data files with their sha256 and token counts: train_runs.config_json.
nlohmann::json uptrain_config(const UptrainArgs& a, const Checkpoint& base, const std::string& base_sha, int threads,
                              const train::PackedData& data, const train::PackedData* val) {
  const train::TrainOptions& o = a.o;
  nlohmann::json cfg = o.to_json();
  cfg["from"] = a.from;
  cfg["from_sha256"] = base_sha;
  cfg["mode"] = mode_name(base.config.attention);
  cfg["data"] = {{"file", a.data}, {"sha256", sha256_file(a.data)}, {"tokens", data.n_tokens()},
                 {"sequences", data.n_sequences()}};
  if (val)
    cfg["val"] = {{"file", a.val}, {"sha256", sha256_file(a.val)}, {"tokens", val->n_tokens()},
                  {"sequences", val->n_sequences()}};
  cfg["tokenizer"] = base.tokenizer;
  cfg["threads"] = threads;
  cfg["model"] = base.config.to_json();
  cfg["tokens_to_train"] = o.steps * o.batch * o.seq;
  cfg["epochs"] = double(o.steps * o.batch) / double(data.n_sequences());
  return cfg;
}

// The train_log row of one optimizer step.
TrainLogRow log_row(const train::LogRow& r) {
  TrainLogRow row;
  row.step = r.step;
  row.tokens = r.tokens;
  row.lr = r.lr;
  row.loss = r.loss;
  row.grad_norm = r.grad_norm;
  row.seconds = r.seconds;
  if (r.val_loss) row.val_loss = *r.val_loss;
  return row;
}

// Trains to the end of the schedule (or --stop-after), each step into the store when there is one, a progress line
// every --log-every steps and at every evaluation. Returns the minutes it took.
double train_and_log(const UptrainArgs& a, train::Trainer& trainer, Store* store, int64_t run_id,
                   const std::string& tokenizer) {
  const train::TrainOptions& o = a.o;
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t first = trainer.step();
  double loss_sum = 0;
  int64_t loss_n = 0;
  const int64_t until = a.stop_after > 0 ? std::min(a.stop_after, o.steps) : o.steps;
  trainer.run(
      until,
      [&](const train::LogRow& r) {
        if (store) store->log_train_steps(run_id, {log_row(r)});
        loss_sum += r.loss;
        loss_n++;
        if (r.step % a.log_every == 0 || r.val_loss || r.step == o.steps) {
          const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
          const double tps = double(r.tokens - first * int64_t(o.batch) * o.seq) / el;
          std::printf("step %lld/%lld  tokens %lld  lr %.3e  loss %.4f (mean of last %lld: %.4f)  gnorm %.3f  %.0f tok/s",
                      (long long)r.step, (long long)o.steps, (long long)r.tokens, r.lr, r.loss, (long long)loss_n,
                      loss_sum / double(loss_n), r.grad_norm, tps);
          if (r.val_loss) std::printf("  val_loss %.4f  val_ppl %.4f", *r.val_loss, std::exp(*r.val_loss));
          std::printf("\n");
          std::fflush(stdout);
          loss_sum = 0;
          loss_n = 0;
        }
      },
      a.out, tokenizer);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0;
}

void uptrain_command(const UptrainArgs& a) {
  const train::TrainOptions& o = a.o;
  const int threads = a.threads > 0 ? a.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  make_cpu_backend(threads);  // sets the OpenMP and OpenBLAS thread counts
  const fs::path state = fs::path(a.out) / "train_state" / "state.safetensors";
  if (a.eval_only && a.val.empty()) fail("--eval-only needs --val");
  if (a.resume && !fs::exists(state)) fail("{}: --resume given but there is no training state", state.string());
  if (!a.resume && !a.eval_only && fs::exists(state))
    fail("{}: a training state exists; pass --resume to continue it, or choose another --out", state.string());

  LoadOptions lo;
  lo.tokenizer = a.tokenizer;
  Checkpoint base = load_checkpoint(a.from, lo);
  if (base.tokenizer.empty()) fail("{}: no tokenizer beside the weights; give one with --tokenizer", a.from);
  const std::string base_sha = checkpoint_sha256(base);
  Tokenizer tok(base.tokenizer);
  const auto t_tok = std::chrono::steady_clock::now();
  train::PackedData data(train::tokenize_corpus(a.data, tok), o.seq, o.seed);
  std::unique_ptr<train::PackedData> val;
  if (!a.val.empty()) val = std::make_unique<train::PackedData>(train::tokenize_corpus(a.val, tok), o.seq, 0);
  const double tok_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_tok).count();

  const nlohmann::json cfg = uptrain_config(a, base, base_sha, threads, data, val.get());
  std::printf("uptrain config %s\n", cfg.dump().c_str());
  std::printf("tokenized in %.1f s; %lld training tokens = %lld sequences of %d; %.2f epochs\n", tok_sec,
              (long long)data.n_tokens(), (long long)data.n_sequences(), o.seq, cfg["epochs"].get<double>());
  std::fflush(stdout);

  train::Trainer trainer(base, o, data, val.get());
  if (a.eval_only) {
    // A baseline in exactly the framing training reports (e.g. the teacher's), for comparison with val_ppl.
    const double vl = trainer.evaluate();
    std::printf("eval-only %s: val_loss %.4f  val_ppl %.4f over %lld sequences of %d\n", a.from.c_str(), vl,
                std::exp(vl), (long long)val->n_sequences(), o.seq);
    return;
  }
  if (a.resume) {
    trainer.resume(a.out);
    std::printf("resumed at step %lld (%lld tokens)\n", (long long)trainer.step(), (long long)trainer.tokens());
  }
  std::unique_ptr<Store> store;
  int64_t run_id = -1;
  if (!a.db.empty()) {
    store = std::make_unique<Store>(a.db);
    run_id = store->open_train_run(fs::absolute(a.out).lexically_normal().string(), a.from, base_sha, cfg,
                                   build_git_revision(), a.resume ? trainer.step() : -1);
  }
  const double minutes = train_and_log(a, trainer, store.get(), run_id, base.tokenizer);
  if (store && trainer.step() == o.steps) store->finish_train_run(run_id);
  std::printf("done: %lld steps, %lld tokens, %.2f minutes this invocation; model in %s\n", (long long)trainer.step(),
              (long long)trainer.tokens(), minutes, a.out.c_str());
}

}  // namespace

void register_uptrain(CLI::App& app) {
  auto args = std::make_shared<UptrainArgs>();
  auto* cmd = app.add_subcommand("uptrain", "train all weights of a checkpoint on a text file (SUPRA uptraining)");
  add_uptrain_options(*cmd, *args);
  cmd->callback([args] { uptrain_command(*args); });
}

}  // namespace supra
