// The child-side container set-up shared by both Linux launchers (see child_setup.h).
#include "runtime/child_setup.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace minikd::runtime::detail {

namespace {
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}  // namespace

void failChild(const ChildPlan& p, const char* step) {
  int err = errno;
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "%s: %s", step, std::strerror(err));
  if (n > 0 && p.fail_fd >= 0) {
    ssize_t unused = ::write(p.fail_fd, buf, static_cast<size_t>(std::min(n, static_cast<int>(sizeof buf) - 1)));
    (void)unused;
  }
  ::_exit(127);
}

const char* setUpChild(const ChildPlan& p) {
  // A container starts with the signal state of a fresh process: minikd blocks SIGINT/SIGTERM (it takes
  // them with sigwait) and ignores SIGPIPE, and both would otherwise be inherited across exec.
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) return "reset the signal mask";
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::signal(sig, SIG_DFL);
  if (::setsid() < 0) return "setsid";
  if (::dup2(p.stdin_fd, 0) < 0 || ::dup2(p.stdout_fd, 1) < 0 || ::dup2(p.stderr_fd, 2) < 0) return "dup2 stdio";
  if (p.controlling_tty && ::ioctl(0, TIOCSCTTY, 0) != 0) return "set the controlling terminal";
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

namespace {

void fillIds(const ProcessSpec& spec, ChildPlan& plan) {
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

}  // namespace

void planFromSpec(const ProcessSpec& spec, const std::string& wd, UniqueFd& netns, ChildPlan& plan) {
  if (!spec.netns_path.empty()) {
    netns.reset(::open(spec.netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (netns.get() < 0)
      throw StartError("RunContainerError", "open netns \"" + spec.netns_path + "\": " + std::strerror(errno));
  }
  plan.netns_fd = netns.get();
  plan.hostname = spec.hostname.c_str();
  plan.resolv_conf = spec.resolv_conf.c_str();
  plan.hosts = spec.hosts.c_str();
  plan.working_dir = wd.c_str();
  fillIds(spec, plan);
}

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

}  // namespace minikd::runtime::detail
