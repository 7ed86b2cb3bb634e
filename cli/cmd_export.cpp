// supra-eval export --format lm-eval: the store's runs as lm-evaluation-harness result files
// (harness/lm_eval_export.h).
#include <cstdio>

#include "core/error.h"
#include "harness/lm_eval_export.h"
#include "cli/commands.h"
#include "cli/engine_options.h"

namespace supra {

void register_export(CLI::App& app) {
  struct Args {
    LmEvalExportOptions opts;
    std::string format = "lm-eval", runs, tasks;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("export", "write the store's runs as lm-evaluation-harness result files");
  cmd->add_option("--db", a->opts.db, "the results store")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->opts.out_dir, "output folder (lm-eval's --output_path)")->required();
  cmd->add_option("--format", a->format, "output format")->check(CLI::IsMember({"lm-eval"}));
  cmd->add_option("--runs", a->runs, "run ids to export, e.g. 1,4,7 (default: every finished run)");
  cmd->add_option("--tasks", a->tasks, "tasks to export, comma-separated (default: all)");
  cmd->add_option("--data", a->opts.data_root, "dataset root, to rebuild request texts (default: the bundled data)");
  cmd->callback([a] {
    if (!a->runs.empty()) a->opts.run_ids = parse_int_list(a->runs, "--runs");
    for (size_t at = 0; at < a->tasks.size();) {
      const size_t comma = std::min(a->tasks.find(',', at), a->tasks.size());
      if (comma > at) a->opts.tasks.push_back(a->tasks.substr(at, comma - at));
      at = comma + 1;
    }
    const LmEvalExportResult r = export_lm_eval(a->opts);
    for (const auto& n : r.notes) std::fprintf(stderr, "note: %s\n", n.c_str());
    for (const auto& f : r.files) std::printf("%s\n", f.c_str());
    std::fprintf(stderr, "exported %ld runs into %zu files under %s\n", long(r.runs), r.files.size(),
                 a->opts.out_dir.c_str());
  });
}

}  // namespace supra
