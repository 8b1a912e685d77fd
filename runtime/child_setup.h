#pragma once
// Internal to runtime/: the child-side set-up shared by the container launcher
// (process_launcher_linux.cpp) and the exec launcher (exec_linux.cpp). The parent prepares a
// ChildPlan (plain pointers and fds); between fork and exec the child calls setUpChild(), which only
// makes async-signal-safe system calls, and reports a failure through a close-on-exec pipe.
#include "runtime/process_launcher.h"

#include <sys/types.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

namespace minikd::runtime::detail {

/// A file descriptor closed on destruction.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

/// What the child needs, prepared in the parent so the child only makes system calls.
struct ChildPlan {
  int netns_fd = -1;
  const char* hostname = nullptr;
  const char* resolv_conf = nullptr;
  const char* hosts = nullptr;
  const char* working_dir = nullptr;
  bool set_ids = false;
  uid_t uid = 0;
  gid_t gid = 0;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  bool controlling_tty = false;  // fd 0 (a pty slave) becomes the controlling terminal of the new session
  int fail_fd = -1;  // close-on-exec: EOF means exec happened, bytes are why the child gave up
};

/// In the child: reports "<step>: <strerror(errno)>" on the failure pipe and exits 127.
[[noreturn]] void failChild(const ChildPlan& p, const char* step);

/// Runs in the child between fork and exec (async-signal-safe calls only): fresh signal state, a new
/// session, stdio, the pod's network namespace, a new UTS namespace with the hostname, a private mount
/// namespace with resolv.conf/hosts bind-mounted, the working directory, the ids, and every other fd
/// close-on-exec. Returns nullptr on success, else the name of the failed step (errno is set).
const char* setUpChild(const ChildPlan& p);

/// Fills the netns fd (opened into `netns`), hostname, mounts, working dir and ids of `plan` from
/// `spec`. `plan` points into `spec` and `wd`, which must outlive the child's start. Throws StartError.
void planFromSpec(const ProcessSpec& spec, const std::string& wd, UniqueFd& netns, ChildPlan& plan);

/// argv[0] as an executable path: as is when it has a '/', else looked up in PATH of `env`
/// (a default PATH when unset). nullopt when not found or not executable.
std::optional<std::string> resolveCommand(const std::string& cmd, const std::map<std::string, std::string>& env,
                                          const std::string& working_dir);

/// Everything readable from `fd` until EOF.
std::string readAll(int fd);

/// A close-on-exec pipe (read end, write end). Throws StartError naming `what`.
std::pair<UniqueFd, UniqueFd> makePipe(const std::string& what);

}  // namespace minikd::runtime::detail
