// The Linux ProcessLauncher: Boost.Process starts the command; an on_exec_setup initializer runs in
// the child between fork and exec and puts it into the pod: its own session/process group, the pod's
// network namespace, a new UTS namespace (hostname = pod name), a new mount namespace with the pod's
// resolv.conf and hosts bind-mounted, the working directory and the user/group. Output goes through
// pipes to one pump thread (epoll) that hands it to ProcessSpec::output.
#include "runtime/process_launcher.h"

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace bp = boost::process;

namespace minikd::runtime {

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

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

/// One pipe read end registered with the pump.
struct StreamState {
  UniqueFd fd;
  OutputStream stream;
  std::function<void(OutputStream, std::string_view)> output;
  std::atomic<bool> eof{false};
};

/// One thread that reads every process's stdout/stderr pipes with epoll and calls their sinks.
class OutputPump {
 public:
  OutputPump() : epoll_(::epoll_create1(EPOLL_CLOEXEC)), wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (epoll_.get() < 0 || wake_.get() < 0) throw std::system_error(errno, std::generic_category(), "epoll/eventfd for the output pump");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_.get();
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.get(), &ev);
    thread_ = std::thread([this] { loop(); });
  }
  ~OutputPump() {
    stop_ = true;
    uint64_t one = 1;
    (void)!::write(wake_.get(), &one, sizeof one);
    thread_.join();
    std::lock_guard lock(mu_);
    for (auto& [fd, s] : streams_) s->eof = true;
  }

  void add(const std::shared_ptr<StreamState>& s) {
    std::lock_guard lock(mu_);
    streams_[s->fd.get()] = s;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLHUP;
    ev.data.fd = s->fd.get();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, s->fd.get(), &ev) != 0) {
      streams_.erase(s->fd.get());
      s->eof = true;
    }
  }

 private:
  void loop() {
    std::vector<char> buf(64 * 1024);
    epoll_event events[32];
    while (!stop_) {
      int n = ::epoll_wait(epoll_.get(), events, 32, 1000);
      for (int i = 0; i < n; ++i) {
        if (events[i].data.fd == wake_.get()) continue;
        readOne(events[i].data.fd, buf);
      }
    }
  }

  void readOne(int fd, std::vector<char>& buf) {
    std::shared_ptr<StreamState> s;
    {
      std::lock_guard lock(mu_);
      auto it = streams_.find(fd);
      if (it == streams_.end()) return;
      s = it->second;
    }
    ssize_t got = ::read(fd, buf.data(), buf.size());
    if (got > 0) {
      if (s->output) s->output(s->stream, std::string_view(buf.data(), static_cast<size_t>(got)));
      return;
    }
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
    std::lock_guard lock(mu_);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    streams_.erase(fd);
    s->fd.reset();
    s->eof = true;
  }

  UniqueFd epoll_, wake_;
  std::mutex mu_;
  std::unordered_map<int, std::shared_ptr<StreamState>> streams_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class LinuxProcess : public Process {
 public:
  LinuxProcess(int pid, std::shared_ptr<StreamState> out, std::shared_ptr<StreamState> err)
      : pid_(pid), out_(std::move(out)), err_(std::move(err)) {}
  ~LinuxProcess() override {
    // Never leave a zombie or an orphan behind: the runtime stops processes before dropping them.
    if (!status_) {
      ::kill(-pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  int pid() const override { return pid_; }
  std::optional<ExitStatus> poll() override {
    if (status_) return status_;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == 0) return std::nullopt;
    if (r < 0) {  // not our child any more (should not happen): report it as gone
      status_ = ExitStatus{.code = 128 + SIGKILL, .signal = SIGKILL};
      return status_;
    }
    if (WIFEXITED(st)) status_ = ExitStatus{.code = WEXITSTATUS(st), .signal = 0};
    else if (WIFSIGNALED(st)) status_ = ExitStatus{.code = 128 + WTERMSIG(st), .signal = WTERMSIG(st)};
    else return std::nullopt;
    return status_;
  }
  void signal(int sig) override {
    if (status_) return;
    // The group first (children of the container), then the leader in case it left the group.
    ::kill(-pid_, sig);
    ::kill(pid_, sig);
  }
  bool outputDrained() const override { return out_->eof && err_->eof; }

 private:
  int pid_;
  std::optional<ExitStatus> status_;
  std::shared_ptr<StreamState> out_, err_;
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
  int fail_fd = -1;  // close-on-exec: EOF means exec happened, bytes are why the child gave up
};

/// In the child: reports "<step>: <strerror>" on the failure pipe and exits.
[[noreturn]] void failChild(const ChildPlan& p, const char* step) {
  int err = errno;
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "%s: %s", step, std::strerror(err));
  if (n > 0 && p.fail_fd >= 0) {
    ssize_t unused = ::write(p.fail_fd, buf, static_cast<size_t>(std::min(n, static_cast<int>(sizeof buf) - 1)));
    (void)unused;
  }
  ::_exit(127);
}

/// Runs in the child between fork and exec (async-signal-safe calls only). Returns nullptr on
/// success, else the name of the failed step (errno is set).
const char* setUpChild(const ChildPlan& p) {
  // A container starts with the signal state of a fresh process: minikd blocks SIGINT/SIGTERM (it takes
  // them with sigwait) and ignores SIGPIPE, and both would otherwise be inherited across exec.
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) return "reset the signal mask";
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
  if (::setsid() < 0) return "setsid";
  if (::dup2(p.stdin_fd, 0) < 0 || ::dup2(p.stdout_fd, 1) < 0 || ::dup2(p.stderr_fd, 2) < 0) return "dup2 stdio";
  if (p.netns_fd >= 0 && ::setns(p.netns_fd, CLONE_NEWNET) != 0) return "setns into the pod network namespace";
  if (p.hostname && *p.hostname) {
    if (::unshare(CLONE_NEWUTS) != 0) return "unshare UTS namespace";
    if (::sethostname(p.hostname, std::strlen(p.hostname)) != 0) return "sethostname";
  }
  if ((p.resolv_conf && *p.resolv_conf) || (p.hosts && *p.hosts)) {
    if (::unshare(CLONE_NEWNS) != 0) return "unshare mount namespace";
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return "make / private";
    if (p.resolv_conf && *p.resolv_conf && ::mount(p.resolv_conf, "/etc/resolv.conf", nullptr, MS_BIND, nullptr) != 0)
      return "bind-mount /etc/resolv.conf";
    if (p.hosts && *p.hosts && ::mount(p.hosts, "/etc/hosts", nullptr, MS_BIND, nullptr) != 0)
      return "bind-mount /etc/hosts";
  }
  if (p.working_dir && *p.working_dir && ::chdir(p.working_dir) != 0) return "chdir to workingDir";
  if (p.set_ids) {
    if (::setgroups(0, nullptr) != 0) return "setgroups";
    if (::setgid(p.gid) != 0) return "setgid";
    if (::setuid(p.uid) != 0) return "setuid";
  }
  // Whatever descriptors minikd holds (database, sockets) must not leak into the container.
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 4096; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return nullptr;
}

/// argv[0] as an executable path: as is when it has a '/', else looked up in PATH.
std::optional<std::string> resolveCommand(const std::string& cmd, const std::map<std::string, std::string>& env,
                                          const std::string& working_dir) {
  auto executable = [](const std::string& p) {
    struct stat st{};
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (cmd.find('/') != std::string::npos) {
    std::string p = cmd[0] == '/' ? cmd : working_dir + "/" + cmd;
    return executable(p) ? std::optional(cmd) : std::nullopt;
  }
  auto it = env.find("PATH");
  std::string path = it != env.end() ? it->second : kDefaultPath;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty() && executable(dir + "/" + cmd)) return dir + "/" + cmd;
    start = end + 1;
  }
  return std::nullopt;
}

/// Everything readable from `fd` until EOF.
std::string readAll(int fd) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return out;
  }
}

std::pair<UniqueFd, UniqueFd> makePipe(const std::string& what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw StartError("RunContainerError", what + ": pipe: " + std::strerror(errno));
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

class LinuxProcessLauncher : public ProcessLauncher {
 public:
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty()) throw StartError("RunContainerError", "no command given");
    std::string wd = spec.working_dir.empty() ? "/" : spec.working_dir;
    auto exe = resolveCommand(spec.argv[0], spec.env, wd);
    if (!exe)
      throw StartError("RunContainerError",
                       "exec: \"" + spec.argv[0] + "\": executable file not found in $PATH or not executable");
    ChildPlan plan;
    UniqueFd netns;
    if (!spec.netns_path.empty()) {
      netns.reset(::open(spec.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
      if (netns.get() < 0)
        throw StartError("RunContainerError", "open netns \"" + spec.netns_path + "\": " + std::strerror(errno));
    }
    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    auto [out_r, out_w] = makePipe(spec.argv[0]);
    auto [err_r, err_w] = makePipe(spec.argv[0]);
    auto [fail_r, fail_w] = makePipe(spec.argv[0]);
    plan.fail_fd = fail_w.get();
    plan.netns_fd = netns.get();
    plan.hostname = spec.hostname.c_str();
    plan.resolv_conf = spec.resolv_conf.c_str();
    plan.hosts = spec.hosts.c_str();
    plan.working_dir = wd.c_str();
    plan.stdin_fd = devnull.get();
    plan.stdout_fd = out_w.get();
    plan.stderr_fd = err_w.get();
    fillIds(spec, plan);

    bp::environment env;
    for (const auto& [k, v] : spec.env) env[k] = v;
    int pid = -1;
    try {
      bp::child c(bp::exe = *exe, bp::args = std::vector<std::string>(spec.argv.begin() + 1, spec.argv.end()), env,
                  bp::extend::on_exec_setup =
                      // Failures go through our own pipe: Boost 1.74's error pipe sometimes garbles
                      // the message length (a std::length_error in the parent).
                      [&plan](auto&) {
                        if (const char* step = setUpChild(plan)) failChild(plan, step);
                      },
                  bp::extend::on_error = [](auto& exec, const std::error_code&) {
                    // Boost drops the pid of a child that failed before exec: reap it here.
                    if (exec.pid > 0) ::waitpid(exec.pid, nullptr, 0);
                  });
      pid = c.id();
      c.detach();  // we reap it ourselves (LinuxProcess::poll)
    } catch (const bp::process_error& e) {
      throw StartError("RunContainerError", "start \"" + spec.argv[0] + "\": " + e.what());
    }
    fail_w.reset();
    if (std::string why = readAll(fail_r.get()); !why.empty()) {
      ::waitpid(pid, nullptr, 0);
      throw StartError("RunContainerError", "start \"" + spec.argv[0] + "\": " + why);
    }
    out_w.reset();
    err_w.reset();
    auto out = std::make_shared<StreamState>();
    out->fd = std::move(out_r);
    out->stream = OutputStream::Stdout;
    out->output = spec.output;
    auto err = std::make_shared<StreamState>();
    err->fd = std::move(err_r);
    err->stream = OutputStream::Stderr;
    err->output = spec.output;
    pump_.add(out);
    pump_.add(err);
    return std::make_unique<LinuxProcess>(pid, out, err);
  }

 private:
  static void fillIds(const ProcessSpec& spec, ChildPlan& plan) {
    if (!spec.run_as_user && !spec.run_as_group) return;
    plan.set_ids = true;
    plan.uid = spec.run_as_user.value_or(::getuid());
    if (spec.run_as_group) {
      plan.gid = *spec.run_as_group;
      return;
    }
    // Like a container runtime: the user's primary group from passwd, else 0.
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    plan.gid = (::getpwuid_r(plan.uid, &pw, buf.data(), buf.size(), &found) == 0 && found) ? pw.pw_gid : 0;
  }

  OutputPump pump_;
};

}  // namespace

std::unique_ptr<ProcessLauncher> makeLinuxProcessLauncher() { return std::make_unique<LinuxProcessLauncher>(); }

}  // namespace minikd::runtime
