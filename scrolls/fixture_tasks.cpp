// Tasks on the bundled long-document fixtures in SCROLLS layout (scrolls/fixtures.h): the SCROLLS task code
// (scrolls_tasks.h) on bundled files, so long-input evaluation runs without the official zips.
//   wikiqa           QA like narrative_qa: generate_until "\n" with a budget of 32 tokens (the answers are
//                    numbers and years), F1 and EM, doc_end truncation.
//   quality_example  the quality task's prompt and scoring on the one bundled QuALITY article (5 questions).
#include "scrolls/registry.h"
#include "scrolls/scrolls_tasks.h"

namespace supra::scrolls {

std::unique_ptr<tasks::Task> make_wikiqa() {
  return make_spec_task({"wikiqa", ScrollsKind::QA, 32, 0,
                         "WikiQA (wikiqa_2k in SCROLLS layout, bundled): short answers about a ~2k-token Wikipedia "
                         "page; F1 and EM (generation budget 32)"},
                        {"", "scrolls_fixture_wikiqa"});
}

std::unique_ptr<tasks::Task> make_quality_example() {
  ScrollsSpec spec = official_scrolls_spec("quality");
  spec.name = "quality_example";
  spec.about = "QuALITY example article (bundled, SCROLLS layout), 5 questions: " + spec.about;
  return make_spec_task(std::move(spec), {"", "scrolls_fixture_quality_example"});
}

}  // namespace supra::scrolls
