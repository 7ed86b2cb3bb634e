#include "harness/local_workers.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace supra {

std::string this_binary() {
  std::error_code ec;
  const auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) fail("cannot find this program's own file (/proc/self/exe: {})", ec.message());
  return p.string();
}

int run_local_workers(const std::string& plan_dir, const LocalWorkersOptions& o) {
  if (o.workers <= 0) fail("--workers: must be positive, got {}", o.workers);
  if (!o.gpus.empty() && int(o.gpus.size()) != o.workers)
    fail("--gpus: {} values for {} workers; give one CUDA_VISIBLE_DEVICES value per worker", o.gpus.size(),
         o.workers);
  std::vector<pid_t> pids;
  for (int w = 0; w < o.workers; w++) {
    std::vector<std::string> args = {o.supra_bin, "work", "--plan", plan_dir, "--next", "--threads",
                                     std::to_string(o.threads)};
    if (o.quiet) args.push_back("--quiet");
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid < 0) fail("--workers: cannot start worker {} (fork failed)", w);
    if (pid == 0) {
      if (!o.gpus.empty()) setenv("CUDA_VISIBLE_DEVICES", o.gpus[size_t(w)].c_str(), 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(o.supra_bin.c_str(), argv.data());
      std::fprintf(stderr, "--workers: cannot run %s\n", o.supra_bin.c_str());
      _exit(127);
    }
    pids.push_back(pid);
  }
  int failed = 0;
  for (pid_t pid : pids) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  return failed;
}

}  // namespace supra
