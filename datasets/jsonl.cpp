#include "datasets/jsonl.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "datasets/text_file.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<JsonlRecord> read_jsonl(const fs::path& file) {
  const std::string text = read_text_file(file);
  std::vector<JsonlRecord> records;
  for (const Line& line : split_lines(text, file, LineEnding::LfOrCrlf)) {
    if (line.text.find_first_not_of(" \t") == std::string_view::npos)
      fail("{}:{}: blank line; expected one JSON value per line", file.string(), line.number);
    try {
      records.push_back({line.number, json::parse(line.text)});
    } catch (const json::parse_error& e) {
      // e.byte is the 1-based position within this line, since each line is parsed on its own. The library's
      // "[json.exception.parse_error.101] " prefix says nothing to a reader of the message, so it goes.
      std::string_view what = e.what();
      if (auto p = what.find("] "); what.starts_with("[json.exception") && p != std::string_view::npos)
        what.remove_prefix(p + 2);
      fail("{}:{}:{}: malformed JSON: {}", file.string(), line.number, e.byte, what);
    } catch (const json::exception& e) {  // e.g. out_of_range 406: a number too large for a double ("1e999")
      fail("{}:{}: malformed JSON: {}", file.string(), line.number, e.what());
    }
  }
  return records;
}

std::string describe_json(const json& v) {
  switch (v.type()) {
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      return s.size() <= 40 ? fmt::format("string \"{}\"", s) : fmt::format("string \"{}...\"", s.substr(0, 40));
    }
    case json::value_t::array:
      return fmt::format("array of {}", v.size());
    case json::value_t::object:
      return "object";
    case json::value_t::null:
      return "null";
    default: {
      std::string d = v.dump();
      return fmt::format("{} {}", v.type_name(), d.size() <= 40 ? d : d.substr(0, 40) + "...");
    }
  }
}

JsonFields::JsonFields(const fs::path& file, const JsonlRecord& record)
    : file_(file), line_(record.line), object_(record.value) {
  if (!object_.is_object())
    fail("{}:{}: expected a JSON object, found {}", file.string(), line_, describe_json(object_));
}

void JsonFields::fail_field(std::string_view key, std::string_view what) const {
  fail("{}:{}: field \"{}\": {}", file_.string(), line_, key, what);
}

void JsonFields::expect_only(std::initializer_list<std::string_view> keys) const {
  for (const auto& [k, v] : object_.items()) {
    bool known = false;
    for (std::string_view key : keys) known = known || k == key;
    if (!known) fail_field(k, fmt::format("unexpected field; expected only {}", fmt::join(keys, ", ")));
  }
}

bool JsonFields::has(std::string_view key) const { return object_.contains(key); }

const json& JsonFields::value(std::string_view key) const {
  auto it = object_.find(key);
  if (it == object_.end()) fail_field(key, "missing");
  return *it;
}

std::string JsonFields::string(std::string_view key) const {
  const json& v = value(key);
  if (!v.is_string()) fail_field(key, fmt::format("expected a string, found {}", describe_json(v)));
  return v.get<std::string>();
}

std::int64_t JsonFields::integer(std::string_view key) const {
  const json& v = value(key);
  if (!v.is_number_integer()) fail_field(key, fmt::format("expected an integer, found {}", describe_json(v)));
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(INT64_MAX))
    fail_field(key, fmt::format("integer {} is out of range", v.dump()));
  return v.get<std::int64_t>();
}

std::int64_t JsonFields::integer_in(std::string_view key, std::int64_t lo, std::int64_t hi) const {
  const std::int64_t v = integer(key);
  if (v < lo || v > hi) fail_field(key, fmt::format("expected an integer in [{}, {}], found {}", lo, hi, v));
  return v;
}

std::vector<std::string> JsonFields::strings(std::string_view key) const {
  const json& v = value(key);
  if (!v.is_array()) fail_field(key, fmt::format("expected an array of strings, found {}", describe_json(v)));
  std::vector<std::string> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string())
      fail_field(key, fmt::format("element {}: expected a string, found {}", i, describe_json(v[i])));
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

}  // namespace supra::datasets
