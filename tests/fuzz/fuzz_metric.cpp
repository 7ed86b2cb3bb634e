// libFuzzer target: the input of `supra-eval metric` (JSONL rows of {"prediction": str, "references": [str]}), read
// as cmd_metric reads it and scored with every SCROLLS metric (em, f1, rouge). Seeds: rows made from the bundled
// SCROLLS fixtures' answers (scripts/fuzz.sh) and a few written here.
#include <cstddef>
#include <cstdint>
#include <fstream>

#include "datasets/jsonl.h"
#include "scrolls/metrics.h"
#include "tests/fuzz/fuzz_util.h"

using namespace supra;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = fuzz::seeds_dir();
  if (dir.empty()) return 0;
  std::ofstream(dir + "/rows.jsonl") << "{\"prediction\": \"The cat sat.\", \"references\": [\"the cat sat\", \"a dog\"]}\n"
                                     << "{\"prediction\": \"\", \"references\": [\"\\u212a \\u0130 caf\\u00e9\"]}\n"
                                     << "{\"prediction\": \"yes\", \"references\": [\"Yes.\"], \"id\": 3}\n";
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::filesystem::path f = fuzz::put(fuzz::scratch() / "rows.jsonl", data, size);
  fuzz::expect_refusal_or_success([&] {
    std::vector<scrolls::RougeF> rouges;
    std::vector<double> em, f1;
    for (const datasets::JsonlRecord& r : datasets::read_jsonl(f)) {
      const datasets::JsonFields fields(f, r);
      const std::string prediction = fields.string("prediction");
      const std::vector<std::string> references = fields.strings("references");
      em.push_back(scrolls::max_exact_match(prediction, references));
      f1.push_back(scrolls::max_token_f1(prediction, references));
      rouges.push_back(scrolls::max_rouge(prediction, references));
    }
    if (!rouges.empty()) {
      (void)scrolls::summarization_scores(rouges);
      (void)scrolls::mean_x100(em);
      (void)scrolls::mean_x100(f1);
    }
  });
  return 0;
}
