#pragma once
// What the REST layer needs to serve GET …/pods/{name}/log: implemented by the runtime.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace minikd::api {

struct LogOptions {
  std::string container;  // empty = the pod's only/first container
  bool follow = false;
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> since_seconds;
  bool timestamps = false;
  bool previous = false;
  std::optional<int64_t> limit_bytes;
};

class PodLogs {
 public:
  virtual ~PodLogs() = default;
  /// Writes the log of a container of pod ns/name to `sink` as it is (and, with follow, as it grows,
  /// until the container's last instance ends or `sink` returns false).
  /// While following and waiting for data, `sink` is called with an empty chunk now and then: it
  /// returns false to end the stream (client gone, server stopping).
  /// Throws ApiError 404 (no such container / no previous instance) or 400.
  virtual void stream(const std::string& ns, const std::string& pod, const LogOptions& options,
                      const std::function<bool(std::string_view)>& sink) = 0;
};

}  // namespace minikd::api
