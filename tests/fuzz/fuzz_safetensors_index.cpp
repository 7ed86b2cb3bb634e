// libFuzzer target: a sharded checkpoint's model.safetensors.index.json, through TensorStore::from_index, beside two
// valid shards (written once at start). Must never open a file outside the folder. Seeds: the index save_hf writes.
#include <cstddef>
#include <cstdint>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_io.h"
#include "engine/io/checkpoint_writer.h"
#include "tests/fuzz/fuzz_util.h"

using namespace supra;

namespace {

std::string shards_dir() {
  static const std::string dir = [] {
    const std::string d = (fuzz::scratch() / "sharded").string();
    save_hf(random_checkpoint(named_shape("dim=8,hidden=8,layers=1,heads=2,kv_heads=2,vocab=4,ctx=2"), DType::F32, 1),
            d, DType::F32, true);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = fuzz::seeds_dir();
  const std::string shards = shards_dir();
  if (dir.empty()) return 0;
  std::filesystem::copy_file(shards + "/model.safetensors.index.json", dir + "/index.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string index = fuzz::put(std::filesystem::path(shards_dir()) / "model.safetensors.index.json", data, size);
  fuzz::expect_refusal_or_success([&] {
    const TensorStore st = TensorStore::from_index(index);
    for (const std::string& name : st.names()) (void)st.get(name);
  });
  return 0;
}
