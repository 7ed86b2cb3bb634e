#include "datasets/load.h"

#include <optional>
#include <utility>

#include "datasets/registry.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

namespace {

// The registry entry `name`, after checking that it has the format the caller's reader expects and that its files
// are the bundled ones.
const DatasetInfo& checked(std::string_view name, Format format, const fs::path& root) {
  const DatasetInfo& info = find_dataset(name);
  if (info.format != format)
    fail("dataset {} has format {}, not {}; it cannot be loaded this way", name, format_name(info.format),
         format_name(format));
  verify(info, root);
  return info;
}

// A count different from the registry's, with unchanged files, means the reader and the registry disagree about
// the format: a bug to report, never a number to run with.
template <class T>
std::vector<T> counted(const DatasetInfo& info, std::vector<T> records) {
  if (records.size() != info.records)
    fail("dataset {}: read {} records, the registry says {}", info.name, records.size(), info.records);
  return records;
}

template <class T, class ReadOne>
std::vector<T> read_each(const DatasetInfo& info, const fs::path& root, ReadOne read_one) {
  std::vector<T> out;
  for (const fs::path& file : dataset_files(info, root)) {
    std::vector<T> part = read_one(file);
    out.insert(out.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
  }
  return counted(info, std::move(out));
}

}  // namespace

std::vector<HellaswagRecord> load_hellaswag(const fs::path& root) {
  const DatasetInfo& info = checked("hellaswag", Format::Hellaswag6Line, root);
  return counted(info, read_hellaswag_6line(dataset_files(info, root)));
}

std::vector<PiqaRecord> load_piqa(const fs::path& root) {
  const DatasetInfo& info = checked("piqa", Format::PiqaOfficial, root);
  const std::vector<fs::path> files = dataset_files(info, root);
  return counted(info, read_piqa_official(files.at(0), files.at(1)));
}

std::vector<ChoiceRecord> load_choices(std::string_view name, const fs::path& root) {
  static const std::pair<std::string_view, std::size_t> kChoices[] = {
      {"arc_easy", 4}, {"arc_challenge", 4},   {"boolq", 2},
      {"copa", 2},     {"piqa_llmfoundry", 2}, {"openbookqa_llmfoundry", 4}};
  std::optional<std::size_t> n_choices;
  for (const auto& [known, n] : kChoices)
    if (known == name) n_choices = n;
  if (!n_choices)
    fail(
        "load_choices: dataset \"{}\" is not a query/choices/gold JSONL; expected one of arc_easy, arc_challenge, "
        "boolq, copa, piqa_llmfoundry, openbookqa_llmfoundry",
        name);
  const DatasetInfo& info = checked(name, Format::Jsonl, root);
  return read_each<ChoiceRecord>(info, root, [&](const fs::path& f) { return read_choice_jsonl(f, n_choices); });
}

std::vector<WinograndeRecord> load_winogrande(const fs::path& root) {
  const DatasetInfo& info = checked("winogrande", Format::Jsonl, root);
  return read_each<WinograndeRecord>(info, root, [](const fs::path& f) { return read_winogrande_jsonl(f); });
}

std::vector<LambadaRecord> load_lambada_openai(const fs::path& root) {
  const DatasetInfo& info = checked("lambada_openai", Format::Jsonl, root);
  return read_each<LambadaRecord>(info, root, [](const fs::path& f) { return read_lambada_jsonl(f); });
}

std::vector<OpenbookqaRecord> load_openbookqa(std::string_view name, const fs::path& root) {
  if (name != "openbookqa" && name != "openbookqa_dev")
    fail("load_openbookqa: expected \"openbookqa\" (test) or \"openbookqa_dev\", found \"{}\"", name);
  const DatasetInfo& info = checked(name, Format::OpenbookqaTsv, root);
  return read_each<OpenbookqaRecord>(info, root, [](const fs::path& f) { return read_openbookqa_tsv(f); });
}

std::vector<MmluRecord> load_mmlu(std::string_view split, const fs::path& root) {
  if (split != "test" && split != "dev" && split != "val")
    fail("load_mmlu: expected split \"test\", \"dev\" or \"val\", found \"{}\"", split);
  const DatasetInfo& info = checked("mmlu_" + std::string(split), Format::MmluCsv, root);
  return read_each<MmluRecord>(info, root, [&](const fs::path& f) { return read_mmlu_csv(f, split); });
}

std::vector<LongQaRecord> load_wikiqa_2k(const fs::path& root) {
  const DatasetInfo& info = checked("wikiqa_2k", Format::Jsonl, root);
  return read_each<LongQaRecord>(info, root, [](const fs::path& f) { return read_long_qa_jsonl(f); });
}

std::vector<KvRetrievalRecord> load_kv_pairs(std::string_view name, const fs::path& root) {
  if (!name.starts_with("kv_pairs_"))
    fail("load_kv_pairs: expected a dataset named kv_pairs_<position>_<length>, found \"{}\"", name);
  const DatasetInfo& info = checked(name, Format::Jsonl, root);
  return read_each<KvRetrievalRecord>(info, root, [](const fs::path& f) { return read_kv_retrieval_jsonl(f); });
}

std::vector<QualityArticle> load_quality_example(const fs::path& root) {
  const DatasetInfo& info = checked("quality_example", Format::Jsonl, root);
  return read_each<QualityArticle>(info, root, [](const fs::path& f) { return read_quality_jsonl(f); });
}

}  // namespace supra::datasets
