// libFuzzer target: every dataset reader (datasets/ and the SCROLLS reader). The first byte of the input picks the
// reader (kReaders, by index modulo its size); the rest is the file. Seeds: the first records of each bundled
// dataset file, prefixed with its reader's byte (scripts/fuzz.sh writes them with the names listed here).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "datasets/csv.h"
#include "datasets/hellaswag.h"
#include "datasets/jsonl.h"
#include "datasets/llmfoundry.h"
#include "datasets/long_context.h"
#include "datasets/mmlu.h"
#include "datasets/openbookqa.h"
#include "datasets/piqa.h"
#include "scrolls/scrolls_reader.h"
#include "tests/fuzz/fuzz_util.h"

using namespace supra;
namespace fs = std::filesystem;

namespace {

struct Reader {
  const char* name;  // the seed prefix scripts/fuzz.sh uses: seed files "<index>_<name>_*"
  const char* file;  // the name the input is written under (readers that read meaning from it)
  std::function<void(const fs::path&)> read;
};

const std::vector<Reader> kReaders = {
    {"jsonl", "x.jsonl", [](const fs::path& f) { (void)datasets::read_jsonl(f); }},
    {"choice", "x.jsonl", [](const fs::path& f) { (void)datasets::read_choice_jsonl(f, std::nullopt); }},
    {"winogrande", "x.jsonl", [](const fs::path& f) { (void)datasets::read_winogrande_jsonl(f); }},
    {"lambada", "x.jsonl", [](const fs::path& f) { (void)datasets::read_lambada_jsonl(f); }},
    {"hellaswag", "x.txt", [](const fs::path& f) { (void)datasets::read_hellaswag_6line(f); }},
    {"mmlu", "abstract_algebra_dev.csv", [](const fs::path& f) { (void)datasets::read_mmlu_csv(f, "dev"); }},
    {"csv", "x.csv", [](const fs::path& f) { (void)datasets::read_csv(f); }},
    {"openbookqa", "x.tsv", [](const fs::path& f) { (void)datasets::read_openbookqa_tsv(f); }},
    {"piqa", "valid.jsonl",
     [](const fs::path& f) {
       // The input holds both files: the questions, a NUL byte, the labels.
       (void)datasets::read_piqa_official(f, f.parent_path() / "valid-labels.lst");
     }},
    {"long_qa", "x.jsonl", [](const fs::path& f) { (void)datasets::read_long_qa_jsonl(f); }},
    {"kv_retrieval", "x.jsonl", [](const fs::path& f) { (void)datasets::read_kv_retrieval_jsonl(f); }},
    {"quality", "x.jsonl", [](const fs::path& f) { (void)datasets::read_quality_jsonl(f); }},
    {"scrolls", "validation.jsonl", [](const fs::path& f) { (void)scrolls::read_scrolls_jsonl(f); }},
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // scripts/fuzz.sh asks for the reader table to name its seeds: "SUPRA_FUZZ_LIST=1" prints "<index> <name>".
  if (std::getenv("SUPRA_FUZZ_LIST")) {
    for (size_t i = 0; i < kReaders.size(); i++) std::printf("%zu %s\n", i, kReaders[i].name);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const Reader& r = kReaders[data[0] % kReaders.size()];
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (std::string(r.name) == "piqa") {  // "<questions>\0<labels>"
    const size_t cut = body.find('\0');
    fuzz::put(fuzz::scratch() / "valid-labels.lst", cut == std::string::npos ? std::string() : body.substr(cut + 1));
    if (cut != std::string::npos) body.resize(cut);
  }
  const fs::path f = fuzz::put(fuzz::scratch() / r.file, body);
  fuzz::expect_refusal_or_success([&] { r.read(f); });
  return 0;
}
