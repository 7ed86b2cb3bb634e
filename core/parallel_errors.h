#pragma once
// An exception thrown inside an OpenMP region terminates the process (it may not cross the region's end). Code that
// can throw inside one (an allocation, a conversion refusing a dtype) runs its body through `guard`; the first
// exception is kept and `rethrow` raises it after the region, on the calling thread.
#include <exception>
#include <mutex>
#include <utility>

namespace supra {

class ParallelErrors {
 public:
  template <class F>
  void guard(F&& body) noexcept {
    try {
      std::forward<F>(body)();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_) first_ = std::current_exception();
    }
  }
  void rethrow() {
    if (first_) std::rethrow_exception(std::exchange(first_, nullptr));
  }

 private:
  std::mutex mutex_;
  std::exception_ptr first_;
};

}  // namespace supra
