#include "scrolls/scrolls_reader.h"

#include <fstream>
#include <sstream>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace supra::scrolls {
namespace {

const nlohmann::json& field(const nlohmann::json& row, const char* name, std::string_view source, size_t line) {
  auto it = row.find(name);
  if (it == row.end()) fail("{}:{}: missing field '{}' (SCROLLS rows have id, pid, input, output)", source, line, name);
  return *it;
}

std::string string_field(const nlohmann::json& row, const char* name, std::string_view source, size_t line) {
  const nlohmann::json& v = field(row, name, source, line);
  if (!v.is_string()) fail("{}:{}: field '{}' must be a string, got {}", source, line, name, v.type_name());
  return v.get<std::string>();
}

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace

std::vector<ScrollsExample> parse_scrolls_jsonl(std::string_view text, std::string_view source) {
  std::vector<ScrollsExample> examples;
  std::unordered_map<std::string, size_t> index_of_id;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (is_blank(line)) continue;

    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers too large for a double ("1e999")
      fail("{}:{}: not valid JSON: {}", source, line_no, e.what());
    }
    if (!row.is_object()) fail("{}:{}: expected a JSON object, got {}", source, line_no, row.type_name());

    std::string id = string_field(row, "id", source, line_no);
    std::string pid = string_field(row, "pid", source, line_no);
    std::string input = string_field(row, "input", source, line_no);
    const nlohmann::json& output = field(row, "output", source, line_no);
    if (!output.is_string() && !output.is_null()) {
      fail("{}:{}: field 'output' must be a string or null, got {}", source, line_no, output.type_name());
    }

    auto [it, inserted] = index_of_id.try_emplace(id, examples.size());
    if (inserted) {
      ScrollsExample ex;
      ex.id = std::move(id);
      ex.input = std::move(input);
      ex.first_line = line_no;
      examples.push_back(std::move(ex));
    } else if (examples[it->second].input != input) {
      fail("{}:{}: id '{}' has a different input than on line {}; rows sharing an id must repeat the same input",
           source, line_no, it->first, examples[it->second].first_line);
    }
    ScrollsExample& ex = examples[it->second];
    ex.pids.push_back(std::move(pid));
    if (output.is_string()) ex.references.push_back(output.get<std::string>());
  }
  return examples;
}

std::vector<ScrollsExample> read_scrolls_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open SCROLLS file", path.string());
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) fail("{}: read error", path.string());
  return parse_scrolls_jsonl(buf.str(), path.string());
}

QueryDocument split_query_document(std::string_view input, std::string_view source) {
  const size_t split = input.find("\n\n");
  if (split == std::string_view::npos) {
    fail("{}: expected the query, a blank line (\"\\n\\n\"), then the document; found no blank line", source);
  }
  return {input.substr(0, split), input.substr(split + 2)};
}

}  // namespace supra::scrolls
