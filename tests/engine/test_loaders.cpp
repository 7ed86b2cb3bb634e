// Checkpoint loaders and writers: the bundled llama2.c model, HF and open_lm round trips, SUPRA conversion,
// random weights, fingerprints, and one refusal per kind of malformed file (each checked by its message). One
// file (about 700 lines) so every format's round trip and its refusals share the fixture helpers below.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "core/error.h"
#include "engine/io/safetensors.h"
#include "core/sha256.h"
#include "tests/engine/file_fixtures.h"

namespace fs = std::filesystem;
using namespace supra;
using namespace supra::test;
using Catch::Contains;

namespace {

const std::string kStories = std::string(SUPRA_SOURCE_DIR) + "/models/stories260K/stories260K.bin";
constexpr const char* kStoriesSha = "b0a507e7ad0f626624f17112325e66691f9076d622e1d3274d103d00299f2696";

// Rewrites a safetensors file through `edit` (name -> tensor map), copying the tensors out of the mapping first.
template <class F>
void rewrite_safetensors(const std::string& path, F edit) {
  std::map<std::string, Tensor> m;
  DType dt = DType::F32;
  {
    SafetensorsFile f(path);
    for (const auto& name : f.names()) {
      Tensor src = f.get(name);
      Tensor t = host_tensor(src.dtype, src.shape);
      std::memcpy(t.data, src.data, src.nbytes());
      m[name] = t;
      dt = src.dtype;
    }
  }
  edit(m);
  std::vector<std::pair<std::string, Tensor>> v(m.begin(), m.end());
  write_safetensors(path, v, dt);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape == b.shape && a.dtype == b.dtype && std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

std::vector<float> f32_values(const Tensor& t) {
  std::vector<float> v(size_t(t.numel()));
  convert_to_f32(t.dtype, t.data, v.data(), v.size());
  return v;
}

// Every tensor of b equals a's, after a is rounded to b's dtype (bitwise when the dtypes agree).
void require_same_weights(const Checkpoint& a, const Checkpoint& b) {
  auto same = [&](const Tensor& x, const Tensor& y, const std::string& what) {
    INFO(what);
    REQUIRE(x.empty() == y.empty());
    if (x.empty()) return;
    REQUIRE(same_bits(to_dtype(x, y.dtype), y));
  };
  // Every row of the weight table, present in the config or not (absent weights must be absent in both).
  REQUIRE(a.weights.layers.size() == b.weights.layers.size());
  const int n_layers = int(a.weights.layers.size());
  auto is_layer = [](int r) { return kWeightTable<Tensor>[r].layer != nullptr; };
  for_each_row_in_model_order(kWeightCount, n_layers, is_layer, [&](int r, int layer) {
    const Weight wt = make_weight(a.config, r, layer);
    same(wt.in(a.weights), wt.in(b.weights), wt.name);
  });
}

void require_same_shape_config(const ModelConfig& a, const ModelConfig& b) {
  CHECK(a.dim == b.dim);
  CHECK(a.hidden_dim == b.hidden_dim);
  CHECK(a.n_layers == b.n_layers);
  CHECK(a.n_heads == b.n_heads);
  CHECK(a.n_kv_heads == b.n_kv_heads);
  CHECK(a.head_dim == b.head_dim);
  CHECK(a.vocab_size == b.vocab_size);
  CHECK(a.train_ctx == b.train_ctx);
  CHECK(a.norm_eps == b.norm_eps);
  CHECK(a.rope_theta == b.rope_theta);
  CHECK(a.sliding_window == b.sliding_window);
  CHECK(a.tie_embeddings == b.tie_embeddings);
  CHECK(a.bos_id == b.bos_id);
  CHECK(a.eos_id == b.eos_id);
  CHECK(a.attention == b.attention);
  CHECK(a.separate_kv_feature_map == b.separate_kv_feature_map);
  CHECK(a.decay_slopes == b.decay_slopes);
}

// A small GQA model (H=4, Hkv=2) with random weights.
Checkpoint small_model(bool tied = false, int kv_heads = 2) {
  ModelConfig c =
      named_shape(fmt::format("dim=32,hidden=48,layers=2,heads=4,kv_heads={},vocab=64,ctx=128", kv_heads));
  c.tie_embeddings = tied;
  return random_checkpoint(c, DType::F32, 1234);
}

// A valid HF folder of the small model; returns its config path.
std::string hf_fixture(const TempDir& dir, bool tied = false) {
  save_hf(small_model(tied), dir.str(), DType::F32, false);
  return dir / "config.json";
}

}  // namespace

TEST_CASE("sha256 matches the FIPS 180-2 test vectors", "[loaders]") {
  REQUIRE(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  REQUIRE(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  REQUIRE(sha256_hex(two_blocks) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 h;  // fed in odd pieces: the same digest
  for (size_t i = 0; i < two_blocks.size(); i += 7) h.update(two_blocks.substr(i, 7));
  REQUIRE(h.hex() == sha256_hex(two_blocks));
  const std::string million(1000000, 'a');
  REQUIRE(sha256_hex(million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  REQUIRE(sha256_file(kStories) == kStoriesSha);
}

TEST_CASE("stories260K loads with its llama2.c header values", "[loaders]") {
  Checkpoint ck = load_llama2c(kStories);
  const ModelConfig& c = ck.config;
  CHECK(c.source_format == "llama2c");
  CHECK(c.architecture == "llama");
  CHECK(c.dim == 64);
  CHECK(c.hidden_dim == 172);
  CHECK(c.n_layers == 5);
  CHECK(c.n_heads == 8);
  CHECK(c.n_kv_heads == 4);
  CHECK(c.head_dim == 8);
  CHECK(c.vocab_size == 512);
  CHECK(c.train_ctx == 512);
  CHECK(c.tie_embeddings);
  CHECK(c.norm_eps == 1e-5f);
  CHECK(c.rope_theta == 10000.f);
  CHECK(c.rope_pairing == RopePairing::Interleaved);
  CHECK(c.bos_id == 1);
  CHECK(c.eos_id == 2);
  CHECK(c.attention == AttentionMode::Softmax);
  const ModelWeights& w = ck.weights;
  REQUIRE(w.layers.size() == 5);
  CHECK(w.output.data == w.tok_embeddings.data);  // tied: the same storage
  CHECK(w.layers[0].wq.shape == std::vector<int64_t>{64, 64});
  CHECK(w.layers[0].wk.shape == std::vector<int64_t>{32, 64});
  CHECK(w.layers[4].w_down.shape == std::vector<int64_t>{64, 172});
  // Views into the file: the first embedding value is the float right after the 28-byte header.
  std::ifstream in(kStories, std::ios::binary);
  in.seekg(28);
  float first = 0;
  in.read(reinterpret_cast<char*>(&first), 4);
  CHECK(w.tok_embeddings.ptr<float>()[0] == first);
  CHECK(fs::path(ck.tokenizer).filename() == "tok512.model");
  // load_checkpoint detects the format; the fingerprint of a single file is its sha256.
  Checkpoint again = load_checkpoint(kStories);
  CHECK(again.config.dim == 64);
  CHECK(checkpoint_sha256(again) == kStoriesSha);
}

TEST_CASE("llama2.c files of the wrong size are refused with both byte counts", "[loaders]") {
  TempDir dir;
  std::ifstream in(kStories, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() == 1056540);
  const std::string cut = dir / "cut.bin";
  write_text(cut, bytes.substr(0, bytes.size() - 4));
  REQUIRE_THROWS_WITH(load_llama2c(cut), Contains("cut.bin") && Contains("1056536 bytes") &&
                                              Contains("1056540 bytes") && Contains("truncated"));
  const std::string longer = dir / "long.bin";
  write_text(longer, bytes + "xxxx");
  REQUIRE_THROWS_WITH(load_llama2c(longer), Contains("1056544 bytes") && Contains("1056540 bytes"));
  const std::string tiny = dir / "tiny.bin";
  write_text(tiny, bytes.substr(0, 10));
  REQUIRE_THROWS_WITH(load_llama2c(tiny), Contains("tiny.bin") && Contains("header"));
}

TEST_CASE("llama2.c tokenizer discovery prefers tokenizer.model and never guesses", "[loaders]") {
  TempDir dir;
  fs::copy_file(kStories, dir / "m.bin");
  CHECK(load_llama2c(dir / "m.bin").tokenizer.empty());
  write_text(dir / "tok512.model", "x");
  CHECK(fs::path(load_llama2c(dir / "m.bin").tokenizer).filename() == "tok512.model");
  write_text(dir / "tok32000.model", "x");
  CHECK(load_llama2c(dir / "m.bin").tokenizer.empty());  // two candidates: no guess
  write_text(dir / "tokenizer.model", "x");
  CHECK(fs::path(load_llama2c(dir / "m.bin").tokenizer).filename() == "tokenizer.model");
  LoadOptions opts;
  opts.tokenizer = dir / "tok32000.model";
  CHECK(load_checkpoint(dir / "m.bin", opts).tokenizer == opts.tokenizer);
}

TEST_CASE("save_hf then load_hf round-trips config and weights", "[loaders]") {
  const Checkpoint ref = small_model();
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    for (bool sharded : {false, true}) {
      INFO(dtype_name(dt) << (sharded ? " sharded" : " single"));
      TempDir dir;
      save_hf(ref, dir.str(), dt, sharded);
      CHECK(fs::exists(dir / "model.safetensors.index.json") == sharded);
      CHECK(fs::exists(dir / "model-00002-of-00002.safetensors") == sharded);
      Checkpoint got = load_checkpoint(dir.str());
      CHECK(got.config.source_format == "hf");
      CHECK(got.config.architecture == "llama");
      CHECK(got.config.rope_pairing == RopePairing::RotateHalf);
      CHECK(got.config.weight_dtype == dt);
      require_same_shape_config(ref.config, got.config);
      // Bitwise for f32; for f16/bf16 exactly the rounding of the f32 weights.
      require_same_weights(ref, got);
      // Folder fingerprints are stable across loads and differ between dtypes.
      Checkpoint again = load_hf(dir.str());
      CHECK(checkpoint_sha256(got) == checkpoint_sha256(again));
    }
  }
}

TEST_CASE("a Mistral-style HF folder keeps its sliding window - tied models have no lm_head", "[loaders]") {
  TempDir dir;
  Checkpoint m = small_model(true);
  m.config.architecture = "mistral";
  m.config.sliding_window = 16;
  save_hf(m, dir.str(), DType::BF16, false);
  CHECK(read_json(dir / "config.json")["architectures"][0] == "MistralForCausalLM");
  CHECK_FALSE(SafetensorsFile(dir / "model.safetensors").has("lm_head.weight"));
  Checkpoint got = load_hf(dir.str());
  CHECK(got.config.architecture == "mistral");
  CHECK(got.config.sliding_window == 16);
  CHECK(got.config.tie_embeddings);
  CHECK(got.weights.output.data == got.weights.tok_embeddings.data);
}

TEST_CASE("HF config defaults: kv heads, head_dim, rope_theta (also nested) and the model_type key", "[loaders]") {
  TempDir dir;
  const std::string cfg = hf_fixture(dir);
  nlohmann::json j = read_json(cfg);
  j.erase("architectures");  // model_type alone identifies the architecture
  j.erase("head_dim");
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_theta", 500000.0}, {"rope_type", "default"}};
  write_json(cfg, j);
  Checkpoint got = load_hf(dir.str());
  CHECK(got.config.head_dim == 8);
  CHECK(got.config.rope_theta == 500000.f);
  j.erase("rope_parameters");
  write_json(cfg, j);
  CHECK(load_hf(dir.str()).config.rope_theta == 10000.f);
  // num_key_value_heads absent means no GQA: the stored k_proj (2 kv heads) then has the wrong shape.
  j.erase("num_key_value_heads");
  write_json(cfg, j);
  REQUIRE_THROWS_WITH(load_hf(dir.str()), Contains("model.layers.0.self_attn.k_proj.weight") &&
                                              Contains("[16, 32]") && Contains("expected [32, 32]"));
}

TEST_CASE("llama2.c -> HF -> llama2.c keeps every weight (q/k rows re-ordered for rotate-half)", "[loaders]") {
  TempDir dir;
  const Checkpoint orig = load_llama2c(kStories);
  save_hf(orig, dir / "hf", DType::F32, false);
  Checkpoint hf = load_hf(dir / "hf");
  require_same_shape_config(orig.config, hf.config);
  // HF's permutation: rotate-half row i of a head is interleaved row 2i, row i + d/2 is row 2i + 1.
  const int d = orig.config.head_dim;
  const auto row = [](const Tensor& t, int r) { return std::vector<float>(t.ptr<float>() + r * t.row_size(),
                                                                          t.ptr<float>() + (r + 1) * t.row_size()); };
  CHECK(row(hf.weights.layers[0].wq, 1) == row(orig.weights.layers[0].wq, 2));
  CHECK(row(hf.weights.layers[0].wq, d / 2) == row(orig.weights.layers[0].wq, 1));
  CHECK(row(hf.weights.layers[2].wk, d + d / 2 + 1) == row(orig.weights.layers[2].wk, d + 3));
  CHECK(same_bits(hf.weights.layers[0].wv, orig.weights.layers[0].wv));
  save_llama2c(hf, dir / "back.bin");
  CHECK(fs::file_size(dir / "back.bin") == fs::file_size(kStories));
  Checkpoint back = load_llama2c(dir / "back.bin");
  require_same_shape_config(orig.config, back.config);
  require_same_weights(orig, back);
}

TEST_CASE("open_lm SUPRA round trip with a separate kv feature map (H != Hkv)", "[loaders]") {
  Checkpoint ck = load_llama2c(kStories);
  const Checkpoint softmax = ck;
  add_supra_feature_maps(ck, 7);
  const ModelConfig& c = ck.config;
  CHECK(c.attention == AttentionMode::Supra);
  CHECK(c.separate_kv_feature_map);
  CHECK(c.rope_pairing == RopePairing::RotateHalf);
  CHECK(c.source_format == "llama2c");
  CHECK(c.decay_kind == DecaySlopes::Alibi);
  CHECK(c.decay_slopes == alibi_slopes(8));
  CHECK(ck.fingerprint != kStoriesSha);
  const LayerWeights& L = ck.weights.layers[0];
  REQUIRE(L.phi_q_w.shape == std::vector<int64_t>{64, 64});
  REQUIRE(L.phi_q_b.shape == std::vector<int64_t>{64});
  REQUIRE(L.phi_k_w.shape == std::vector<int64_t>{32, 32});
  REQUIRE(L.phi_k_b.shape == std::vector<int64_t>{32});
  // torch.nn.Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias, fan_in = H*d or Hkv*d.
  const std::vector<std::pair<Tensor, int>> maps = {{L.phi_q_w, 64}, {L.phi_q_b, 64}, {L.phi_k_w, 32}, {L.phi_k_b, 32}};
  for (const auto& [t, fan_in] : maps) {
    const auto v = f32_values(t);
    const float bound = 1.f / std::sqrt(float(fan_in));
    float lo = 1, hi = -1;
    for (float x : v) lo = std::min(lo, x), hi = std::max(hi, x);
    // The draw scales a [-1, 1) uniform by the bound in fp32: one rounding (u = 6e-8) on top of the bound.
    CHECK(lo >= -bound * (1 + 1e-6f));
    CHECK(hi <= bound * (1 + 1e-6f));
    CHECK(hi - lo > bound);  // spread over the range, not a constant
  }
  // Pretrained weights kept (only re-ordered for rotate-half RoPE), seeded and deterministic.
  CHECK(same_bits(ck.weights.layers[3].w_down, softmax.weights.layers[3].w_down));
  Checkpoint ck2 = load_llama2c(kStories);
  add_supra_feature_maps(ck2, 7);
  CHECK(same_bits(ck2.weights.layers[1].phi_k_w, ck.weights.layers[1].phi_k_w));
  CHECK(ck2.fingerprint == ck.fingerprint);
  Checkpoint ck3 = load_llama2c(kStories);
  add_supra_feature_maps(ck3, 8);
  CHECK_FALSE(same_bits(ck3.weights.layers[1].phi_k_w, ck.weights.layers[1].phi_k_w));
  CHECK(ck3.fingerprint != ck.fingerprint);
  REQUIRE_THROWS_WITH(add_supra_feature_maps(ck3, 1), Contains("already a SUPRA model"));

  TempDir dir;
  save_open_lm(ck, dir.str(), DType::F32);
  const nlohmann::json j = read_json(dir / "config.json");
  CHECK(j["attn_name"] == "linear_attn");
  CHECK(j["n_heads_kv"] == 4);
  CHECK(SafetensorsFile(dir / "model.safetensors").has("layers.0.attention._totrain_embed_kv.weight"));
  CHECK(SafetensorsFile(dir / "model.safetensors").get("layers.0.attention.in_proj.weight").shape ==
        std::vector<int64_t>{128, 64});
  Checkpoint got = load_checkpoint(dir.str());
  CHECK(got.config.source_format == "open_lm");
  CHECK(got.config.architecture == "open_lm");
  CHECK(got.config.rope_pairing == RopePairing::RotateHalf);
  CHECK(got.config.decay_kind == DecaySlopes::Checkpoint);
  require_same_shape_config(ck.config, got.config);
  require_same_weights(ck, got);
  // bf16 too, within its rounding.
  TempDir dir16;
  save_open_lm(ck, dir16.str(), DType::BF16);
  require_same_weights(ck, load_open_lm(dir16.str()));
}

TEST_CASE("open_lm SUPRA with H == Hkv shares one feature map", "[loaders]") {
  Checkpoint ck = small_model(false, 4);
  add_supra_feature_maps(ck, 3, DecaySlopes::RetNet);
  CHECK_FALSE(ck.config.separate_kv_feature_map);
  CHECK(ck.weights.layers[0].phi_k_w.empty());
  CHECK(ck.config.decay_slopes == retnet_slopes(4));
  TempDir dir;
  save_open_lm(ck, dir.str(), DType::F16);
  SafetensorsFile st(dir / "model.safetensors");
  for (const auto& name : st.names()) CHECK(name.find("_totrain_embed_kv") == std::string::npos);
  CHECK(st.has("layers.1.attention._totrain_embed.bias"));
  Checkpoint got = load_open_lm(dir.str());
  require_same_shape_config(ck.config, got.config);
  require_same_weights(ck, got);
  // A kv map that H == Hkv models do not have is refused, not dropped.
  rewrite_safetensors(dir / "model.safetensors", [](std::map<std::string, Tensor>& m) {
    m["layers.0.attention._totrain_embed_kv.weight"] = m["layers.0.attention._totrain_embed.weight"];
  });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("unexpected tensor 'layers.0.attention._totrain_embed_kv.weight'"));
}

TEST_CASE("open_lm names with a model. prefix, params.json and a softmax attn_name load", "[loaders]") {
  Checkpoint ck = small_model(true);
  TempDir dir;
  save_open_lm(ck, dir.str(), DType::F32);
  rewrite_safetensors(dir / "model.safetensors", [](std::map<std::string, Tensor>& m) {
    std::map<std::string, Tensor> out;
    for (auto& [k, v] : m) out["model." + k] = v;
    out["model.layers.0.attention.pos_embed.inv_freq"] = host_tensor(DType::F32, {4});  // ignored legacy buffer
    m = out;
  });
  // params.json instead of config.json
  fs::rename(dir / "config.json", dir / "params.json");
  nlohmann::json j = read_json(dir / "params.json");
  CHECK(j["attn_name"] == "torch_attn");
  j["attn_name"] = "xformers_attn";
  write_json(dir / "params.json", j);
  Checkpoint got = load_checkpoint(dir.str());
  CHECK(got.config.source_format == "open_lm");
  CHECK(got.config.attention == AttentionMode::Softmax);
  CHECK(got.config.tie_embeddings);
  require_same_shape_config(ck.config, got.config);
  require_same_weights(ck, got);
}

TEST_CASE("random checkpoints are seeded, shaped and fingerprinted by their recipe", "[loaders]") {
  const ModelConfig c = named_shape("stories260K");
  Checkpoint a = random_checkpoint(c, DType::F32, 42);
  Checkpoint b = random_checkpoint(c, DType::F32, 42);
  Checkpoint d = random_checkpoint(c, DType::F32, 43);
  CHECK(same_bits(a.weights.layers[2].w_up, b.weights.layers[2].w_up));
  CHECK_FALSE(same_bits(a.weights.layers[2].w_up, d.weights.layers[2].w_up));
  CHECK(checkpoint_sha256(a) == checkpoint_sha256(b));
  CHECK(checkpoint_sha256(a) != checkpoint_sha256(d));
  CHECK(a.weights.output.data == a.weights.tok_embeddings.data);
  CHECK(f32_values(a.weights.layers[0].attn_norm) == std::vector<float>(64, 1.f));
  // std 0.02, mean 0.
  const auto v = f32_values(a.weights.layers[0].w_gate);
  double s = 0, s2 = 0;
  for (float x : v) s += x, s2 += double(x) * x;
  const double mean = s / v.size(), sd = std::sqrt(s2 / v.size() - mean * mean);
  // Sampling error, not rounding: n = 172 x 64 = 11008 seeded draws put the mean within 4 sd/sqrt(n) = 7.6e-4 and
  // the sample sd within 4/sqrt(2n) = 2.7% relative (4 sigma); the draws are the same on every machine.
  CHECK(std::abs(mean) < 1e-3);
  CHECK(sd == Approx(0.02).epsilon(0.03));
  // bf16 weights are the rounding of the same values.
  Checkpoint h = random_checkpoint(c, DType::BF16, 42);
  CHECK(same_bits(to_dtype(a.weights.layers[1].wq, DType::BF16), h.weights.layers[1].wq));
  CHECK(checkpoint_sha256(h) != checkpoint_sha256(a));
}

// sha256 of every weight's bytes, in the weight table's order.
std::string weights_sha256(const Checkpoint& ck) {
  Sha256 h;
  for_each_weight(ck.config, [&](const Weight& wt) {
    const Tensor& t = wt.in(ck.weights);
    h.update(t.data, t.nbytes());
  });
  return h.hex();
}

TEST_CASE("random weights are pinned: the table's streams never change", "[loaders]") {
  // Benchmarks and tests name random models by seed. These are the values of the code before the weight table
  // (checked bit for bit when the table came).
  const Checkpoint a = random_checkpoint(named_shape("stories260K"), DType::F32, 42);
  CHECK(weights_sha256(a) == "fa24a22a0afebf3d168789c988167b3aae96d377efe2b83146a7bf1babb3dacf");
  const ModelConfig gqa = named_shape("dim=64,hidden=96,layers=3,heads=8,kv_heads=2,vocab=97,ctx=128");
  Checkpoint s = random_checkpoint(gqa, DType::BF16, 42);
  add_supra_feature_maps(s, 5, DecaySlopes::RetNet);
  CHECK(weights_sha256(s) == "0bec5a42a5624bb2c1d95fe52c734d3dd5d82c26bfde48bb856ab602ca99602d");
}

TEST_CASE("matrix_bytes counts every weight matrix once, norms and biases not at all", "[loaders]") {
  const ModelConfig gqa = named_shape("dim=64,hidden=96,layers=3,heads=8,kv_heads=2,vocab=97");
  Checkpoint ck = random_checkpoint(gqa, DType::F32, 1);
  const size_t D = 64, F = 96, V = 97, Q = 64, KV = 16, L = 3;
  const size_t per_layer = D * Q + 2 * D * KV + Q * D + 3 * D * F;
  CHECK(matrix_bytes(ck.config, ck.weights) == 4 * (2 * V * D + L * per_layer));  // untied: output counted
  CHECK(matrix_bytes(ck.config, ck.weights, DType::BF16) == 2 * (2 * V * D + L * per_layer));
  add_supra_feature_maps(ck, 2);  // H != Hkv: Aq and Ak
  CHECK(matrix_bytes(ck.config, ck.weights) == 4 * (2 * V * D + L * (per_layer + Q * Q + KV * KV)));
  const Checkpoint tied = random_checkpoint(named_shape("stories260K"), DType::F32, 1);
  const size_t tied_layer = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 172;  // D 64, Q 64, KV 32, F 172
  CHECK(matrix_bytes(tied.config, tied.weights) == 4 * (512 * 64 + 5 * tied_layer));  // the embedding once
}

TEST_CASE("named shapes and custom shape specs", "[loaders]") {
  const ModelConfig m = named_shape("mistral-7b");
  CHECK(m.dim == 4096);
  CHECK(m.hidden_dim == 14336);
  CHECK(m.n_kv_heads == 8);
  CHECK(m.sliding_window == 4096);
  CHECK(m.vocab_size == 32000);
  const ModelConfig t = named_shape("tiny-85m");
  CHECK(t.dim == 768);
  CHECK(t.hidden_dim == 2048);
  CHECK(t.n_layers == 12);
  CHECK(t.n_heads == 12);
  CHECK(t.n_kv_heads == 12);
  CHECK(t.vocab_size == 512);
  CHECK(t.train_ctx == 2048);
  CHECK(named_shape("llama2-13b").n_layers == 40);
  CHECK(named_shape("stories15M").dim == 288);
  const ModelConfig s = named_shape("dim=128,hidden=256,layers=3,heads=4,kv_heads=2,vocab=100,ctx=64");
  CHECK(s.head_dim == 32);
  CHECK(s.train_ctx == 64);
  REQUIRE_THROWS_WITH(named_shape("llama9-1t"), Contains("llama9-1t") && Contains("mistral-7b") &&
                                                    Contains("stories260K") && Contains("tiny-85m"));
  REQUIRE_THROWS_WITH(named_shape("dim=128,hidden=256"), Contains("missing 'layers'"));
  REQUIRE_THROWS_WITH(named_shape("dim=128,hidden=256,layers=3,heads=4,kv_heads=2,vocab=100,depth=2"),
                      Contains("unknown key 'depth'"));
}

// ---- malformed files: each refusal names the file and the culprit ----

TEST_CASE("HF: a missing tensor is named", "[loaders]") {
  TempDir dir;
  hf_fixture(dir);
  rewrite_safetensors(dir / "model.safetensors",
                      [](std::map<std::string, Tensor>& m) { m.erase("model.layers.1.mlp.up_proj.weight"); });
  REQUIRE_THROWS_WITH(load_hf(dir.str()),
                      Contains("model.safetensors") && Contains("'model.layers.1.mlp.up_proj.weight' not found"));
}

TEST_CASE("HF: an untied model without lm_head.weight is refused", "[loaders]") {
  TempDir dir;
  hf_fixture(dir);
  rewrite_safetensors(dir / "model.safetensors", [](std::map<std::string, Tensor>& m) { m.erase("lm_head.weight"); });
  REQUIRE_THROWS_WITH(load_hf(dir.str()), Contains("lm_head.weight") && Contains("tie_word_embeddings is false"));
}

TEST_CASE("HF: a wrong shape names the tensor and both shapes", "[loaders]") {
  TempDir dir;
  hf_fixture(dir);
  rewrite_safetensors(dir / "model.safetensors", [](std::map<std::string, Tensor>& m) {
    m["model.layers.0.self_attn.k_proj.weight"] = m["model.layers.0.self_attn.k_proj.weight"].reshaped({32, 16});
  });
  REQUIRE_THROWS_WITH(load_hf(dir.str()), Contains("model.layers.0.self_attn.k_proj.weight") &&
                                              Contains("shape [32, 16]") && Contains("expected [16, 32]"));
}

TEST_CASE("HF: unknown architecture and missing rms_norm_eps are refused naming file and key", "[loaders]") {
  TempDir dir;
  const std::string cfg = hf_fixture(dir);
  nlohmann::json j = read_json(cfg);
  nlohmann::json bad = j;
  bad["architectures"] = {"GPT2LMHeadModel"};
  write_json(cfg, bad);
  REQUIRE_THROWS_WITH(load_hf(dir.str()),
                      Contains("config.json") && Contains("architectures") && Contains("LlamaForCausalLM"));
  bad.erase("architectures");
  bad["model_type"] = "gpt2";
  write_json(cfg, bad);
  REQUIRE_THROWS_WITH(load_checkpoint(dir.str()), Contains("model_type") && Contains("gpt2"));
  bad = j;
  bad.erase("rms_norm_eps");
  write_json(cfg, bad);
  REQUIRE_THROWS_WITH(load_hf(dir.str()), Contains("config.json") && Contains("missing required key 'rms_norm_eps'"));
  bad = j;
  bad["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  write_json(cfg, bad);
  REQUIRE_THROWS_WITH(load_hf(dir.str()), Contains("rope_scaling"));
}

TEST_CASE("HF: a sharded index naming a missing shard or tensor is refused", "[loaders]") {
  TempDir dir;
  save_hf(small_model(), dir.str(), DType::F32, true);
  nlohmann::json idx = read_json(dir / "model.safetensors.index.json");
  idx["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";  // lives in shard 2
  write_json(dir / "model.safetensors.index.json", idx);
  REQUIRE_THROWS_WITH(load_hf(dir.str()), Contains("model.norm.weight") && Contains("does not hold it"));
  idx["weight_map"]["model.norm.weight"] = "model-00003-of-00002.safetensors";
  write_json(dir / "model.safetensors.index.json", idx);
  REQUIRE_THROWS_WITH(load_hf(dir.str()), Contains("model-00003-of-00002.safetensors") && Contains("does not exist"));
}

TEST_CASE("safetensors: header length larger than the file", "[loaders]") {
  TempDir dir;
  std::string s(8, '\0');
  s[0] = char(0xe8);  // 1000
  s[1] = char(0x03);
  s += "{}";
  write_text(dir / "big.safetensors", s);
  REQUIRE_THROWS_WITH(SafetensorsFile(dir / "big.safetensors"),
                      Contains("big.safetensors") && Contains("header length 1000 is larger than the file (10 bytes)"));
  write_text(dir / "short.safetensors", "abc");
  REQUIRE_THROWS_WITH(SafetensorsFile(dir / "short.safetensors"), Contains("too short"));
}

TEST_CASE("safetensors: a header that is not JSON", "[loaders]") {
  TempDir dir;
  write_raw_safetensors(dir / "x.safetensors", "{\"a\": [1, 2", 0);
  REQUIRE_THROWS_WITH(SafetensorsFile(dir / "x.safetensors"), Contains("x.safetensors") && Contains("not JSON"));
}

TEST_CASE("safetensors: an unknown dtype names the tensor", "[loaders]") {
  TempDir dir;
  write_raw_safetensors(dir / "x.safetensors", R"({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}})",
                        16);
  REQUIRE_THROWS_WITH(SafetensorsFile(dir / "x.safetensors"),
                      Contains("x.safetensors") && Contains("'w'") && Contains("unknown dtype 'F64'"));
}

TEST_CASE("safetensors: byte size disagreeing with shape and dtype", "[loaders]") {
  TempDir dir;
  write_raw_safetensors(dir / "x.safetensors",
                        R"({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 20]}})", 20);
  REQUIRE_THROWS_WITH(SafetensorsFile(dir / "x.safetensors"),
                      Contains("'w'") && Contains("[2, 3]") && Contains("needs 24 bytes") && Contains("span 20 bytes"));
}

TEST_CASE("safetensors: truncated data", "[loaders]") {
  TempDir dir;
  const std::string p = dir / "x.safetensors";
  Tensor t = host_tensor(DType::F32, {4, 4});
  write_safetensors(p, {{"a", t}, {"b", t}}, DType::F32);
  const auto size = fs::file_size(p);
  fs::resize_file(p, size - 8);
  REQUIRE_THROWS_WITH(SafetensorsFile(p), Contains("x.safetensors") && Contains("'b'") && Contains("truncated"));
}

TEST_CASE("safetensors: writer layout, metadata and dtype conversion", "[loaders]") {
  TempDir dir;
  const std::string p = dir / "x.safetensors";
  Tensor a = host_tensor(DType::F32, {3});
  a.ptr<float>()[0] = 1.5f;
  a.ptr<float>()[1] = -2.f;
  a.ptr<float>()[2] = 1e-3f;
  write_safetensors(p, {{"z", a}, {"a", a}}, DType::BF16, {{"format", "pt"}});
  std::ifstream in(p, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  CHECK((8 + n) % 8 == 0);  // data area 8-byte aligned, header padded with spaces
  SafetensorsFile f(p);
  CHECK(f.metadata()["format"] == "pt");
  CHECK(f.names() == std::vector<std::string>{"a", "z"});
  CHECK(f.get("a").data < f.get("z").data);  // sorted name order in the data area
  CHECK(f.get("z").dtype == DType::BF16);
  CHECK(f32_values(f.get("z"))[1] == -2.f);
  REQUIRE_THROWS_WITH(f.get("nope"), Contains("x.safetensors") && Contains("'nope' not found"));
}

TEST_CASE("open_lm: unknown attn_name, missing keys and unsupported variants are refused", "[loaders]") {
  Checkpoint ck = small_model();
  add_supra_feature_maps(ck, 1);
  TempDir dir;
  save_open_lm(ck, dir.str(), DType::F32);
  const std::string cfg = dir / "config.json";
  const nlohmann::json j = read_json(cfg);
  auto with = [&](auto edit) {
    nlohmann::json x = j;
    edit(x);
    write_json(cfg, x);
  };
  with([](nlohmann::json& x) { x["attn_name"] = "mamba_attn"; });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()),
                      Contains("config.json") && Contains("attn_name") && Contains("mamba_attn") && Contains("linear_attn"));
  with([](nlohmann::json& x) { x.erase("n_heads_kv"); });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("config.json") && Contains("missing required key 'n_heads_kv'"));
  with([](nlohmann::json& x) { x.erase("use_decay"); });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("missing required key 'use_decay'"));
  with([](nlohmann::json& x) { x["use_decay"] = false; });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("use_decay"));
  with([](nlohmann::json& x) { x.erase("norm_eps"); });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("missing required key 'norm_eps'"));
  with([](nlohmann::json& x) { x.erase("positional_embedding_type"); });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("missing required key 'positional_embedding_type'"));
  with([](nlohmann::json& x) { x["norm_type"] = "default_layer_norm"; });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("norm_type") && Contains("default_layer_norm"));
  with([](nlohmann::json& x) { x["apply_qk_norm"] = true; });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("apply_qk_norm"));
  with([](nlohmann::json& x) { x["hidden_dim"] = 50; });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("hidden_dim") && Contains("48"));
  with([](nlohmann::json& x) { x["decay_slopes"] = {0.5, 0.25}; });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("decay_slopes") && Contains("4 numbers"));
  // Without decay_slopes: the ALiBi rule, or RetNet when asked.
  with([](nlohmann::json& x) { x.erase("decay_slopes"); });
  CHECK(load_open_lm(dir.str()).config.decay_slopes == alibi_slopes(4));
  with([](nlohmann::json& x) {
    x.erase("decay_slopes");
    x["use_retnet_slopes"] = true;
  });
  CHECK(load_open_lm(dir.str()).config.decay_slopes == retnet_slopes(4));
  // attn_name missing: config.json is no longer recognisably open_lm; params.json names the key.
  fs::remove(cfg);
  nlohmann::json p = j;
  p.erase("attn_name");
  write_json(dir / "params.json", p);
  REQUIRE_THROWS_WITH(load_checkpoint(dir.str()), Contains("params.json") && Contains("missing required key 'attn_name'"));
  // A missing SUPRA tensor is named.
  write_json(cfg, j);
  rewrite_safetensors(dir / "model.safetensors",
                      [](std::map<std::string, Tensor>& m) { m.erase("layers.1.attention._totrain_embed_kv.bias"); });
  REQUIRE_THROWS_WITH(load_open_lm(dir.str()), Contains("'layers.1.attention._totrain_embed_kv.bias' not found"));
}

TEST_CASE("load_checkpoint says what it expected when the format is unknown", "[loaders]") {
  TempDir dir;
  REQUIRE_THROWS_WITH(load_checkpoint(dir.str()), Contains("config.json") && Contains("params.json") &&
                                                      Contains("llama2.c"));
  write_json(dir / "config.json", {{"hidden_size", 8}});
  REQUIRE_THROWS_WITH(load_checkpoint(dir.str()), Contains("attn_name") && Contains("model_type"));
  REQUIRE_THROWS_WITH(load_checkpoint(dir / "nothing-here"), Contains("no such file or directory"));
}
