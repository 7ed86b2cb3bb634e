// The task catalog: the task table's rows of tasks/, scrolls/ and probes/ together, one name each; an unknown name
// lists them all, and a factory's own error reaches the user unchanged.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "core/error.h"
#include "harness/task_catalog.h"

using namespace supra;

TEST_CASE("the catalog holds each folder's rows once, in order, under distinct names") {
  const tasks::TaskTable& c = task_catalog();
  std::set<std::string> names;
  for (const tasks::TaskFactory& row : c) CHECK(names.insert(row.name).second);
  CHECK(c.front().name == "hellaswag");
  for (const char* n : {"mmlu_world_religions", "perplexity", "qasper", "wikiqa", "passkey", "kv_retrieval",
                        "ppl_by_position"})
    CHECK(names.count(n) == 1);
  for (const tasks::TaskFactory& row : c)
    if (row.path == tasks::TaskPath::Required) CHECK_FALSE(row.description.empty());
}

TEST_CASE("an unknown name lists every row; a factory's own error is not an unknown task") {
  try {
    make_any_task("no_such_task");
    FAIL("no error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK_THAT(msg, Catch::StartsWith("unknown task \"no_such_task\"; known tasks: hellaswag, piqa"));
    for (const char* n : {"mmlu_world_religions", "perplexity:<path>", "qasper[:<path>]", "quality_example", "passkey",
                          "ppl_by_position:<path>"})
      CHECK_THAT(msg, Catch::Contains(n));
  }
  for (const char* name : {"perplexity:/nonexistent/file.txt", "ppl_by_position:/nonexistent/file.txt"}) {
    try {
      make_any_task(name);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("/nonexistent/file.txt"));
      CHECK_THAT(e.what(), !Catch::Contains("unknown task"));
    }
  }
  CHECK(make_any_task("passkey")->name() == "passkey");
  CHECK(make_any_task("qasper:/any/file.jsonl")->name() == "qasper");  // the file is read at load()
}
