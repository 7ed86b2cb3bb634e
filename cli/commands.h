#pragma once
// Each `supra-eval` subcommand registers itself on the app; its callback runs when chosen.
#include <CLI/CLI.hpp>

namespace supra {

void register_generate(CLI::App& app);
void register_logprobs(CLI::App& app);
void register_perplexity(CLI::App& app);
void register_bench(CLI::App& app);
void register_run(CLI::App& app);
void register_sweep(CLI::App& app);
void register_tasks(CLI::App& app);
void register_report(CLI::App& app);
void register_scrolls_fixtures(CLI::App& app);
void register_metric(CLI::App& app);
void register_convert(CLI::App& app);
void register_sample(CLI::App& app);
void register_uptrain(CLI::App& app);
void register_plan(CLI::App& app);
void register_work(CLI::App& app);
void register_merge(CLI::App& app);
void register_submit(CLI::App& app);
void register_status(CLI::App& app);
void register_serve(CLI::App& app);
void register_export(CLI::App& app);

}  // namespace supra
