#include "datasets/piqa.h"

#include "datasets/jsonl.h"
#include "datasets/text_file.h"
#include "core/error.h"

namespace supra::datasets {

namespace fs = std::filesystem;

std::vector<PiqaRecord> read_piqa_official(const fs::path& jsonl, const fs::path& labels) {
  std::vector<PiqaRecord> out;
  for (const JsonlRecord& rec : read_jsonl(jsonl)) {
    JsonFields f(jsonl, rec);
    f.expect_only({"goal", "sol1", "sol2"});
    out.push_back({f.string("goal"), f.string("sol1"), f.string("sol2"), -1});
  }
  const std::string text = read_text_file(labels);
  const std::vector<Line> lines = split_lines(text, labels, LineEnding::LfOnly);
  // Pairing is by position only, so a count mismatch means the two files are not from the same split.
  if (lines.size() != out.size())
    fail("{} has {} labels but {} has {} records; expected one label per record", labels.string(), lines.size(),
         jsonl.string(), out.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].text != "0" && lines[i].text != "1")
      fail("{}:{}: expected a label \"0\" or \"1\", found \"{}\"", labels.string(), lines[i].number,
           lines[i].text.substr(0, 40));
    out[i].label = lines[i].text[0] - '0';
  }
  return out;
}

}  // namespace supra::datasets
