#pragma once
// Few-shot examples, as lm-eval v0.4 builds them:
//   context = description + shot_1 + "\n\n" + ... + shot_k + "\n\n" + doc_to_text(doc)
// where shot = doc_to_text(ex) + target_delimiter (" ") + doc_to_target(ex). With 0 shots the context is the
// description (often empty) followed by the document's text.
//
// Which examples: lm-eval's default sampler draws `random.Random(fewshot_seed).sample(fewshot_docs, k)` from the
// training split, taking k + 1 and dropping the evaluated document when the examples come from the evaluated split.
// We bundle no training splits, and lm-eval's generator is one stream shared by every document in evaluation order,
// so a document's shots there depend on which documents came before it (and on --limit). Ours are a pure function of
// (fewshot_seed, doc), so a resumed or sharded run builds the same prompts:
//   shots(doc) = first k of [i for i in Random((doc << 64) | fewshot_seed).sample(range(pool), n) if i != doc]
// with n = k + 1 when the pool is the evaluated split itself (the document is never its own example) and n = k
// otherwise; Random is CPython's random.Random (tasks/py_random.h), so the Python line above gives the same indices.
// MMLU uses lm-eval's first_n sampler instead: the first k dev examples of the subject, in file order.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace supra::tasks {

constexpr const char* kFewshotDelimiter = "\n\n";
constexpr const char* kTargetDelimiter = " ";

// Indices into a pool of `pool_size` candidate examples for document `doc`. `same_split`: the pool is the evaluated
// split, so index `doc` is excluded. Error naming `task` when the pool holds fewer than `shots` usable examples.
std::vector<int64_t> sample_fewshot(const std::string& task, int64_t pool_size, bool same_split, int64_t doc,
                                    int shots, uint64_t fewshot_seed);

// description + each shot followed by "\n\n" (empty shots: just the description).
std::string fewshot_prefix(const std::string& description, const std::vector<std::string>& shots);

}  // namespace supra::tasks
