#pragma once
// Reader for the official SCROLLS JSONL files (one JSON object per line with string fields id, pid, input and
// output; extra fields, such as ZeroSCROLLS's, are ignored).
//
// One row per reference: rows that share an `id` are one example whose references are their `output`s in file
// order (lm-eval / SCROLLS _drop_duplicates_in_input groups by id across the whole file, keeping the first row's
// input; so do we). The example order is the order of each id's first row.
// `output` may be null (test splits hide answers): a null output adds no reference, so a test example may have
// none. An empty-string output is kept as a reference, as the official code keeps it.
//
// Layout checks, each an error that names the file and the 1-based line: a line that is not JSON or not an
// object; a missing id/pid/input/output; id, pid or input not a string; output neither string nor null; two rows of
// one id whose inputs differ (the official code would silently score against the first input; we refuse, since it
// means the file is not what we think it is). Blank lines are skipped.
//
// The reader holds the file's text; it does not tokenize.
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace supra::scrolls {

struct ScrollsExample {
  std::string id;
  std::string input;
  std::vector<std::string> pids;        // one per row, file order
  std::vector<std::string> references;  // non-null outputs, file order
  size_t first_line = 0;                // 1-based line of the example's first row
};

std::vector<ScrollsExample> read_scrolls_jsonl(const std::filesystem::path& path);

// The same, from text already in memory; `source` names it in errors.
std::vector<ScrollsExample> parse_scrolls_jsonl(std::string_view text, std::string_view source);

// QA-style inputs are the query, a blank line, then the document: split at the FIRST "\n\n" (the query never holds
// one; the document often does). lm-eval's _process_doc_prepended_question does the same but, when there is no
// "\n\n", silently slices garbage (find() returns -1); we fail instead, naming `source` (e.g. "qasper id 123").
struct QueryDocument {
  std::string_view query;
  std::string_view document;
};
QueryDocument split_query_document(std::string_view input, std::string_view source = "input");

}  // namespace supra::scrolls
