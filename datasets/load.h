#pragma once
// Loading a bundled dataset by its registry name: verify every file's sha256, read it with its format's reader and
// check the record count against the registry. This is what task runners call; the readers themselves
// (hellaswag.h, piqa.h, ...) take plain paths and know nothing of the registry.
//
// `data_root` follows registry.h: when empty, SUPRA_DATA_DIR if set, else the bundled <repo>/datasets/data.
#include <filesystem>
#include <string_view>
#include <vector>

#include "datasets/hellaswag.h"
#include "datasets/llmfoundry.h"
#include "datasets/long_context.h"
#include "datasets/mmlu.h"
#include "datasets/openbookqa.h"
#include "datasets/piqa.h"

namespace supra::datasets {

std::vector<HellaswagRecord> load_hellaswag(const std::filesystem::path& data_root = {});
std::vector<PiqaRecord> load_piqa(const std::filesystem::path& data_root = {});

// "arc_easy", "arc_challenge", "boolq", "copa", "piqa_llmfoundry", "openbookqa_llmfoundry". The number of choices is
// checked per dataset (ARC 4, BoolQ 2, COPA 2, PIQA 2, OpenBookQA 4); another name is an error listing these.
std::vector<ChoiceRecord> load_choices(std::string_view name, const std::filesystem::path& data_root = {});

std::vector<WinograndeRecord> load_winogrande(const std::filesystem::path& data_root = {});
std::vector<LambadaRecord> load_lambada_openai(const std::filesystem::path& data_root = {});

// "openbookqa" (test) or "openbookqa_dev" (validation), the official TSVs.
std::vector<OpenbookqaRecord> load_openbookqa(std::string_view name, const std::filesystem::path& data_root = {});

// split: "test", "dev" or "val" (dataset mmlu_<split>). Records come subject by subject, subjects in alphabetical
// order, rows in file order; the dev split's 5 rows per subject are the 5-shot exemplars (first_n).
std::vector<MmluRecord> load_mmlu(std::string_view split, const std::filesystem::path& data_root = {});

std::vector<LongQaRecord> load_wikiqa_2k(const std::filesystem::path& data_root = {});
// "kv_pairs_<beginning|middle|end>_<2048|4096>" or "kv_pairs_middle_8192".
std::vector<KvRetrievalRecord> load_kv_pairs(std::string_view name, const std::filesystem::path& data_root = {});
std::vector<QualityArticle> load_quality_example(const std::filesystem::path& data_root = {});

}  // namespace supra::datasets
