#pragma once
// Start-up steps that print how long each took: "  ✓ store (SQLite, WAL)   3.1 ms".
#include <chrono>
#include <cstdio>
#include <string>
#include <type_traits>

namespace minikd {

using Clock = std::chrono::steady_clock;

/// Prints "  ✓ <what> (<ms> ms)" for each start-up step.
class StepTimer {
 public:
  template <typename F>
  auto operator()(const std::string& what, F&& fn) {
    auto t0 = Clock::now();
    if constexpr (std::is_void_v<decltype(fn())>) {
      fn();
      report(what, t0);
    } else {
      auto r = fn();
      report(what, t0);
      return r;
    }
  }
  double totalMs() const { return std::chrono::duration<double, std::milli>(Clock::now() - start_).count(); }

 private:
  void report(const std::string& what, Clock::time_point t0) {
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    std::printf("  \u2713 %-34s %7.1f ms\n", what.c_str(), ms);
    std::fflush(stdout);
  }
  Clock::time_point start_ = Clock::now();
};

}  // namespace minikd
