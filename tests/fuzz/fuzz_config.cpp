// libFuzzer target: config.json of a HF folder and of an open_lm folder (each beside valid weights written once at
// start), through load_hf and load_open_lm: every id and length must be range-checked with a message. Seeds: the
// configs save_hf / save_open_lm write, plus the bundled and shared models' config.json (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_writer.h"
#include "tests/fuzz/fuzz_util.h"

using namespace supra;

namespace {

struct Folders {
  std::string hf, open_lm;
};

const Folders& folders() {
  static const Folders f = [] {
    Folders out{(fuzz::scratch() / "hf").string(), (fuzz::scratch() / "open_lm").string()};
    Checkpoint ck = random_checkpoint(named_shape("dim=16,hidden=8,layers=1,heads=4,kv_heads=2,vocab=5,ctx=4"),
                                      DType::F32, 1);
    save_hf(ck, out.hf, DType::F32, false);
    add_supra_feature_maps(ck, 2);
    save_open_lm(ck, out.open_lm, DType::F32);
    return out;
  }();
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = fuzz::seeds_dir();
  const Folders& f = folders();
  if (dir.empty()) return 0;
  namespace fs = std::filesystem;
  fs::copy_file(f.hf + "/config.json", dir + "/hf_config.json", fs::copy_options::overwrite_existing);
  fs::copy_file(f.open_lm + "/config.json", dir + "/open_lm_config.json", fs::copy_options::overwrite_existing);
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Folders& f = folders();
  fuzz::put(std::filesystem::path(f.hf) / "config.json", data, size);
  fuzz::put(std::filesystem::path(f.open_lm) / "config.json", data, size);
  fuzz::expect_refusal_or_success([&] { (void)load_hf(f.hf); });
  fuzz::expect_refusal_or_success([&] { (void)load_open_lm(f.open_lm); });
  fuzz::expect_refusal_or_success([&] { (void)load_checkpoint(f.hf); });
  return 0;
}
