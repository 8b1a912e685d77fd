#pragma once
// A PodExec for tests and benchmarks without root: exec runs the command as a local process (fork +
// exec, own process group, pipes, a pidfd), connect dials 127.0.0.1:<port> on the host.
#include "api/errors.h"
#include "api/pod_exec.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace minikd::testing {

/// A local `sh -c` with pipes, as a container's exec would be (without namespaces).
class LocalProcess : public minikd::api::ExecProcess {
 public:
  LocalProcess(const std::vector<std::string>& cmd, bool with_stdin, std::pair<uint16_t, uint16_t>* resized)
      : resized_(resized) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe2 failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::syscall(SYS_close_range, 3U, ~0U, 0U);  // not the test's own sockets (client and server share this process)
      std::vector<char*> argv;
      for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);  // also here: a kill right after fork must reach the group
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    stdin_ = in[1];
    if (!with_stdin) closeStdin();
    stdout_ = out[0];
    stderr_ = err[0];
    pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (pidfd_ < 0) throw std::runtime_error("pidfd_open failed");
  }
  ~LocalProcess() override {
    if (!reaped_) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (int fd : {stdin_, stdout_, stderr_, pidfd_})
      if (fd >= 0) ::close(fd);
  }
  int stdinFd() const override { return stdin_; }
  int stdoutFd() const override { return stdout_; }
  int stderrFd() const override { return stderr_; }
  void closeStdin() override {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }
  int exitFd() const override { return pidfd_; }
  int wait() override {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void resize(uint16_t cols, uint16_t rows) override { *resized_ = {cols, rows}; }
  void kill() override { ::kill(-pid_, SIGKILL); }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1, stderr_ = -1, pidfd_ = -1;
  bool reaped_ = false;
  std::pair<uint16_t, uint16_t>* resized_;
};

class LocalExec : public minikd::api::PodExec {
 public:
  std::unique_ptr<minikd::api::ExecProcess> exec(const std::string& ns, const std::string& pod,
                                                 const minikd::api::ExecOptions& o) override {
    if (o.container == "missing") throw minikd::api::notFound("containers", "missing");
    last = o;
    return std::make_unique<LocalProcess>(o.command, o.stdin, &resized);
  }
  int connect(const std::string& ns, const std::string& pod, uint16_t port) override {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      throw minikd::api::internalError("error forwarding port " + std::to_string(port) + " to pod " + pod +
                                       ": connection refused");
    }
    return fd;
  }
  minikd::api::ExecOptions last;
  std::pair<uint16_t, uint16_t> resized{0, 0};
};

}  // namespace minikd::testing
