// libFuzzer target: one safetensors file (8-byte header length, JSON header, data area), through SafetensorsFile;
// every tensor it accepts is read end to end. Seeds: small files written by write_safetensors, plus the bundled
// SUPRA model's (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>

#include "engine/io/safetensors.h"
#include "tests/fuzz/fuzz_util.h"

using namespace supra;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = fuzz::seeds_dir();
  if (dir.empty()) return 0;
  Tensor a = host_tensor(DType::F32, {2, 3}), b = host_tensor(DType::BF16, {4}), e = host_tensor(DType::F16, {0});
  write_safetensors(dir + "/three.safetensors", {{"a", a}, {"b", b}, {"e", e}}, DType::F32, {{"format", "pt"}});
  write_safetensors(dir + "/bf16.safetensors", {{"w", a}}, DType::BF16);
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string f = fuzz::put(fuzz::scratch() / "x.safetensors", data, size);
  fuzz::expect_refusal_or_success([&] {
    SafetensorsFile st(f);
    uint64_t sum = 0;
    for (const std::string& name : st.names()) {
      const Tensor t = st.get(name);
      for (size_t i = 0; i < t.nbytes(); i++) sum += static_cast<const uint8_t*>(t.data)[i];
    }
    volatile uint64_t keep = sum;
    (void)keep;
  });
  return 0;
}
