#pragma once
// What data the harness bundles: every dataset's files (relative to a data root), format, split, record count,
// license, provenance and the sha256 of each file. The checksums are part of the source (registry_table.cpp),
// written once when the files were added and never recomputed at startup, so a changed or replaced file is caught
// by verify() rather than trusted.
//
// The data root is, in order of precedence: the `data_root` argument when non-empty, the SUPRA_DATA_DIR
// environment variable when set and non-empty, and the bundled <repo>/datasets/data.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supra::datasets {

// How a dataset's files are laid out; each format has one reader (see the header named in the comment).
enum class Format {
  Jsonl,           // one JSON object per line; record type per dataset (llmfoundry.h, long_context.h)
  Hellaswag6Line,  // llama.cpp hellaswag text, 6 lines per task, in part files (hellaswag.h)
  PiqaOfficial,    // valid.jsonl + valid-labels.lst (piqa.h)
  MmluCsv,         // one headerless CSV per subject (mmlu.h)
  OpenbookqaTsv,   // official TSV with header (openbookqa.h)
};
std::string_view format_name(Format f);  // "jsonl", "hellaswag_6line", "piqa_official", "mmlu_csv", "openbookqa_tsv"

struct DataFile {
  std::string path;     // relative to the data root, '/'-separated
  std::size_t records;  // records (or label lines) in this file
  std::string sha256;   // lowercase hex, as sha256sum prints it
};

struct DatasetInfo {
  std::string name;       // unique key: "hellaswag", "mmlu_dev", "kv_pairs_middle_4096", ...
  std::string benchmark;  // what it measures, shared by variants: "mmlu", "openbookqa", "kv_pairs", ...
  std::string split;      // the lm-eval split name: "validation", "test", "dev"; "example" for quality_example
  Format format;
  std::size_t records;          // documents the harness evaluates (for piqa: pairs of a record and its label)
  std::string license;          // SPDX-style identifier; the full note is in the folder's LICENSE file
  std::string provenance;       // PROVENANCE.md relative to the data root: source repository, path, commit
  std::vector<DataFile> files;  // in reading order
};

// Every bundled dataset, in a fixed order.
const std::vector<DatasetInfo>& all_datasets();

// The dataset called `name`; an unknown name is an error listing the known ones.
const DatasetInfo& find_dataset(std::string_view name);

// The data root in use (see the top of this file). A root that does not exist is an error naming it and where the
// choice came from (argument, SUPRA_DATA_DIR or the bundled default).
std::filesystem::path data_root(const std::filesystem::path& override_root = {});

// Absolute paths of a dataset's files under data_root(override_root), in reading order.
std::vector<std::filesystem::path> dataset_files(const DatasetInfo& info,
                                                 const std::filesystem::path& override_root = {});

// Recomputes the sha256 of every file of the dataset and compares it with the registry. Every problem is listed in
// one error: a missing file (its path) or a changed one (its path, the expected and the actual sha256).
void verify(const DatasetInfo& info, const std::filesystem::path& override_root = {});
void verify(std::string_view name, const std::filesystem::path& override_root = {});

}  // namespace supra::datasets
