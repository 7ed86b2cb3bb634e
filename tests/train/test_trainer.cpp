// The training loop on a tiny random SUPRA model: the loss goes down, two runs are bit-identical, and a run
// stopped, saved and resumed ends exactly where an uninterrupted one does. Also the schedule, AdamW and the data
// order on their own.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "engine/checkpoint.h"
#include "train/adamw.h"
#include "train/data.h"
#include "train/schedule.h"
#include "train/trainer.h"

using namespace supra;
using namespace supra::train;
namespace fs = std::filesystem;

namespace {

Checkpoint tiny_supra() {
  Checkpoint ck = random_checkpoint(named_shape("dim=32,hidden=48,layers=2,heads=4,kv_heads=2,vocab=32,ctx=64"),
                                    DType::F32, 21);
  add_supra_feature_maps(ck, 22);
  return ck;
}

// A learnable stream: mostly next = (3 * prev + 1) mod 32, with a seeded 10% of random tokens.
std::vector<int32_t> stream(int64_t n, uint64_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  uint64_t s = seed;
  int32_t prev = 1;
  for (auto& x : t) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = (s >> 60) == 0 ? int32_t((s >> 33) % 32) : (3 * prev + 1) % 32;
    prev = x;
  }
  return t;
}

TrainOptions options(int64_t steps) {
  TrainOptions o;
  o.seq = 24;
  o.batch = 4;
  o.steps = steps;
  o.lr_max = 3e-3;
  o.lr_min = 3e-4;
  o.warmup = 2;
  o.seed = 5;
  o.clip = 1.0;
  o.chunk = 8;  // 24 tokens: three chunks
  o.eval_every = 4;
  return o;
}

fs::path temp_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("supra_train_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

}  // namespace

TEST_CASE("training a tiny SUPRA model lowers the loss, bit-identically for a fixed seed", "[trainer]") {
  const Checkpoint base = tiny_supra();
  const PackedData train(stream(4000, 1), 24, 5), val(stream(600, 2), 24, 0);
  auto run = [&] {
    Trainer t(base, options(30), train, &val);
    std::vector<LogRow> log;
    t.run(30, [&](const LogRow& r) { log.push_back(r); }, "");
    return std::make_pair(log, t.model().params());
  };
  const auto [a, pa] = run();
  const auto [b, pb] = run();
  REQUIRE(a.size() == 30);
  REQUIRE(a[0].val_loss.has_value() == false);
  REQUIRE(a[3].val_loss.has_value());
  REQUIRE(a[29].val_loss.has_value());
  INFO("first loss " << a[0].loss << ", last " << a[29].loss << ", val " << *a[3].val_loss << " -> " << *a[29].val_loss);
  CHECK(a[29].loss < a[0].loss - 1.0);
  CHECK(*a[29].val_loss < *a[3].val_loss - 0.5);
  for (size_t i = 0; i < a.size(); i++) {
    CHECK(a[i].loss == b[i].loss);  // bit-identical, not approximately equal
    CHECK(a[i].grad_norm == b[i].grad_norm);
  }
  CHECK(pa == pb);
  CHECK(a[29].tokens == 30 * 4 * 24);
}

TEST_CASE("a resumed run continues to the same loss and weights as an uninterrupted one", "[trainer]") {
  const Checkpoint base = tiny_supra();
  const PackedData train(stream(1500, 3), 24, 7), val(stream(300, 4), 24, 0);
  // 1500 tokens = 62 sequences: 20 steps of 4 cross an epoch boundary (a reshuffle) after the resume at step 9.
  const int64_t steps = 20;
  Trainer whole(base, options(steps), train, &val);
  std::vector<LogRow> a;
  whole.run(steps, [&](const LogRow& r) { a.push_back(r); }, "");

  const fs::path dir = temp_dir("resume");
  {
    Trainer first(base, options(steps), train, &val);
    first.run(9, nullptr, dir.string());
  }
  CHECK(fs::exists(dir / "train_state" / "state.safetensors"));
  CHECK(fs::exists(dir / "model.safetensors"));
  Trainer second(base, options(steps), train, &val);
  second.resume(dir.string());
  CHECK(second.step() == 9);
  std::vector<LogRow> b;
  second.run(steps, [&](const LogRow& r) { b.push_back(r); }, dir.string());
  REQUIRE(b.size() == size_t(steps - 9));
  for (size_t i = 0; i < b.size(); i++) {
    CHECK(b[i].step == a[9 + i].step);
    CHECK(b[i].loss == a[9 + i].loss);
    CHECK(b[i].tokens == a[9 + i].tokens);
  }
  CHECK(*b.back().val_loss == *a.back().val_loss);
  CHECK(second.model().params() == whole.model().params());

  // The saved model is an engine checkpoint.
  const Checkpoint saved = load_checkpoint(dir.string());
  CHECK(saved.config.attention == AttentionMode::Supra);

  // Other settings are refused, naming the difference.
  TrainOptions other = options(steps);
  other.lr_max = 1e-3;
  Trainer third(base, other, train, &val);
  CHECK_THROWS_WITH(third.resume(dir.string()), Catch::Contains("other settings"));
  fs::remove_all(dir);
}

TEST_CASE("schedule: linear warm-up then cosine from lr_max to lr_min", "[trainer]") {
  const Schedule s{1e-3, 1e-4, 10, 110};
  CHECK(s.lr(0) == Approx(1e-4));
  CHECK(s.lr(4) == Approx(5e-4));
  CHECK(s.lr(9) == Approx(1e-3));
  CHECK(s.lr(10) == Approx(1e-3));
  CHECK(s.lr(109) == Approx(1e-4));
  CHECK(s.lr(10 + 99 / 2.0) == Approx(5.5e-4).epsilon(0.02));
  for (int64_t i = 10; i < 109; i++) CHECK(s.lr(i + 1) <= s.lr(i));
}

TEST_CASE("AdamW: one step by hand, decay only where marked", "[trainer]") {
  std::vector<ParamInfo> layout = {{"w", 0, {2}, true}, {"norm", 2, {1}, false}};
  std::vector<float> p = {1.f, -2.f, 3.f}, g = {0.5f, 0.f, -1.f};
  AdamW opt(3, {0.9, 0.95, 1e-8, 0.1});
  opt.update(p, g, layout, 0.01, 1);
  // Step 1: m_hat = g, v_hat = g^2, update = lr * sign(g) (g != 0); decay lr*wd*p on w only.
  CHECK(p[0] == Approx(1.0 - 0.01 - 0.01 * 0.1 * 1.0));
  CHECK(p[1] == Approx(-2.0 + 0.01 * 0.1 * 2.0));
  CHECK(p[2] == Approx(3.0 + 0.01));
  CHECK(opt.m()[0] == Approx(0.05));
  CHECK(opt.v()[2] == Approx(0.05));
}

TEST_CASE("packed data: overlapping windows, a seeded permutation per epoch, epochs roll over", "[trainer]") {
  std::vector<int32_t> t(101);
  for (int i = 0; i < 101; i++) t[size_t(i)] = i;
  const PackedData d(t, 10, 42);
  REQUIRE(d.n_sequences() == 10);
  CHECK(d.sequence(3)[0] == 30);
  CHECK(d.sequence(3)[10] == 40);  // L+1 tokens: the last one is the next window's first
  const auto o0 = d.order(0), o1 = d.order(1);
  CHECK(std::set<int64_t>(o0.begin(), o0.end()).size() == 10);
  CHECK(o0 != o1);
  CHECK(o0 == PackedData(t, 10, 42).order(0));
  CHECK(o0 != PackedData(t, 10, 43).order(0));
  PackedData::Cursor c;
  std::vector<int32_t> batch;
  for (int i = 0; i < 3; i++) d.next_batch(c, 4, batch);  // 12 sequences: into the second epoch
  CHECK(c.epoch == 1);
  CHECK(c.index == 2);
  CHECK(batch[size_t(3) * 11] == d.sequence(o1[1])[0]);
}
