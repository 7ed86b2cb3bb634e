#pragma once
// `sweep --workers N`: the units of a plan run by N local `supra-eval work --next` processes (each with its own
// --threads, or one GPU each via CUDA_VISIBLE_DEVICES), the same units and shards a Slurm array would run.
#include <string>
#include <vector>

namespace supra {

struct LocalWorkersOptions {
  int workers = 1;
  int threads = 0;                // per worker (0: every core)
  std::vector<std::string> gpus;  // one CUDA_VISIBLE_DEVICES value per worker (empty: leave it as it is)
  std::string supra_bin;          // this binary
  bool quiet = false;
};

// The running supra-eval binary (absolute), which workers and job scripts run.
std::string this_binary();

// Starts the workers and waits for all of them; returns how many exited with an error.
int run_local_workers(const std::string& plan_dir, const LocalWorkersOptions& o);

}  // namespace supra
