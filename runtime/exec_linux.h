#pragma once
// ExecLauncher: how the runtime starts a `kubectl exec` command in a pod and opens a port-forward
// connection in a pod's network namespace. The Linux one (exec_linux.cpp) forks the command itself
// (Boost.Process cannot hand out a pseudo-terminal) with exactly the child set-up of a container
// process (child_setup.h), its stdio on pipes or on a pty, and an exit pidfd.
#include "api/pod_exec.h"
#include "runtime/process_launcher.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace minikd::runtime {

class ExecLauncher {
 public:
  virtual ~ExecLauncher() = default;
  /// Starts spec.argv (spec.output is not used) in the namespaces, hostname, mounts, working dir and
  /// ids `spec` describes, with stdio as `stdio` asks (stdin/stdout/stderr/tty; `command` and
  /// `container` are not used). The returned fds are non-blocking. Throws StartError: the command is not
  /// found (`exec: "foo": executable file not found in $PATH`) or a set-up step failed (named).
  virtual std::unique_ptr<api::ExecProcess> start(const ProcessSpec& spec, const api::ExecOptions& stdio) = 0;
  /// A non-blocking TCP socket connected to 127.0.0.1:`port` inside the network namespace at
  /// `netns_path` ("" = this one), made on a short-lived thread so only that thread changes netns.
  /// Throws std::runtime_error in Go's words: "dial tcp 127.0.0.1:80: connect: connection refused".
  virtual int connect(const std::string& netns_path, uint16_t port, std::chrono::milliseconds timeout) = 0;
};

/// The ExecLauncher of this host (namespaces need root).
std::unique_ptr<ExecLauncher> makeLinuxExecLauncher();

}  // namespace minikd::runtime
