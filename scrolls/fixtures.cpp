#include "scrolls/fixtures.h"

#include <fmt/format.h>

#include <cctype>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "datasets/load.h"
#include "datasets/registry.h"
#include "core/error.h"
#include "scrolls/scrolls_tasks.h"
#include "scrolls/unicode.h"
#include "tasks/text_util.h"

namespace supra::scrolls {

namespace fs = std::filesystem;

namespace {

ScrollsRow make_row(std::string id, std::string input, std::string output) {
  ScrollsRow r;
  r.pid = id + "_0";
  r.id = std::move(id);
  r.input = std::move(input);
  r.output = std::move(output);
  return r;
}

// The query must not hold a blank line: readers split the input at the first one.
void check_query(const std::string& query, const std::string& where) {
  if (query.empty()) fail("{}: the question is empty", where);
  if (query.find("\n\n") != std::string::npos) fail("{}: the question contains a blank line", where);
}

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// &name; or &#N; / &#xH; at html[i] (which is '&'): the decoded text and the length consumed; an unknown or
// unterminated entity is kept literally.
std::pair<std::string, size_t> decode_entity(std::string_view html, size_t i) {
  const size_t semi = html.find(';', i);
  if (semi == std::string_view::npos || semi - i > 10) return {"&", 1};
  const std::string_view name = html.substr(i + 1, semi - i - 1);
  static const std::vector<std::pair<std::string_view, char32_t>> named = {
      {"amp", U'&'}, {"lt", U'<'}, {"gt", U'>'}, {"quot", U'"'}, {"apos", U'\''}, {"#39", U'\''}, {"nbsp", 0xA0}};
  char32_t cp = 0;
  for (const auto& [n, c] : named)
    if (name == n) cp = c;
  if (cp == 0 && name.size() > 1 && name[0] == '#') {
    const bool hex = name[1] == 'x' || name[1] == 'X';
    const std::string digits(name.substr(hex ? 2 : 1));
    if (!digits.empty() && digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") == std::string::npos &&
        digits.size() <= 6)
      cp = char32_t(std::stoul(digits, nullptr, hex ? 16 : 10));
  }
  if (cp == 0 || cp > 0x10FFFF) return {"&", 1};
  std::string out;
  unicode::append_utf8(out, cp);
  return {out, semi - i + 1};
}

}  // namespace

std::string html_to_text(const std::vector<std::string>& html_lines) {
  std::string html;
  for (const std::string& l : html_lines) html += l;
  static const std::set<std::string> blocks = {"p",    "h1",   "h2",         "h3",  "h4", "h5", "h6",
                                               "div",  "hr",   "blockquote", "html", "body", "ul", "ol",
                                               "li",   "table", "tr",        "pre"};
  static const std::set<std::string> hidden = {"head", "title", "style", "script"};
  std::vector<std::string> paragraphs;
  std::string cur;
  bool pending_space = false;
  bool after_inline_close = false;  // prettified HTML puts "</i>" and the following "." on separate lines
  std::string skipping;             // inside a hidden element: its name
  auto flush = [&] {
    while (!cur.empty() && (cur.back() == ' ' || cur.back() == '\n')) cur.pop_back();
    if (!cur.empty()) paragraphs.push_back(std::move(cur));
    cur.clear();
    pending_space = after_inline_close = false;
  };
  size_t i = 0;
  while (i < html.size()) {
    const char c = html[i];
    if (c == '<') {
      if (html.compare(i, 4, "<!--") == 0) {
        const size_t end = html.find("-->", i + 4);
        i = end == std::string::npos ? html.size() : end + 3;
        continue;
      }
      const size_t end = html.find('>', i);
      if (end == std::string::npos) fail("html_to_text: a '<' at byte {} opens a tag that never closes", i);
      const std::string_view tag = std::string_view(html).substr(i + 1, end - i - 1);
      i = end + 1;
      if (tag.empty() || tag[0] == '!' || tag[0] == '?') continue;  // <!DOCTYPE ...>, <?xml ...?>
      const bool closing = tag[0] == '/';
      size_t n = closing ? 1 : 0;
      while (n < tag.size() && std::isalnum(static_cast<unsigned char>(tag[n]))) ++n;
      const std::string name = lower_ascii(tag.substr(closing ? 1 : 0, n - (closing ? 1 : 0)));
      const bool self_closing = !tag.empty() && tag.back() == '/';
      if (!skipping.empty()) {
        if (closing && name == skipping) skipping.clear();
        continue;
      }
      if (hidden.count(name) && !closing && !self_closing) {
        skipping = name;
      } else if (name == "br") {
        if (!cur.empty() && cur.back() != '\n') cur.push_back('\n');
        pending_space = false;
      } else if (blocks.count(name)) {
        flush();
      } else if (closing) {
        after_inline_close = true;
      }
      continue;
    }
    if (!skipping.empty()) {
      ++i;
      continue;
    }
    if (is_ascii_space(c)) {
      pending_space = true;
      ++i;
      continue;
    }
    std::string piece;
    if (c == '&') {
      auto [text, used] = decode_entity(html, i);
      piece = std::move(text);
      i += used;
    } else {
      piece.assign(1, c);
      ++i;
    }
    const bool punct = piece.size() == 1 && std::string_view(".,;:!?)").find(piece[0]) != std::string_view::npos;
    if (pending_space && !cur.empty() && cur.back() != '\n' && !(after_inline_close && punct)) cur.push_back(' ');
    pending_space = after_inline_close = false;
    cur += piece;
  }
  flush();
  std::string out;
  for (size_t k = 0; k < paragraphs.size(); ++k) {
    if (k) out += "\n\n";
    out += paragraphs[k];
  }
  return out;
}

std::vector<ScrollsRow> wikiqa_rows(const std::vector<datasets::LongQaRecord>& records) {
  std::vector<ScrollsRow> rows;
  // input -> index of its first row: a repeated input is one example (more references, or a plain duplicate).
  std::map<std::string, size_t> first_row;
  for (size_t k = 0; k < records.size(); ++k) {
    const std::string where = fmt::format("wikiqa_2k line {}", k + 1);
    const std::string& c = records[k].context;
    const size_t doc_marker = c.find("Document:\n");
    const size_t q_marker = c.rfind("\nQuestion: ");
    const size_t a_marker = c.rfind("\nAnswer:");
    if (doc_marker == std::string::npos || q_marker == std::string::npos || a_marker == std::string::npos ||
        a_marker < doc_marker)
      fail("{}: field 'context': expected \"...Document:\\n<document>...\\nAnswer:\"", where);
    std::string question, document;
    if (q_marker > doc_marker) {
      // "<instruction>\n\nDocument:\n<document>\nQuestion: <question>? \nAnswer: "
      document = c.substr(doc_marker + 10, q_marker - doc_marker - 10);
      question = tasks::py_strip(std::string_view(c).substr(q_marker + 11, a_marker - q_marker - 11));
    } else {
      // "<instruction>\nQuestion: <question>\n\nDocument:\n<document>? \nAnswer: ": the template's "? " after
      // the document belongs to the question.
      const size_t q_end = c.find("\n\nDocument:\n", q_marker);
      document = c.substr(doc_marker + 10, a_marker - doc_marker - 10);
      if (q_end != doc_marker - 2 || !document.ends_with("? "))
        fail("{}: field 'context': expected \"\\nQuestion: <q>\\n\\nDocument:\\n<document>? \\nAnswer:\"", where);
      document.resize(document.size() - 2);
      question = tasks::py_strip(std::string_view(c).substr(q_marker + 11, q_end - q_marker - 11)) + "?";
    }
    check_query(question, where);
    if (tasks::py_strip(document).empty()) fail("{}: the document is empty", where);
    std::string input = question + "\n\n" + document;
    auto [it, inserted] = first_row.try_emplace(input, rows.size());
    if (inserted) {
      rows.push_back(make_row(fmt::format("wikiqa_{}", k + 1), std::move(input), records[k].answer));
      continue;
    }
    // The source holds every item twice (question before and after the document), and some items more often.
    size_t refs = 0;
    bool known = false;
    for (const ScrollsRow& r : rows)
      if (r.id == rows[it->second].id) {
        ++refs;
        known = known || r.output == records[k].answer;
      }
    if (known) continue;
    ScrollsRow extra = rows[it->second];
    extra.pid = fmt::format("{}_{}", extra.id, refs);
    extra.output = records[k].answer;
    rows.push_back(std::move(extra));
  }
  return rows;
}

std::vector<ScrollsRow> kv_retrieval_rows(const std::vector<datasets::KvRetrievalRecord>& records, size_t limit) {
  if (records.size() < limit) fail("kv_retrieval fixture: {} records asked, the source has {}", limit, records.size());
  std::vector<ScrollsRow> rows;
  for (size_t k = 0; k < limit; ++k) {
    const std::string where = fmt::format("kv_pairs line {}", k + 1);
    const std::string& c = records[k].context;
    const size_t data = c.find("JSON data:\n");
    const size_t open = data == std::string::npos ? std::string::npos : c.find('{', data);
    const size_t key_marker = c.rfind("\n\nKey: \"");
    if (open == std::string::npos || key_marker == std::string::npos || key_marker <= open || c[key_marker - 1] != '}')
      fail("{}: field 'context': expected \"...JSON data:\\n{{...}}\\n\\nKey: \\\"<key>\\\"...\"", where);
    const size_t key_start = key_marker + 8;
    const size_t key_end = c.find('"', key_start);
    if (key_end == std::string::npos) fail("{}: field 'context': the key's closing quote is missing", where);
    const std::string object = c.substr(open, key_marker - open);
    const std::string key = c.substr(key_start, key_end - key_start);
    // The probe reads the answer back out of this object: check it is there, at the recorded position.
    nlohmann::ordered_json parsed;
    try {
      parsed = nlohmann::ordered_json::parse(object);
    } catch (const nlohmann::json::exception& e) {
      fail("{}: field 'context': the JSON object does not parse: {}", where, e.what());
    }
    int position = -1, index = 0;
    for (auto it = parsed.begin(); it != parsed.end(); ++it, ++index)
      if (it.key() == key) {
        if (!it->is_string() || it->get<std::string>() != records[k].answer)
          fail("{}: the value of key {} in the object is not the answer {}", where, key, records[k].answer);
        position = index;
      }
    if (position != records[k].answer_location)
      fail("{}: key {} sits at index {} of the object, answer_location says {}", where, key, position,
           records[k].answer_location);
    rows.push_back(
        make_row(fmt::format("kv_{}", k + 1), "Key: \"" + key + "\"\n\n" + object, records[k].answer));
  }
  return rows;
}

std::vector<ScrollsRow> quality_rows(const std::vector<datasets::QualityArticle>& articles) {
  std::vector<ScrollsRow> rows;
  std::vector<const datasets::QualityArticle*> seen;
  for (const datasets::QualityArticle& a : articles) {
    bool duplicate = false;
    for (const datasets::QualityArticle* s : seen)
      if (s->article_id == a.article_id) {
        // The bundled file repeats its one line; a different article under the same id would be another story.
        if (s->article_html != a.article_html || s->unique_id != a.unique_id || s->questions.size() != a.questions.size())
          fail("quality_example: article {} appears twice with different content", a.article_id);
        duplicate = true;
      }
    if (duplicate) continue;
    seen.push_back(&a);
    const std::string text = html_to_text(a.article_html);
    for (size_t q = 0; q < a.questions.size(); ++q) {
      const datasets::QualityQuestion& qq = a.questions[q];
      const std::string where = fmt::format("quality_example article {} question{}", a.article_id, q + 1);
      const std::string question = collapse_whitespace(qq.question);
      check_query(question, where);
      std::string input = question + "\n\n";
      std::vector<std::string> options;
      for (size_t o = 0; o < 4; ++o) {
        options.push_back(collapse_whitespace(qq.options[o]));
        if (options.back().empty()) fail("{}: option {} is empty", where, o + 1);
        input += fmt::format("{}({}) {}", o ? "\n" : "", char('A' + o), options.back());
      }
      if (qq.gold < 0 || qq.gold > 3) fail("{}: gold label {} is outside 1..4", where, qq.gold + 1);
      input += "\n\n" + text;
      rows.push_back(make_row(fmt::format("{}_q{}", a.article_id, q + 1), std::move(input), options[size_t(qq.gold)]));
    }
  }
  return rows;
}

std::string scrolls_jsonl(const std::vector<ScrollsRow>& rows) {
  std::string out;
  for (const ScrollsRow& r : rows) {
    nlohmann::ordered_json j;
    j["id"] = r.id;
    j["pid"] = r.pid;
    j["input"] = r.input;
    j["output"] = r.output;
    out += j.dump();
    out += '\n';
  }
  return out;
}

std::vector<FixtureFile> build_fixtures(const fs::path& data_root) {
  std::vector<FixtureFile> out;
  auto add = [&](const char* name, const std::vector<ScrollsRow>& rows) {
    out.push_back({name, scrolls_jsonl(rows), rows.size()});
  };
  add("wikiqa", wikiqa_rows(datasets::load_wikiqa_2k(data_root)));
  add("kv_retrieval", kv_retrieval_rows(datasets::load_kv_pairs("kv_pairs_middle_4096", data_root), 50));
  add("quality_example", quality_rows(datasets::load_quality_example(data_root)));
  return out;
}

std::vector<fs::path> write_fixtures(const fs::path& out, const fs::path& data_root) {
  std::vector<fs::path> written;
  for (const FixtureFile& f : build_fixtures(data_root)) {
    const fs::path dir = out / f.name;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("{}: cannot create the folder: {}", dir.string(), ec.message());
    const fs::path file = dir / "validation.jsonl";
    std::ofstream o(file, std::ios::binary | std::ios::trunc);
    o << f.text;
    o.close();
    if (!o) fail("{}: write failed", file.string());
    written.push_back(file);
  }
  return written;
}

std::vector<ScrollsExample> load_bundled_scrolls(std::string_view dataset, const fs::path& data_root) {
  const datasets::DatasetInfo& info = datasets::find_dataset(dataset);
  if (info.format != datasets::Format::Jsonl || info.files.size() != 1)
    fail("dataset {} is not one SCROLLS-layout JSONL file", dataset);
  datasets::verify(info, data_root);
  std::vector<ScrollsExample> examples = read_scrolls_jsonl(datasets::dataset_files(info, data_root).front());
  if (examples.size() != info.records)
    fail("dataset {}: read {} examples, the registry says {}", dataset, examples.size(), info.records);
  return examples;
}

}  // namespace supra::scrolls
