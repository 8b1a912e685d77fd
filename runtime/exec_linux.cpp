// The Linux ExecLauncher: fork + exec with detail::setUpChild (the container set-up), stdio on pipes
// or on a pseudo-terminal (the child's controlling tty), a pidfd to wait on; and connect() from a
// thread that has joined the pod's network namespace.
#include "runtime/exec_linux.h"

#include "runtime/child_setup.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>
#include <vector>

namespace minikd::runtime {

namespace {

using detail::UniqueFd;

/// Sets O_NONBLOCK on `fd` (the server reads and writes it with asio).
void setNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

class LinuxExecProcess : public api::ExecProcess {
 public:
  LinuxExecProcess(int pid, UniqueFd pidfd, UniqueFd in, UniqueFd out, UniqueFd err, bool tty)
      : pid_(pid), pidfd_(std::move(pidfd)), in_(std::move(in)), out_(std::move(out)), err_(std::move(err)), tty_(tty) {}
  ~LinuxExecProcess() override {
    if (code_) return;
    kill();
    wait();
  }
  int stdinFd() const override { return in_.get(); }
  int stdoutFd() const override { return out_.get(); }
  int stderrFd() const override { return err_.get(); }
  void closeStdin() override { in_.reset(); }  // with a tty only our dup of the master goes
  int exitFd() const override { return pidfd_.get(); }
  int wait() override {
    if (code_) return *code_;
    int st = 0;
    pid_t r;
    do r = ::waitpid(pid_, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) code_ = 128 + SIGKILL;  // not our child any more (should not happen)
    else if (WIFSIGNALED(st)) code_ = 128 + WTERMSIG(st);
    else code_ = WEXITSTATUS(st);
    return *code_;
  }
  void resize(uint16_t cols, uint16_t rows) override {
    if (!tty_) return;
    winsize ws{};
    ws.ws_col = cols;
    ws.ws_row = rows;
    ::ioctl(out_.get(), TIOCSWINSZ, &ws);  // the kernel sends SIGWINCH to the foreground group
  }
  void kill() override {
    // Until it is reaped the pid (and so the group id) cannot be reused.
    if (code_) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }

 private:
  int pid_;
  UniqueFd pidfd_, in_, out_, err_;
  bool tty_;
  std::optional<int> code_;
};

/// The stdio of the child (its ends) and of the parent (our ends), before the fork.
struct Stdio {
  UniqueFd child_in, child_out, child_err;  // what the child dup2s onto 0, 1, 2
  UniqueFd in, out, err;                    // ours
};

Stdio pipeStdio(const api::ExecOptions& o, const std::string& what) {
  Stdio s;
  auto devnull = [&] {
    UniqueFd fd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) throw StartError("StartError", what + ": open /dev/null: " + std::strerror(errno));
    return fd;
  };
  if (o.stdin) std::tie(s.child_in, s.in) = detail::makePipe(what);
  else s.child_in = devnull();
  if (o.stdout) std::tie(s.out, s.child_out) = detail::makePipe(what);
  else s.child_out = devnull();
  if (o.stderr) std::tie(s.err, s.child_err) = detail::makePipe(what);
  else s.child_err = devnull();
  return s;
}

Stdio ptyStdio(const api::ExecOptions& o, const std::string& what) {
  Stdio s;
  s.out.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (s.out.get() < 0) throw StartError("StartError", what + ": posix_openpt: " + std::strerror(errno));
  if (::grantpt(s.out.get()) != 0 || ::unlockpt(s.out.get()) != 0)
    throw StartError("StartError", what + ": unlock the pty: " + std::strerror(errno));
  UniqueFd slave(::ioctl(s.out.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (slave.get() < 0) {
    char name[128];
    if (::ptsname_r(s.out.get(), name, sizeof name) == 0) slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
  }
  if (slave.get() < 0) throw StartError("StartError", what + ": open the pty slave: " + std::strerror(errno));
  s.child_in.reset(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 3));
  s.child_err.reset(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 3));
  s.child_out = std::move(slave);
  if (o.stdin) s.in.reset(::fcntl(s.out.get(), F_DUPFD_CLOEXEC, 3));
  if (s.child_in.get() < 0 || s.child_err.get() < 0 || (o.stdin && s.in.get() < 0))
    throw StartError("StartError", what + ": dup the pty: " + std::strerror(errno));
  return s;
}

/// Go's wording of a connect errno ("connection refused").
std::string goError(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

/// Runs on its own thread: joins the netns, connects with a timeout. Returns the fd or throws.
int connectIn(int netns_fd, uint16_t port, std::chrono::milliseconds timeout) {
  std::string dial = "dial tcp 127.0.0.1:" + std::to_string(port) + ": ";
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0)
    throw std::runtime_error(dial + "setns: " + goError(errno));
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) throw std::runtime_error(dial + "socket: " + goError(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) throw std::runtime_error(dial + "connect: " + goError(errno));
    pollfd p{fd.get(), POLLOUT, 0};
    int n;
    do n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (n < 0 && errno == EINTR);
    if (n == 0) throw std::runtime_error(dial + "i/o timeout");
    int err = 0;
    socklen_t len = sizeof err;
    if (n < 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) throw std::runtime_error(dial + "connect: " + goError(err));
  }
  return fd.release();
}

class LinuxExecLauncher : public ExecLauncher {
 public:
  std::unique_ptr<api::ExecProcess> start(const ProcessSpec& spec, const api::ExecOptions& stdio) override {
    if (spec.argv.empty() || spec.argv[0].empty()) throw StartError("StartError", "no command given");
    const std::string& cmd = spec.argv[0];
    std::string wd = spec.working_dir.empty() ? "/" : spec.working_dir;
    auto exe = detail::resolveCommand(cmd, spec.env, wd);
    if (!exe) throw StartError("StartError", "exec: \"" + cmd + "\": executable file not found in $PATH");
    detail::ChildPlan plan;
    UniqueFd netns;
    detail::planFromSpec(spec, wd, netns, plan);
    Stdio s = stdio.tty ? ptyStdio(stdio, cmd) : pipeStdio(stdio, cmd);
    auto [fail_r, fail_w] = detail::makePipe(cmd);
    plan.stdin_fd = s.child_in.get();
    plan.stdout_fd = s.child_out.get();
    plan.stderr_fd = s.child_err.get();
    plan.controlling_tty = stdio.tty;
    plan.fail_fd = fail_w.get();

    // argv and envp are built before the fork: the child may only make system calls.
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : spec.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> argv, envp;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0) throw StartError("StartError", "start \"" + cmd + "\": fork: " + std::strerror(errno));
    if (pid == 0) {
      if (const char* step = detail::setUpChild(plan)) detail::failChild(plan, step);
      ::execve(exe->c_str(), argv.data(), envp.data());
      detail::failChild(plan, "exec");
    }
    fail_w.reset();
    s.child_in.reset();
    s.child_out.reset();
    s.child_err.reset();
    if (std::string why = detail::readAll(fail_r.get()); !why.empty()) {
      ::waitpid(pid, nullptr, 0);
      throw StartError("StartError", "start \"" + cmd + "\": " + why);
    }
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd.get() < 0) {
      int err = errno;
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw StartError("StartError", "start \"" + cmd + "\": pidfd_open: " + std::strerror(err));
    }
    for (int fd : {s.in.get(), s.out.get(), s.err.get()})
      if (fd >= 0) setNonBlocking(fd);
    return std::make_unique<LinuxExecProcess>(pid, std::move(pidfd), std::move(s.in), std::move(s.out),
                                              std::move(s.err), stdio.tty);
  }

  int connect(const std::string& netns_path, uint16_t port, std::chrono::milliseconds timeout) override {
    UniqueFd netns;
    if (!netns_path.empty()) {
      netns.reset(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (netns.get() < 0)
        throw std::runtime_error("open netns \"" + netns_path + "\": " + goError(errno));
    }
    int fd = -1;
    std::exception_ptr error;
    // setns(CLONE_NEWNET) changes only the calling thread; this one ends right after.
    std::thread t([&] {
      try {
        fd = connectIn(netns.get(), port, timeout);
      } catch (...) {
        error = std::current_exception();
      }
    });
    t.join();
    if (error) std::rethrow_exception(error);
    return fd;
  }
};

}  // namespace

std::unique_ptr<ExecLauncher> makeLinuxExecLauncher() { return std::make_unique<LinuxExecLauncher>(); }

}  // namespace minikd::runtime
