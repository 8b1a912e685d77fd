#pragma once
// What the REST layer needs to serve …/pods/{name}/exec and …/pods/{name}/portforward: implemented
// by the runtime (runtime/pod_exec.h), which knows each pod's namespaces, containers and environment.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace minikd::api {

struct ExecOptions {
  std::string container;  // empty = the pod's first container
  std::vector<std::string> command;
  bool stdin = false;
  bool stdout = true;
  bool stderr = true;
  bool tty = false;  // a pseudo-terminal: stdout and stderr both arrive on stdoutFd()
};

/// A command running in a container. File descriptors belong to this object (closed by it); -1 when
/// that stream was not requested.
class ExecProcess {
 public:
  virtual ~ExecProcess() = default;  // ends the process group if it still runs, and reaps it
  virtual int stdinFd() const = 0;   // write end (with a tty: a dup of the pty master)
  virtual int stdoutFd() const = 0;  // read end (with a tty: the pty master)
  virtual int stderrFd() const = 0;  // read end (-1 with a tty)
  virtual void closeStdin() = 0;     // the client's stdin reached EOF
  /// Becomes readable when the process has ended (a pidfd), for poll/epoll/asio.
  virtual int exitFd() const = 0;
  /// Reaps the process once exitFd() is readable: its exit code (128 + signal when killed).
  virtual int wait() = 0;
  /// Sets the terminal size (tty only; ignored otherwise).
  virtual void resize(uint16_t cols, uint16_t rows) = 0;
  /// Sends SIGKILL to the process group (the client went away).
  virtual void kill() = 0;
};

class PodExec {
 public:
  virtual ~PodExec() = default;
  /// Starts `options.command` in a running container of pod ns/name, in the same namespaces, hostname,
  /// environment, working directory and user as the container's own process.
  /// Throws ApiError: 404 (no such pod/container), 400 (pod not running, empty command),
  /// 500 (the command could not be started; the message names it).
  virtual std::unique_ptr<ExecProcess> exec(const std::string& ns, const std::string& pod, const ExecOptions& options) = 0;
  /// A TCP connection to 127.0.0.1:`port` made inside pod ns/name's network namespace (what kubelet
  /// does for port-forward). Returns a connected socket the caller owns. Throws ApiError
  /// (404 unknown pod, 400 pod not running, 500 with the connect error).
  virtual int connect(const std::string& ns, const std::string& pod, uint16_t port) = 0;
};

}  // namespace minikd::api
