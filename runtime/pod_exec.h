#pragma once
// RuntimePodExec: api::PodExec for …/pods/{name}/exec and …/portforward. It finds the pod in the store
// (404/400 with kubectl's wording), asks the PodWorker for the container's own ProcessSpec (env,
// working dir, hostname, netns, resolv.conf/hosts, ids) and starts the command through an ExecLauncher;
// connect() dials 127.0.0.1:port inside the pod's network namespace.
#include "api/api.h"
#include "api/pod_exec.h"
#include "runtime/exec_linux.h"
#include "runtime/pod_worker.h"

#include <chrono>
#include <memory>
#include <string>

namespace minikd::runtime {

class RuntimePodExec : public api::PodExec {
 public:
  /// `launcher` null = makeLinuxExecLauncher(). `worker` must outlive this object. Both methods may
  /// be called from any thread, concurrently.
  RuntimePodExec(api::Api& api, PodWorker& worker, ExecLauncher* launcher = nullptr,
                 std::chrono::milliseconds connect_timeout = std::chrono::seconds(5));

  /// Throws ApiError 404 (no such pod or container), 400 (empty command, completed pod, container not
  /// running), 500 (the command could not be started: `exec: "foo": executable file not found in $PATH`).
  std::unique_ptr<api::ExecProcess> exec(const std::string& ns, const std::string& pod,
                                         const api::ExecOptions& options) override;
  /// Throws ApiError 404 (no such pod), 400 (not running), 500 ("error forwarding port 80 to pod
  /// default/web, uid …: dial tcp 127.0.0.1:80: connect: connection refused").
  int connect(const std::string& ns, const std::string& pod, uint16_t port) override;

 private:
  api::Json getPod(const std::string& ns, const std::string& pod) const;

  api::Api& api_;
  PodWorker& worker_;
  std::unique_ptr<ExecLauncher> own_launcher_;
  ExecLauncher& launcher_;
  std::chrono::milliseconds connect_timeout_;
};

}  // namespace minikd::runtime
