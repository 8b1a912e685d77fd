#pragma once
// Clock: the runtime's source of time, injected so that unit tests drive back-off, probes and grace
// periods with a fake clock.
#include <chrono>
#include <optional>
#include <string>

namespace minikd::runtime {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  /// The current wall-clock time (used for status timestamps and for every timer of the runtime).
  virtual TimePoint now() const = 0;
};

/// The real clock.
class SystemClock : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

/// "2026-11-27T09:00:00Z" (RFC 3339, seconds: what status timestamps use).
std::string formatRfc3339(TimePoint t);
/// "2026-11-27T09:00:00.123456789Z" (RFC 3339 with nanoseconds: log line timestamps).
std::string formatRfc3339Nano(TimePoint t);
/// Parses either form above; nullopt when it is neither.
std::optional<TimePoint> parseRfc3339(const std::string& s);

}  // namespace minikd::runtime
