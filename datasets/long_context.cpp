#include "datasets/long_context.h"

#include <fmt/format.h>

#include "datasets/jsonl.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

std::vector<LongQaRecord> read_long_qa_jsonl(const fs::path& file) {
  std::vector<LongQaRecord> out;
  for (const JsonlRecord& rec : read_jsonl(file)) {
    JsonFields f(file, rec);
    f.expect_only({"context", "answer"});
    out.push_back({f.string("context"), f.string("answer")});
  }
  return out;
}

std::vector<KvRetrievalRecord> read_kv_retrieval_jsonl(const fs::path& file) {
  std::vector<KvRetrievalRecord> out;
  for (const JsonlRecord& rec : read_jsonl(file)) {
    JsonFields f(file, rec);
    f.expect_only({"context", "answer", "answer_location"});
    KvRetrievalRecord r{f.string("context"), f.string("answer"), int(f.integer_in("answer_location", 0, INT32_MAX))};
    // A gold value absent from the context would make every model score zero on that record.
    if (r.context.find(r.answer) == std::string::npos)
      f.fail_field("answer", "the answer does not occur in the context");
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<QualityArticle> read_quality_jsonl(const fs::path& file) {
  std::vector<QualityArticle> out;
  for (const JsonlRecord& rec : read_jsonl(file)) {
    JsonFields f(file, rec);
    QualityArticle a;
    a.article_id = f.integer("article_id");
    a.unique_id = f.string("unique_id");
    a.source = f.string("source");
    a.title = f.string("title");
    a.author = f.string("author");
    a.topic = f.string("topic");
    a.year = int(f.integer_in("year", 0, 9999));
    a.article_html = f.strings("article");
    // Questions are numbered from 1 without gaps; the first missing "questionN" ends the list.
    for (int n = 1; f.has(fmt::format("question{}", n)); ++n) {
      QualityQuestion q;
      q.question = f.string(fmt::format("question{}", n));
      for (int m = 1; m <= 4; ++m) q.options[m - 1] = f.string(fmt::format("question{}option{}", n, m));
      q.gold = int(f.integer_in(fmt::format("question{}_gold_label", n), 1, 4)) - 1;
      a.questions.push_back(std::move(q));
    }
    if (a.questions.empty()) f.fail_field("question1", "missing; expected at least one question");
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace supra::datasets
