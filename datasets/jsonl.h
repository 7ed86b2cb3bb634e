#pragma once
// Generic JSON Lines reader (one JSON value per line) and typed access to the fields of one record. The typed
// per-dataset readers (llmfoundry.h, long_context.h, piqa.h) and the SCROLLS readers build on these, so every
// malformed record is reported as "<file>:<line>: field "<name>": expected ..., found ...".
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace supra::datasets {

struct JsonlRecord {
  std::size_t line;  // 1-based line in the file
  nlohmann::json value;
};

// Reads every line as one JSON value. A malformed line is an error naming file, line and the parser's column; a
// blank line is an error too (JSON Lines has one value per line, and a blank line usually means a broken file).
// "\r\n" line endings are accepted.
std::vector<JsonlRecord> read_jsonl(const std::filesystem::path& file);

// Typed, checked access to one JSONL record that must be a JSON object. Holds references: keep the path and the
// record alive while using it.
class JsonFields {
 public:
  JsonFields(const std::filesystem::path& file, const JsonlRecord& record);

  // Error naming the first key that is not in `keys`: a converted file with an unexpected field is a different
  // format than the reader was written for.
  void expect_only(std::initializer_list<std::string_view> keys) const;
  bool has(std::string_view key) const;

  std::string string(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;  // a JSON integer; 1.0, "1" and true are errors
  // An integer in [lo, hi]; out of range is an error naming the range.
  std::int64_t integer_in(std::string_view key, std::int64_t lo, std::int64_t hi) const;
  std::vector<std::string> strings(std::string_view key) const;  // an array of strings
  const nlohmann::json& value(std::string_view key) const;       // present, any type

  // "<file>:<line>: field "<key>": <what>"
  [[noreturn]] void fail_field(std::string_view key, std::string_view what) const;

  std::size_t line() const { return line_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  const std::filesystem::path& file_;
  std::size_t line_;
  const nlohmann::json& object_;
};

// "string \"abc\"", "integer 3", "array of 2" ...: what was found, for error messages (long values are cut).
std::string describe_json(const nlohmann::json& v);

}  // namespace supra::datasets
