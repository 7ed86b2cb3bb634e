#pragma once
// Runs the supra-eval binary as a child process (tests of resume after SIGKILL and of exit codes).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace supra::test {

// A fresh path in the temp folder, unique to this test process: "supra_<group>_<pid>_<name>", with any earlier file
// of that name and its SQLite -wal/-shm companions removed.
inline std::filesystem::path fresh_temp(const std::string& group, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path p = fs::temp_directory_path() / ("supra_" + group + "_" + std::to_string(::getpid()) + "_" + name);
  for (const char* ext : {"", "-wal", "-shm"}) fs::remove(p.string() + ext);
  return p;
}

inline pid_t spawn_cli(const std::vector<std::string>& args, const std::string& log_path) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    std::string bin = SUPRA_CLI_PATH;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

inline int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs to completion; returns the exit code and puts stdout+stderr in `output`.
inline int run_cli(const std::vector<std::string>& args, std::string& output, const std::string& log_path) {
  const int rc = wait_exit(spawn_cli(args, log_path));
  std::ifstream in(log_path);
  std::stringstream ss;
  ss << in.rdbuf();
  output = ss.str();
  return rc;
}

}  // namespace supra::test
