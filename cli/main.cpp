// supra-eval: one binary, one subcommand per job (ARCHITECTURE.md, "The command line").
#include <cstdio>

#include <CLI/CLI.hpp>

#include "core/error.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"supra-eval: softmax vs SUPRA linear attention, evaluated"};
  app.require_subcommand(1);
  supra::register_generate(app);
  supra::register_logprobs(app);
  supra::register_perplexity(app);
  supra::register_bench(app);
  supra::register_run(app);
  supra::register_sweep(app);
  supra::register_tasks(app);
  supra::register_report(app);
  supra::register_scrolls_fixtures(app);
  supra::register_metric(app);
  supra::register_convert(app);
  supra::register_sample(app);
  supra::register_uptrain(app);
  supra::register_plan(app);
  supra::register_work(app);
  supra::register_merge(app);
  supra::register_submit(app);
  supra::register_status(app);
  supra::register_serve(app);
  supra::register_export(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const supra::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
