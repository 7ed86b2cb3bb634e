// Hostile input to the engine: token ids outside the vocabulary at every scorer entry point, llama2.c headers whose
// sizes would wrap, safetensors with overlapping or gapped offsets and shard indexes pointing outside the folder,
// config ids and lengths out of range, a weight of a non-float dtype, and exceptions inside OpenMP regions. Each
// malformed file is made here from a valid one; each refusal is checked by its message.
#include <cstring>
#include <limits>
#include <map>

#include <catch2/catch.hpp>

#include "core/checked_math.h"
#include "core/error.h"
#include "core/parallel_errors.h"
#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "engine/io/safetensors.h"
#include "engine/model.h"
#include "engine/scorer.h"
#include "tests/engine/file_fixtures.h"
#include "tests/engine/test_util.h"

using namespace supra;
using namespace supra::test;
using Catch::Contains;

namespace {

// A llama2.c file holding only a header (the loader must refuse it before sizing anything from it).
void write_llama2c_header(const std::string& path, std::initializer_list<int32_t> h) {
  std::string s(h.size() * 4, '\0');
  std::memcpy(s.data(), h.begin(), s.size());
  write_text(path, s);
}

Checkpoint tiny_softmax() { return small_model(4, 2, AttentionMode::Softmax); }  // vocab 97

}  // namespace

TEST_CASE("every scorer entry point refuses token ids outside the vocabulary", "[hostile][scorer]") {
  Checkpoint ck = tiny_softmax();
  auto be = make_cpu_backend(1);
  Model model(ck, *be);
  Scorer scorer(model, {64, 512, 4});
  const int V = ck.config.vocab_size;
  for (int32_t bad : {V, -1, 99999999, std::numeric_limits<int32_t>::min()}) {
    INFO("id " << bad);
    // Targets (the continuation) were the unchecked ones: a read past the logits row.
    std::vector<LoglikelihoodRequest> r = {{{1}, {5, bad}}};
    REQUIRE_THROWS_WITH(scorer.loglikelihood(r), Contains("continuation token 1") && Contains(std::to_string(bad)) &&
                                                     Contains("0..96"));
    r = {{{1, bad}, {5}}};
    REQUIRE_THROWS_WITH(scorer.loglikelihood(r), Contains("context token 1") && Contains("0..96"));
    const std::vector<int32_t> text = {3, 4, bad};
    REQUIRE_THROWS_WITH(scorer.loglikelihood_rolling(text, 1), Contains("text token 2"));
    REQUIRE_THROWS_WITH(scorer.loglikelihood_rolling(std::vector<int32_t>{3, 4}, bad), Contains("prefix"));
    GenerateRequest g;
    g.context = {1, bad};
    g.max_gen_toks = 2;
    REQUIRE_THROWS_WITH(scorer.generate_until(std::span<const GenerateRequest>(&g, 1), nullptr),
                        Contains("context token 1"));
  }
  // The last id of the vocabulary is fine.
  std::vector<LoglikelihoodRequest> ok = {{{1}, {5, V - 1}}};
  CHECK(scorer.loglikelihood(ok)[0].token_logprobs.size() == 2);
}

TEST_CASE("generation length is bounded with a message", "[hostile][scorer]") {
  Checkpoint ck = tiny_softmax();
  auto be = make_cpu_backend(1);
  Model model(ck, *be);
  Scorer scorer(model, {int64_t(kMaxGenTokens) * 2, 512, 1});
  GenerateRequest g;
  g.context = {1};
  g.max_gen_toks = kMaxGenTokens + 1;
  REQUIRE_THROWS_WITH(scorer.generate_until(std::span<const GenerateRequest>(&g, 1), nullptr),
                      Contains("max_gen_toks must be in 1..32768") && Contains("32769"));
}

TEST_CASE("llama2.c headers whose sizes would wrap are refused before anything is sized", "[hostile][loaders]") {
  TempDir dir;
  const std::string f = dir / "x.bin";
  // dims 2^30: every product overflows 32 bits and most overflow 64.
  const int32_t big = 1 << 30;
  write_llama2c_header(f, {big, big, big, big, big, 512, big});
  REQUIRE_THROWS_WITH(load_llama2c(f), Contains("x.bin") && Contains("dim must be in 1..131072, got 1073741824"));
  write_llama2c_header(f, {64, 172, 5, 8, 4, big, 512});
  REQUIRE_THROWS_WITH(load_llama2c(f), Contains("not a llama2.c v0 header") && Contains("vocab_size=1073741824"));
  // A 28-byte file of plausible-looking but wrapped dimensions (accepted before: views far outside the mapping).
  write_llama2c_header(f, {65536, 1 << 20, 4096, 512, 512, 1 << 24, 1 << 26});
  REQUIRE_THROWS_WITH(load_llama2c(f), Contains("x.bin") && Contains("needs exactly") && Contains("truncated"));
  // -INT32_MIN does not fit an int: the vocab size is read as int64.
  write_llama2c_header(f, {64, 172, 5, 8, 4, std::numeric_limits<int32_t>::min(), 512});
  REQUIRE_THROWS_WITH(load_llama2c(f), Contains("not a llama2.c v0 header") && Contains("-2147483648"));
  write_llama2c_header(f, {64, 172, 5, 8, 4, 512, 0});
  REQUIRE_THROWS_WITH(load_llama2c(f), Contains("not a llama2.c v0 header") && Contains("seq_len=0"));
}

TEST_CASE("checked size arithmetic names what overflowed", "[hostile]") {
  CHECK(checked_mul(1ull << 31, 1ull << 31, "x") == 1ull << 62);
  REQUIRE_THROWS_WITH(checked_mul(1ull << 32, 1ull << 32, "tensor 'w'"),
                      Contains("tensor 'w'") && Contains("overflows 64 bits"));
  REQUIRE_THROWS_WITH(checked_add(~0ull, 1, "file size"), Contains("file size"));
}

TEST_CASE("safetensors tensors must tile the data area: no overlap, no gap, no trailing bytes", "[hostile][loaders]") {
  TempDir dir;
  const std::string f = dir / "x.safetensors";
  // Two 8-byte tensors sharing bytes 4..8 (accepted before: one weight aliased the other).
  write_raw_safetensors(f, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                        12);
  REQUIRE_THROWS_WITH(SafetensorsFile(f), Contains("x.safetensors") && Contains("'b'") && Contains("overlaps"));
  write_raw_safetensors(f, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}})",
                        20);
  REQUIRE_THROWS_WITH(SafetensorsFile(f), Contains("'b'") && Contains("a gap"));
  write_raw_safetensors(f, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 12);
  REQUIRE_THROWS_WITH(SafetensorsFile(f), Contains("trailing bytes"));
  // A shape whose element count wraps 64 bits.
  write_raw_safetensors(f, R"({"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})",
                        0);
  REQUIRE_THROWS_WITH(SafetensorsFile(f), Contains("'a'") && Contains("overflows 64 bits"));
  // A header length past the format's limit, whatever the file size.
  std::string s(8, '\0');
  s[7] = 0x01;  // 2^56
  write_text(f, s + "{}");
  REQUIRE_THROWS_WITH(SafetensorsFile(f), Contains("over the") && Contains("limit"));
  // What the writer makes (back to back, in name order) still loads, empty tensors included.
  write_safetensors(f, {{"a", host_tensor(DType::F32, {2})}, {"e", host_tensor(DType::F32, {0})},
                        {"b", host_tensor(DType::F32, {3})}},
                    DType::F32);
  CHECK(SafetensorsFile(f).names().size() == 3);
}

TEST_CASE("a shard index may name only files inside its folder", "[hostile][loaders]") {
  TempDir dir;
  save_hf(tiny_softmax(), dir.str(), DType::F32, true);
  const std::string index = dir / "model.safetensors.index.json";
  const nlohmann::json good = read_json(index);
  for (const std::string bad : {"/etc/passwd", "../model-00001-of-00002.safetensors", "sub/../../x.safetensors", ""}) {
    INFO(bad);
    nlohmann::json j = good;
    j["weight_map"]["model.norm.weight"] = bad;
    write_json(index, j);
    REQUIRE_THROWS_WITH(load_checkpoint(dir.str()), Contains("model.safetensors.index.json") &&
                                                        Contains("model.norm.weight") &&
                                                        Contains("inside the index's folder"));
  }
  write_json(index, good);
  CHECK(load_checkpoint(dir.str()).config.n_layers == 2);
}

TEST_CASE("config ids and lengths are range-checked, each naming its own key", "[hostile][loaders]") {
  TempDir dir;
  save_hf(tiny_softmax(), dir.str(), DType::F32, false);
  const std::string cfg = dir / "config.json";
  const nlohmann::json hf = read_json(cfg);
  auto hf_with = [&](const char* key, nlohmann::json v) {
    nlohmann::json j = hf;
    j[key] = v;
    write_json(cfg, j);
    return dir.str();
  };
  REQUIRE_THROWS_WITH(load_hf(hf_with("bos_token_id", 100000)),
                      Contains("config.json") && Contains("'bos_token_id' is 100000") && Contains("0..96"));
  REQUIRE_THROWS_WITH(load_hf(hf_with("eos_token_id", -5)), Contains("'eos_token_id' is -5"));
  REQUIRE_THROWS_WITH(load_hf(hf_with("eos_token_id", {200, 2})), Contains("'eos_token_id'"));
  REQUIRE_THROWS_WITH(load_hf(hf_with("max_position_embeddings", 0)),
                      Contains("'max_position_embeddings' is 0") && Contains("1.."));
  REQUIRE_THROWS_WITH(load_hf(hf_with("num_attention_heads", -8)), Contains("'num_attention_heads' is -8"));
  REQUIRE_THROWS_WITH(load_hf(hf_with("hidden_size", 1ll << 40)), Contains("'hidden_size' is 1099511627776"));
  REQUIRE_THROWS_WITH(load_hf(hf_with("vocab_size", 1 << 30)), Contains("'vocab_size'"));
  CHECK(load_hf(hf_with("eos_token_id", {2, 96})).config.eos_id == 2);

  Checkpoint supra = tiny_softmax();
  add_supra_feature_maps(supra, 3);
  TempDir ol;
  save_open_lm(supra, ol.str(), DType::F32);
  const std::string ocfg = ol / "config.json";
  const nlohmann::json o = read_json(ocfg);
  auto ol_with = [&](const char* key, nlohmann::json v) {
    nlohmann::json j = o;
    j[key] = v;
    write_json(ocfg, j);
    return ol.str();
  };
  // Before: "expected a list of -8 numbers" and a complaint about v_head_dim.
  REQUIRE_THROWS_WITH(load_open_lm(ol_with("n_heads", -8)), Contains("'n_heads' is -8") && Contains("1..4096"));
  REQUIRE_THROWS_WITH(load_open_lm(ol_with("qk_head_dim", 0)), Contains("'qk_head_dim' is 0"));
  REQUIRE_THROWS_WITH(load_open_lm(ol_with("seq_len", 0)), Contains("'seq_len' is 0"));
  REQUIRE_THROWS_WITH(load_open_lm(ol_with("bos_token_id", 100000)), Contains("'bos_token_id' is 100000"));
  REQUIRE_THROWS_WITH(load_open_lm(ol_with("eos_token_id", -5)), Contains("'eos_token_id' is -5"));

  // The config's own check, for configs made in code (random shapes, converters).
  ModelConfig c = tiny_softmax().config;
  c.bos_id = c.vocab_size;
  REQUIRE_THROWS_WITH(c.validate("here"), Contains("here") && Contains("bos_id") && Contains("0..96"));
  c.bos_id = 1;
  c.train_ctx = 0;
  REQUIRE_THROWS_WITH(c.validate("here"), Contains("train_ctx"));
}

TEST_CASE("a weight of a non-float dtype is refused before any kernel runs", "[hostile][loaders]") {
  TempDir dir;
  save_hf(tiny_softmax(), dir.str(), DType::F32, false);
  // The same bytes relabelled I32 (before: convert_to_f32 threw inside matmul's parallel region, exit 134).
  const std::string f = dir / "model.safetensors";
  std::string bytes;
  {
    std::ifstream in(f, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  nlohmann::json h = nlohmann::json::parse(bytes.substr(8, n));
  h["model.layers.0.mlp.up_proj.weight"]["dtype"] = "I32";
  std::string text = h.dump();
  text.append(n > text.size() ? n - text.size() : 0, ' ');
  REQUIRE(text.size() == n);
  write_text(f, bytes.substr(0, 8) + text + bytes.substr(8 + n));
  Checkpoint ck = load_checkpoint(dir.str());
  auto be = make_cpu_backend(2);
  REQUIRE_THROWS_WITH(Model(ck, *be), Contains("w_up") && Contains("i32") && Contains("f32, f16 or bf16"));
}

TEST_CASE("an exception inside an OpenMP region reaches the caller, and the chunk length is bounded",
          "[hostile][parallel]") {
  ParallelErrors errors;
  int ran = 0;
#pragma omp parallel for num_threads(2) reduction(+ : ran)
  for (int i = 0; i < 64; i++) {
    errors.guard([&] {
      if (i == 37) fail("item {} failed", i);
    });
    ran++;
  }
  CHECK(ran == 64);
  REQUIRE_THROWS_WITH(errors.rethrow(), "item 37 failed");
  CHECK_NOTHROW(errors.rethrow());  // rethrown once

  Checkpoint ck = small_model(4, 2, AttentionMode::Supra);
  auto be = make_cpu_backend(2);
  ModelOptions huge;
  huge.chunk = std::numeric_limits<int>::max();  // before: signed overflow, then a C x C allocation per thread
  REQUIRE_THROWS_WITH(Model(ck, *be, huge), Contains("chunk length must be in 1..16384"));
  // A chunk longer than the call is one chunk of the call's length: the same numbers, bit for bit.
  ModelOptions whole, longest;
  whole.chunk = 40;
  longest.chunk = kMaxChunk;
  Model a(ck, *be, whole), b(ck, *be, longest);
  const auto tokens = random_tokens(40, 97, 5);
  CHECK(logits_of(a, tokens, 40) == logits_of(b, tokens, 40));
}
