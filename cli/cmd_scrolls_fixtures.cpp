// supra-eval scrolls-fixtures: writes the bundled long-document fixtures in SCROLLS layout (scrolls/fixtures.h),
// converted from the bundled sources, as <out>/<name>/validation.jsonl. Run once to make
// datasets/data/scrolls_fixtures; a test checks that the committed files equal a fresh conversion.
#include <cstdio>

#include "cli/commands.h"
#include "scrolls/fixtures.h"
#include "core/sha256.h"

namespace supra {

void register_scrolls_fixtures(CLI::App& app) {
  struct Args {
    std::string out, data_root;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("scrolls-fixtures",
                                 "write the bundled long-document fixtures in SCROLLS layout (wikiqa, kv_retrieval, "
                                 "quality_example) as OUT/<name>/validation.jsonl");
  cmd->add_option("--out", args->out, "output folder (e.g. datasets/data/scrolls_fixtures)")->required();
  cmd->add_option("--data", args->data_root, "root of the bundled sources (default: the bundled datasets/data)");
  cmd->callback([args] {
    for (const auto& path : scrolls::write_fixtures(args->out, args->data_root))
      std::printf("%s\t%s\n", path.string().c_str(), sha256_file(path.string()).c_str());
  });
}

}  // namespace supra
