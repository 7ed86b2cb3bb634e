#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include "engine/io/checkpoint_writer.h"
#include "core/error.h"
#include "engine/io/safetensors.h"

namespace fs = std::filesystem;

namespace supra::train {

nlohmann::json TrainOptions::numbers_json() const {
  return {{"seq", seq},           {"batch", batch},     {"steps", steps},         {"lr_max", lr_max},
          {"lr_min", lr_min},     {"warmup", warmup},   {"seed", seed},           {"clip", clip},
          {"beta1", adam.beta1},  {"beta2", adam.beta2}, {"adam_eps", adam.eps}, {"weight_decay", adam.weight_decay},
          {"chunk", chunk}};
}

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = numbers_json();
  j["eval_every"] = eval_every;
  j["save_every"] = save_every;
  j["val_batches"] = val_batches;
  return j;
}

Trainer::Trainer(const Checkpoint& base, TrainOptions opts, const PackedData& train, const PackedData* val)
    : opts_(opts),
      train_(train),
      val_(val),
      model_(base, opts.chunk),
      adam_(model_.params().size(), opts.adam),
      sched_{opts.lr_max, opts.lr_min, opts.warmup, opts.steps} {
  if (opts_.steps <= 0) fail("training: --steps must be positive, got {}", opts_.steps);
  if (opts_.batch <= 0) fail("training: --batch must be positive, got {}", opts_.batch);
  if (train_.seq_len() != opts_.seq) fail("training data packed at {} tokens, options say {}", train_.seq_len(), opts_.seq);
  if (opts_.warmup < 0 || opts_.warmup >= opts_.steps)
    fail("training: --warmup must be in [0, steps) = [0, {}), got {}", opts_.steps, opts_.warmup);
  if (opts_.lr_min > opts_.lr_max) fail("training: --lr-min {} exceeds --lr-max {}", opts_.lr_min, opts_.lr_max);
}

double Trainer::evaluate() {
  if (!val_) fail("training: no validation data to evaluate");
  const int B = opts_.batch, L = val_->seq_len();
  int64_t n = val_->n_sequences();
  if (opts_.val_batches > 0) n = std::min<int64_t>(n, opts_.val_batches * B);
  double sum = 0;
  std::vector<int32_t> buf;
  for (int64_t i = 0; i < n; i += B) {
    const int b = int(std::min<int64_t>(B, n - i));
    buf.resize(size_t(b) * (L + 1));
    for (int r = 0; r < b; r++) std::copy(val_->sequence(i + r), val_->sequence(i + r) + L + 1, buf.begin() + r * (L + 1));
    sum += model_.step(buf.data(), b, L, false) * double(b) * L;
  }
  return sum / (double(n) * L);
}

void Trainer::run(int64_t until, const std::function<void(const LogRow&)>& on_log, const std::string& out_dir,
                  const std::string& tokenizer) {
  if (until > opts_.steps) fail("training: cannot run to step {} of a {}-step schedule", until, opts_.steps);
  const int B = opts_.batch, L = opts_.seq;
  auto& params = model_.params();
  auto& grads = model_.grads();
  while (step_ < until) {
    const auto t0 = std::chrono::steady_clock::now();
    train_.next_batch(cursor_, B, batch_);
    model_.zero_grads();
    LogRow row;
    row.loss = model_.step(batch_.data(), B, L, true);
    row.grad_norm = grad_norm(grads);
    if (!std::isfinite(row.loss) || !std::isfinite(row.grad_norm))
      fail("training diverged at step {}: loss {}, grad norm {}", step_ + 1, row.loss, row.grad_norm);
    if (opts_.clip > 0 && row.grad_norm > opts_.clip) {
      const float s = float(opts_.clip / row.grad_norm);
      for (float& g : grads) g *= s;
    }
    row.lr = sched_.lr(step_);
    adam_.update(params, grads, model_.param_info(), row.lr, step_ + 1);
    step_++;
    tokens_ += int64_t(B) * L;
    row.step = step_;
    row.tokens = tokens_;
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool last = step_ == until;
    if (val_ && ((opts_.eval_every > 0 && step_ % opts_.eval_every == 0) || step_ == opts_.steps))
      row.val_loss = evaluate();
    if (on_log) on_log(row);
    if (!out_dir.empty() && ((opts_.save_every > 0 && step_ % opts_.save_every == 0) || last)) save(out_dir, tokenizer);
  }
}

void Trainer::save(const std::string& out_dir, const std::string& tokenizer) const {
  fs::create_directories(out_dir);
  // The engine's model first, then the state: a state file always has its model beside it.
  save_open_lm(model_.to_checkpoint(), out_dir, DType::F32);
  if (!tokenizer.empty()) {
    const fs::path dst = fs::path(out_dir) / fs::path(tokenizer).filename();
    if (fs::absolute(tokenizer) != fs::absolute(dst)) fs::copy_file(tokenizer, dst, fs::copy_options::overwrite_existing);
  }
  auto& self = const_cast<Trainer&>(*this);  // params()/m()/v() have no const overloads; nothing is modified
  const int64_t P = int64_t(self.model_.params().size());
  auto view = [&](const std::vector<float>& v) {
    Tensor t;
    t.dtype = DType::F32;
    t.shape = {P};
    t.data = const_cast<float*>(v.data());
    return t;
  };
  const nlohmann::json meta = {{"step", std::to_string(step_)},
                               {"tokens", std::to_string(tokens_)},
                               {"epoch", std::to_string(cursor_.epoch)},
                               {"index", std::to_string(cursor_.index)},
                               {"options", opts_.numbers_json().dump()}};
  // In a folder of its own: the engine's open_lm loader reads every .safetensors file beside config.json.
  fs::create_directories(fs::path(out_dir) / "train_state");
  const std::string tmp = (fs::path(out_dir) / "train_state" / "state.safetensors.tmp").string();
  write_safetensors(tmp, {{"params", view(self.model_.params())}, {"adam_m", view(self.adam_.m())}, {"adam_v", view(self.adam_.v())}},
                    DType::F32, meta);
  fs::rename(tmp, fs::path(out_dir) / "train_state" / "state.safetensors");  // atomic: a killed save leaves the old state
}

void Trainer::resume(const std::string& out_dir) {
  const std::string file = (fs::path(out_dir) / "train_state" / "state.safetensors").string();
  if (!fs::exists(file)) fail("{}: no training state to resume from", file);
  SafetensorsFile f(file);
  const auto& meta = f.metadata();
  auto field = [&](const char* k) -> std::string {
    if (!meta.contains(k) || !meta[k].is_string()) fail("{}: metadata field '{}' missing", file, k);
    return meta[k].get<std::string>();
  };
  const nlohmann::json saved = nlohmann::json::parse(field("options"));
  if (saved != opts_.numbers_json())
    fail("{}: the run was started with other settings; resume needs the same ones.\n  saved:   {}\n  now:     {}", file,
         saved.dump(), opts_.numbers_json().dump());
  const size_t P = model_.params().size();
  auto load = [&](const char* name, std::vector<float>& dst) {
    const Tensor t = f.get(name);
    if (t.dtype != DType::F32 || t.numel() != int64_t(P))
      fail("{}: tensor '{}' should be f32 [{}], got {} values", file, name, P, t.numel());
    std::copy(t.ptr<float>(), t.ptr<float>() + P, dst.begin());
  };
  load("params", model_.params());
  load("adam_m", adam_.m());
  load("adam_v", adam_.v());
  step_ = std::stoll(field("step"));
  tokens_ = std::stoll(field("tokens"));
  cursor_.epoch = std::stoll(field("epoch"));
  cursor_.index = std::stoll(field("index"));
}

}  // namespace supra::train
