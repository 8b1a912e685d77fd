#pragma once
// FakeClock: a Clock that only moves when a test advances it.
#include "runtime/clock.h"

#include <mutex>

namespace minikd::runtime {

class FakeClock : public Clock {
 public:
  explicit FakeClock(TimePoint start = std::chrono::system_clock::from_time_t(1'800'000'000)) : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(std::chrono::milliseconds d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

}  // namespace minikd::runtime
