#pragma once
// A text file a task is named after (perplexity:<path>, ppl_by_position:<path>): read when the task is made, so the
// task's name can carry the file's identity ("<prefix>:<basename>@<first 12 hex of its sha256>") and two different
// files (or an edited one) never share results; read again at load(), which fails if it changed in between.
#include <cstddef>
#include <filesystem>
#include <string>

namespace supra::tasks {

class NamedTextFile {
 public:
  // `prefix` names the task family in errors and in name(); an empty path or an empty file is an error.
  NamedTextFile(std::string prefix, const std::string& path);
  std::string task_name() const;  // "<prefix>:<basename>@<sha256[:12]>"
  // The file's text, checked to be the bytes the task was made from.
  std::string read_unchanged() const;
  const std::filesystem::path& path() const { return path_; }
  const std::string& sha256() const { return sha256_; }
  size_t bytes() const { return bytes_; }

 private:
  std::string prefix_;
  std::filesystem::path path_;
  std::string sha256_;
  size_t bytes_ = 0;
};

}  // namespace supra::tasks
