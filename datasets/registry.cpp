#include "datasets/registry.h"

#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/build_info.h"
#include "core/error.h"
#include "core/sha256.h"

namespace supra::datasets {

namespace fs = std::filesystem;

std::string_view format_name(Format f) {
  switch (f) {
    case Format::Jsonl:
      return "jsonl";
    case Format::Hellaswag6Line:
      return "hellaswag_6line";
    case Format::PiqaOfficial:
      return "piqa_official";
    case Format::MmluCsv:
      return "mmlu_csv";
    case Format::OpenbookqaTsv:
      return "openbookqa_tsv";
  }
  fail("format_name: unknown Format value {}", int(f));
}

const DatasetInfo& find_dataset(std::string_view name) {
  for (const DatasetInfo& d : all_datasets())
    if (d.name == name) return d;
  std::string known;
  for (const DatasetInfo& d : all_datasets()) known += (known.empty() ? "" : ", ") + d.name;
  fail("unknown dataset \"{}\"; known datasets: {}", name, known);
}

fs::path data_root(const fs::path& override_root) {
  fs::path root;
  std::string origin;
  if (!override_root.empty()) {
    root = override_root;
    origin = "given data root";
  } else if (const char* env = std::getenv("SUPRA_DATA_DIR"); env && *env) {
    root = env;
    origin = "SUPRA_DATA_DIR";
  } else {
    // The bundled data in the source tree the binary was built from, found from any working directory; an
    // installed binary or a moved tree sets SUPRA_DATA_DIR instead.
    root = fs::path(build_source_root()) / "datasets" / "data";
    origin = "bundled default <repo>/datasets/data";
  }
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    fail("data root {} ({}) is not a directory; set SUPRA_DATA_DIR to the folder holding the benchmark data",
         root.string(), origin);
  return root;
}

std::vector<fs::path> dataset_files(const DatasetInfo& info, const fs::path& override_root) {
  const fs::path root = data_root(override_root);
  std::vector<fs::path> out;
  out.reserve(info.files.size());
  for (const DataFile& f : info.files) out.push_back(root / f.path);
  return out;
}

void verify(const DatasetInfo& info, const fs::path& override_root) {
  const std::vector<fs::path> paths = dataset_files(info, override_root);
  std::vector<std::string> problems;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    std::error_code ec;
    if (!fs::is_regular_file(paths[i], ec)) {
      problems.push_back(fmt::format("missing file {}", paths[i].string()));
      continue;
    }
    const std::string actual = sha256_file(paths[i].string());
    if (actual != info.files[i].sha256)
      problems.push_back(
          fmt::format("changed file {}: sha256 is {}, expected {}", paths[i].string(), actual, info.files[i].sha256));
  }
  if (!problems.empty())
    fail(
        "dataset {}: {} of {} files failed verification:\n  {}\n(the registry holds the sha256 of the bundled "
        "files; see {} for their source)",
        info.name, problems.size(), paths.size(), fmt::join(problems, "\n  "), info.provenance);
}

void verify(std::string_view name, const fs::path& override_root) { verify(find_dataset(name), override_root); }

}  // namespace supra::datasets
