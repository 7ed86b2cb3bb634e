// libFuzzer target: a llama2.c v0 checkpoint (the 7 x int32 header and the arrays it sizes), through load_llama2c.
// Seeds: a tiny model written by save_llama2c, plus the bundled stories260K header (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>

#include "engine/checkpoint.h"
#include "engine/io/checkpoint_writer.h"
#include "tests/fuzz/fuzz_util.h"

using namespace supra;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = fuzz::seeds_dir();
  if (dir.empty()) return 0;
  for (const char* shape : {"dim=8,hidden=8,layers=1,heads=2,kv_heads=2,vocab=4,ctx=2",
                            "dim=16,hidden=12,layers=2,heads=4,kv_heads=2,vocab=6,ctx=3"}) {
    const Checkpoint ck = random_checkpoint(named_shape(shape), DType::F32, 1);
    save_llama2c(ck, dir + "/tiny_" + std::to_string(ck.config.dim) + ".bin");
  }
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string f = fuzz::put(fuzz::scratch() / "model.bin", data, size);
  fuzz::expect_refusal_or_success([&] {
    Checkpoint ck = load_llama2c(f);
    // Touch both ends of every view: a view outside the mapping faults here under ASan.
    for_each_weight(ck.config, [&](const Weight& wt) {
      const Tensor& t = wt.in(ck.weights);
      if (t.nbytes() == 0) return;
      volatile uint8_t first = static_cast<const uint8_t*>(t.data)[0];
      volatile uint8_t last = static_cast<const uint8_t*>(t.data)[t.nbytes() - 1];
      (void)first;
      (void)last;
    });
  });
  return 0;
}
