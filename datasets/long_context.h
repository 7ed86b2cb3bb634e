#pragma once
// Typed records of the bundled long-input JSONL files: WikiQA (wikiqa_2k), the "lost in the middle" key-value
// retrieval files (kv_pairs_*) and the raw QuALITY example. Texts are returned as stored; prompts, truncation and
// scoring are scrolls/ logic.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace supra::datasets {

// wikiqa_2k.jsonl: {"context": instruction + document + "Question: ...? \nAnswer: ", "answer": short answer}.
struct LongQaRecord {
  std::string context;
  std::string answer;
};
std::vector<LongQaRecord> read_long_qa_jsonl(const std::filesystem::path& file);

// kv_pairs_<pos>_len_<L>.jsonl: {"context": JSON object of uuid pairs + key prompt, "answer": uuid,
// "answer_location": index of the gold pair}.
struct KvRetrievalRecord {
  std::string context;
  std::string answer;
  int answer_location;  // 0-based index of the gold pair among the pairs in the context
};
std::vector<KvRetrievalRecord> read_kv_retrieval_jsonl(const std::filesystem::path& file);

// quality_example.jsonl: the pre-release flat QuALITY layout (article_id, title, article as a list of HTML lines,
// question1..questionN with questionNoption1..4 and questionN_gold_label). Annotator fields are not read.
struct QualityQuestion {
  std::string question;
  std::array<std::string, 4> options;  // questionNoption1..4, as stored (some end with a space)
  int gold;                            // 0-based; the file's questionN_gold_label is 1-based
};
struct QualityArticle {
  std::int64_t article_id;
  std::string unique_id;
  std::string source;
  std::string title;
  std::string author;
  std::string topic;
  int year;
  std::vector<std::string> article_html;   // the "article" list: lines of the Gutenberg HTML, each with its '\n'
  std::vector<QualityQuestion> questions;  // question1, question2, ... in order
};
// One article per line. The bundled file holds the same line twice (see its PROVENANCE.md); both are returned.
std::vector<QualityArticle> read_quality_jsonl(const std::filesystem::path& file);

}  // namespace supra::datasets
