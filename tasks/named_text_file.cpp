#include "tasks/named_text_file.h"

#include "datasets/text_file.h"
#include "core/error.h"
#include "core/sha256.h"

namespace supra::tasks {

NamedTextFile::NamedTextFile(std::string prefix, const std::string& path) : prefix_(std::move(prefix)), path_(path) {
  if (path.empty()) fail("{}: no file given (use {}:<path to a UTF-8 text file>)", prefix_, prefix_);
  const std::string text = datasets::read_text_file(path_);
  if (text.empty()) fail("{}: {} is empty", prefix_, path_.string());
  sha256_ = sha256_hex(text);
  bytes_ = text.size();
}

std::string NamedTextFile::task_name() const {
  return prefix_ + ":" + path_.filename().string() + "@" + sha256_.substr(0, 12);
}

std::string NamedTextFile::read_unchanged() const {
  std::string text = datasets::read_text_file(path_);
  if (sha256_hex(text) != sha256_)
    fail("{}: {} changed since the task was made (sha256 was {})", prefix_, path_.string(), sha256_);
  return text;
}

}  // namespace supra::tasks
