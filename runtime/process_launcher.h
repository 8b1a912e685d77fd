#pragma once
// ProcessLauncher: how the runtime starts a container's process. The Linux implementation
// (process_launcher_linux.cpp) uses Boost.Process and, in the child before exec, joins the pod's
// network namespace and sets up its own UTS and mount namespaces; tests/fakes has a fake.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace minikd::runtime {

enum class OutputStream { Stdout, Stderr };

/// Everything needed to start one container process (or an exec probe) of a pod.
struct ProcessSpec {
  std::vector<std::string> argv;               // command + args; argv[0] is looked up in PATH
  std::map<std::string, std::string> env;      // the complete environment
  std::string working_dir = "/";
  std::string hostname;                        // the pod's name (a new UTS namespace)
  std::string netns_path;                      // /run/netns/…; empty = stay in the caller's netns
  std::string resolv_conf;                     // bind-mounted over /etc/resolv.conf when set
  std::string hosts;                           // bind-mounted over /etc/hosts when set
  std::optional<uint32_t> run_as_user;
  std::optional<uint32_t> run_as_group;
  /// Receives the process's output as it arrives (from a launcher thread). May be empty (discard).
  std::function<void(OutputStream, std::string_view)> output;
};

/// How a process ended.
struct ExitStatus {
  int code = 0;    // exit code, or 128 + signal
  int signal = 0;  // the terminating signal, 0 when it exited
};

/// A started process: the leader of its own process group.
class Process {
 public:
  virtual ~Process() = default;
  virtual int pid() const = 0;
  /// Non-blocking: the exit status once the process has ended (and been reaped), else nullopt.
  virtual std::optional<ExitStatus> poll() = 0;
  /// Sends `sig` to the process group. Signalling an ended process is a no-op.
  virtual void signal(int sig) = 0;
  /// True once the process's output has been fully delivered (its pipes reached EOF).
  virtual bool outputDrained() const = 0;
};

/// The process could not be started; `reason` is the Kubernetes waiting reason
/// ("RunContainerError", "StartError") and what() the message naming the command.
class StartError : public std::runtime_error {
 public:
  StartError(std::string reason, const std::string& message)
      : std::runtime_error(message), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  /// Starts the process. Throws StartError when the command is not found or not executable, the
  /// working directory is bad, or a namespace step fails.
  virtual std::unique_ptr<Process> start(const ProcessSpec& spec) = 0;
};

/// The outcome of runToCompletion.
struct RunResult {
  std::optional<ExitStatus> status;  // nullopt: timed out (the process group was killed)
  std::string output;                // stdout and stderr, capped at 64 KiB
};

/// Starts `spec` and waits up to `timeout` for it to exit (exec probes, `exec`). Throws StartError.
RunResult runToCompletion(ProcessLauncher& launcher, ProcessSpec spec, std::chrono::milliseconds timeout);

/// The ProcessLauncher of this host (Boost.Process; namespaces need root).
std::unique_ptr<ProcessLauncher> makeLinuxProcessLauncher();

}  // namespace minikd::runtime
