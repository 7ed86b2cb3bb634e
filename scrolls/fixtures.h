#pragma once
// Bundled long-document fixtures in SCROLLS layout (rows {"id", "pid", "input", "output"}), converted from data the
// repository already bundles, so the SCROLLS tasks' code runs end to end without the official zips. The conversion
// is pure (records in, rows out) and deterministic; `supra-eval scrolls-fixtures --out DIR` writes the files, and a
// test regenerates them in memory and compares them byte for byte with the committed copies
// (datasets/data/scrolls_fixtures/<name>/validation.jsonl, registered as scrolls_fixture_<name>).
//
//   wikiqa          (wikiqa_2k, 428 lines -> 179 examples) input = question + "\n\n" + document, output = answer,
//                   id "wikiqa_<line of the first occurrence>". The source has two layouts, and every item in both:
//                     "<instruction>\n\nDocument:\n<document>\nQuestion: <question>? \nAnswer: "
//                     "<instruction>\nQuestion: <question>\n\nDocument:\n<document>? \nAnswer: "
//                   (in the second the template's "? " lands after the document; it goes back to the question). The
//                   instruction is dropped (the SCROLLS prompt replaces it). Identical converted rows are kept once
//                   (the 428 lines hold 179 distinct question/document/answer triples); a repeated input with another
//                   answer would become one more reference of the same id (none does).
//   kv_retrieval    (kv_pairs_middle_4096, first 50 records) input = `Key: "<key>"` + "\n\n" + the JSON object text
//                   exactly as in the source (from the "{" after "JSON data:\n" to the "}" before the final
//                   "\n\nKey: "), output = the value, id "kv_<line>". The conversion checks that the object parses,
//                   that the key's value is the answer and sits at answer_location. (The kv_retrieval probe parses
//                   the JSON object of this layout: keep it.)
//   quality_example (quality_example, its one article; the file's duplicate line is skipped) one row per question,
//                   as SCROLLS QuALITY: input = question + "\n\n(A) ..\n(B) ..\n(C) ..\n(D) ..\n\n" + article text,
//                   output = the gold option, id "<article_id>_q<N>". Question and options are whitespace-normalised
//                   (" ".join(s.split())): the source's options end with stray spaces and one with a "\n".
// Every row's pid is "<id>_0" (one reference per example).
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/long_context.h"
#include "scrolls/scrolls_reader.h"

namespace supra::scrolls {

struct ScrollsRow {
  std::string id, pid, input, output;
};

std::vector<ScrollsRow> wikiqa_rows(const std::vector<datasets::LongQaRecord>& records);
std::vector<ScrollsRow> kv_retrieval_rows(const std::vector<datasets::KvRetrievalRecord>& records, size_t limit);
std::vector<ScrollsRow> quality_rows(const std::vector<datasets::QualityArticle>& articles);

// The article's HTML lines as plain text: tags removed; paragraphs (p, h1-h6, div, blockquote, hr, html, body
// boundaries) separated by one blank line; the lines inside a paragraph kept as the source wraps them, each stripped
// of surrounding spaces, empty ones dropped; <br/> is a line break; <!DOCTYPE>, comments and the contents of head,
// title, style and script are dropped; the entities &amp; &lt; &gt; &quot; &#39; &apos; &nbsp; and numeric ones are
// decoded.
std::string html_to_text(const std::vector<std::string>& html_lines);

// One JSON object per row, keys in SCROLLS's order (id, pid, input, output), UTF-8 kept as is, "\n" after each.
std::string scrolls_jsonl(const std::vector<ScrollsRow>& rows);

struct FixtureFile {
  std::string name;     // "wikiqa", "kv_retrieval", "quality_example": folder and registry suffix
  std::string text;     // the JSONL
  size_t rows = 0;
};
constexpr const char* kFixturesFolder = "scrolls_fixtures";
// The three fixtures from the bundled sources under `data_root` (registry.h rules; "" = the default root).
std::vector<FixtureFile> build_fixtures(const std::filesystem::path& data_root = {});
// <out>/<name>/validation.jsonl for each; returns the paths written.
std::vector<std::filesystem::path> write_fixtures(const std::filesystem::path& out,
                                                  const std::filesystem::path& data_root = {});

// A bundled SCROLLS-layout file (registry name, e.g. "scrolls_fixture_kv_retrieval"): verified against the
// registry's sha256, read, and its example count checked against the registry.
std::vector<ScrollsExample> load_bundled_scrolls(std::string_view dataset, const std::filesystem::path& data_root = {});

}  // namespace supra::scrolls
