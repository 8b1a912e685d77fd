#pragma once
// RuntimePodLogs: api::PodLogs over the CRI log files the pod worker writes (container_log.h).
// Which instance is current comes from the pod's status (restartCount), so it needs only the API
// and the state dir, not the worker.
#include "api/api.h"
#include "api/pod_logs.h"
#include "runtime/clock.h"

#include <chrono>
#include <string>

namespace minikd::runtime {

class RuntimePodLogs : public api::PodLogs {
 public:
  /// `state_dir` as in RuntimeConfig. `poll` is how often follow looks for new output.
  RuntimePodLogs(api::Api& api, const Clock& clock, std::string state_dir,
                 std::chrono::milliseconds poll = std::chrono::milliseconds(100))
      : api_(api), clock_(clock), state_dir_(std::move(state_dir)), poll_(poll) {}

  /// Throws ApiError 404 (no such pod) or 400 (no such container, none given for a pod with
  /// several, no previous instance, not started yet) with kubectl's wording.
  void stream(const std::string& ns, const std::string& pod, const api::LogOptions& options,
              const std::function<bool(std::string_view)>& sink) override;

 private:
  api::Api& api_;
  const Clock& clock_;
  std::string state_dir_;
  std::chrono::milliseconds poll_;
};

}  // namespace minikd::runtime
