// The Linux ProcessLauncher: Boost.Process starts the command; an on_exec_setup initializer runs in
// the child between fork and exec and puts it into the pod (detail::setUpChild, child_setup.h): its own
// session/process group, the pod's network namespace, a new UTS namespace (hostname = pod name), a new
// mount namespace with the pod's resolv.conf and hosts bind-mounted, the working directory and the
// user/group. Output goes through
// pipes to one pump thread (epoll) that hands it to ProcessSpec::output.
#include "runtime/process_launcher.h"

#include "runtime/child_setup.h"

#include <boost/process.hpp>
#include <boost/process/extend.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

using detail::UniqueFd;

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

class LinuxProcessLauncher : public ProcessLauncher {
 public:
  std::unique_ptr<Process> start(const ProcessSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty()) throw StartError("RunContainerError", "no command given");
    std::string wd = spec.working_dir.empty() ? "/" : spec.working_dir;
    auto exe = detail::resolveCommand(spec.argv[0], spec.env, wd);
    if (!exe)
      throw StartError("RunContainerError",
                       "exec: \"" + spec.argv[0] + "\": executable file not found in $PATH or not executable");
    detail::ChildPlan plan;
    UniqueFd netns;
    detail::planFromSpec(spec, wd, netns, plan);
    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    auto [out_r, out_w] = detail::makePipe(spec.argv[0]);
    auto [err_r, err_w] = detail::makePipe(spec.argv[0]);
    auto [fail_r, fail_w] = detail::makePipe(spec.argv[0]);
    plan.fail_fd = fail_w.get();
    plan.stdin_fd = devnull.get();
    plan.stdout_fd = out_w.get();
    plan.stderr_fd = err_w.get();

    bp::environment env;
    for (const auto& [k, v] : spec.env) env[k] = v;
    int pid = -1;
    try {
      bp::child c(bp::exe = *exe, bp::args = std::vector<std::string>(spec.argv.begin() + 1, spec.argv.end()), env,
                  bp::extend::on_exec_setup =
                      // Failures go through our own pipe: Boost 1.74's error pipe sometimes garbles
                      // the message length (a std::length_error in the parent).
                      [&plan](auto&) {
                        if (const char* step = detail::setUpChild(plan)) detail::failChild(plan, step);
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
    if (std::string why = detail::readAll(fail_r.get()); !why.empty()) {
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
  OutputPump pump_;
};

}  // namespace

std::unique_ptr<ProcessLauncher> makeLinuxProcessLauncher() { return std::make_unique<LinuxProcessLauncher>(); }

}  // namespace minikd::runtime
