#include "runtime/clock.h"

#include "api/text.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace minikd::runtime {

namespace {
std::tm utc(TimePoint t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return tm;
}
}  // namespace

std::string formatRfc3339(TimePoint t) {
  std::tm tm = utc(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string formatRfc3339Nano(TimePoint t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::floor<std::chrono::seconds>(since);
  long nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count();
  std::tm tm = utc(TimePoint(std::chrono::duration_cast<TimePoint::duration>(secs)));
  char buf[48];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09ldZ", nanos);
  return buf;
}

std::optional<TimePoint> parseRfc3339(const std::string& s) { return api::parseRfc3339(s); }

}  // namespace minikd::runtime
