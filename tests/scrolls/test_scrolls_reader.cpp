// The SCROLLS JSONL reader: grouping of rows by id and refusal of malformed rows, naming file and line.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "core/error.h"
#include "scrolls/scrolls_reader.h"

using namespace supra::scrolls;
namespace fs = std::filesystem;

namespace {

// A file under the system temp dir, removed at scope exit.
struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& text) {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("supra_scrolls_reader_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".jsonl");
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

std::string row(const std::string& id, const std::string& pid, const std::string& input, const std::string& output) {
  return R"({"id":")" + id + R"(","pid":")" + pid + R"(","input":")" + input + R"(","output":)" + output + "}\n";
}

}  // namespace

TEST_CASE("rows sharing an id become one example with references in file order") {
  const TempFile f(row("a", "a_0", "Q1\\n\\nDoc one", "\"ans1\"") +  //
                   row("b", "b_0", "Q2\\n\\nDoc two", "\"x\"") +     //
                   "\n" +                                              // a blank line is skipped
                   row("a", "a_1", "Q1\\n\\nDoc one", "\"ans2\""));
  const auto ex = read_scrolls_jsonl(f.path);
  REQUIRE(ex.size() == 2);
  CHECK(ex[0].id == "a");
  CHECK(ex[0].input == "Q1\n\nDoc one");
  CHECK(ex[0].pids == std::vector<std::string>{"a_0", "a_1"});
  CHECK(ex[0].references == std::vector<std::string>{"ans1", "ans2"});
  CHECK(ex[0].first_line == 1);
  CHECK(ex[1].id == "b");
  CHECK(ex[1].references == std::vector<std::string>{"x"});
  CHECK(ex[1].first_line == 2);
}

TEST_CASE("null outputs add no reference, empty strings are references") {
  const auto ex = parse_scrolls_jsonl(row("t1", "t1_0", "q\\n\\nd", "null") +  //
                                          row("t2", "t2_0", "q\\n\\nd", "\"\"") +  //
                                          R"({"id":"t3","pid":"t3_0","input":"x","output":"y","extra":1})" "\r\n",
                                      "test.jsonl");
  REQUIRE(ex.size() == 3);
  CHECK(ex[0].references.empty());
  CHECK(ex[1].references == std::vector<std::string>{""});
  CHECK(ex[2].references == std::vector<std::string>{"y"});  // extra fields ignored, CRLF accepted
}

TEST_CASE("malformed rows are errors naming the file and the line") {
  const std::string good = row("a", "a_0", "q\\n\\nd", "\"o\"");
  // Line 3 (after a blank line 2) is not JSON.
  const TempFile bad_json(good + "\n" + "{\"id\": \"b\", \"pid\": \n");
  CHECK_THROWS_WITH(read_scrolls_jsonl(bad_json.path),
                    Catch::Contains(bad_json.path.string() + ":3:") && Catch::Contains("not valid JSON"));

  CHECK_THROWS_WITH(parse_scrolls_jsonl(good + R"({"id":"b","pid":"b_0","input":"q"})" "\n", "f.jsonl"),
                    Catch::Contains("f.jsonl:2:") && Catch::Contains("missing field 'output'"));
  CHECK_THROWS_WITH(parse_scrolls_jsonl(R"({"pid":"b_0","input":"q","output":"o"})", "f.jsonl"),
                    Catch::Contains("f.jsonl:1:") && Catch::Contains("missing field 'id'"));
  CHECK_THROWS_WITH(parse_scrolls_jsonl(R"({"id":7,"pid":"b_0","input":"q","output":"o"})", "f.jsonl"),
                    Catch::Contains("f.jsonl:1:") && Catch::Contains("'id' must be a string"));
  CHECK_THROWS_WITH(parse_scrolls_jsonl(R"({"id":"b","pid":"b_0","input":["q"],"output":"o"})", "f.jsonl"),
                    Catch::Contains("'input' must be a string"));
  CHECK_THROWS_WITH(parse_scrolls_jsonl(R"({"id":"b","pid":"b_0","input":"q","output":3})", "f.jsonl"),
                    Catch::Contains("f.jsonl:1:") && Catch::Contains("'output' must be a string or null"));
  CHECK_THROWS_WITH(parse_scrolls_jsonl("[1, 2]\n", "f.jsonl"),
                    Catch::Contains("f.jsonl:1:") && Catch::Contains("expected a JSON object"));
  // Same id, different input: the file is not what it claims to be.
  CHECK_THROWS_WITH(parse_scrolls_jsonl(good + row("a", "a_1", "other", "\"o\""), "f.jsonl"),
                    Catch::Contains("f.jsonl:2:") && Catch::Contains("line 1"));
  CHECK_THROWS_WITH(read_scrolls_jsonl("/nonexistent/dir/x.jsonl"), Catch::Contains("/nonexistent/dir/x.jsonl"));
}

TEST_CASE("split_query_document splits at the first blank line") {
  const auto qd = split_query_document("What is X?\n\nChapter 1\n\nIt was X.");
  CHECK(qd.query == "What is X?");
  CHECK(qd.document == "Chapter 1\n\nIt was X.");
  const auto empty_query = split_query_document("\n\ndoc");
  CHECK(empty_query.query.empty());
  CHECK(empty_query.document == "doc");
  CHECK_THROWS_WITH(split_query_document("no blank line\nhere", "qasper id 7"),
                    Catch::Contains("qasper id 7") && Catch::Contains("no blank line"));
}
