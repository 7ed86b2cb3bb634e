#pragma once
// One exception type for every user-facing failure: the message names the file, the field and what was expected.
#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace supra {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace supra
