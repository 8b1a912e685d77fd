// Root integration tests of `kubectl exec` and port-forward: a real PodWorker over a real
// LinuxPodNetwork runs a pod; RuntimePodExec starts commands in it and dials into its netns.
// Fixture and address plan: runtime_env.h, tag "x", 10.253.<PID % 250>.0/24. Traffic stays on the
// pod's own loopback; every exec'd process is destroyed (SIGKILL to its group, reaped) by its test.
#include "integration/runtime_env.h"
#include "runtime/pod_exec.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>
#include <thread>

using namespace minikd;
using api::Json;
using namespace std::chrono_literals;

namespace {

/// The runtime fixture (tag "x", 10.253/16) with RuntimePodExec over its worker.
struct ExecEnv : testing::RuntimeEnv {
  std::unique_ptr<runtime::RuntimePodExec> exec;

  ExecEnv() : testing::RuntimeEnv("x", 253, [](runtime::RuntimeConfig& c) { c.shutdown_grace = 2s; }) {
    exec = std::make_unique<runtime::RuntimePodExec>(api, *worker, nullptr, 2s);
  }

  /// Creates pod `name` with one container "main" running `sleep 1000` and waits until it runs.
  void runPod(const std::string& name) {
    Json c = {{"name", "main"}, {"image", "host"}, {"command", {"/bin/sleep", "1000"}},
              {"env", Json::array({{{"name", "GREETING"}, {"value", "hello"}}})}};
    api.create(*api::findResource("", "pods"), "default",
               {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}}, {"spec", {{"containers", {c}}}}});
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto p = store.get("pods", "default", name);
      if (p && p->value("status", Json::object()).value("phase", "") == "Running" && !worker->netnsPath("default", name).empty())
        return;
      std::this_thread::sleep_for(20ms);
    }
    FAIL("pod " << name << " did not start");
  }
};

api::ExecOptions cmd(std::vector<std::string> command) {
  api::ExecOptions o;
  o.command = std::move(command);
  return o;
}

/// Reads `fd` (non-blocking) until EOF/EIO, until `until` appears (when given), or 5 s.
std::string readFd(int fd, const std::string& until = "") {
  std::string out;
  char buf[4096];
  auto end = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < end) {
    if (!until.empty() && out.find(until) != std::string::npos) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;
  }
  return out;
}

int waitExit(api::ExecProcess& p) {
  pollfd pfd{p.exitFd(), POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 5000) == 1);
  return p.wait();
}

/// The inode of a namespace file.
ino_t inodeOf(const std::string& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

/// An fd closed on scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

/// True when connecting to 127.0.0.1:port from this (the host's) netns is refused.
bool refusedOnHost(uint16_t port) {
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == ECONNREFUSED;
}

}  // namespace

TEST_CASE("exec: pipes, exit codes, stdin, tty, hostname and netns of the pod", "[runtime][exec]") {
  ExecEnv env;
  env.runPod("box");
  auto& ex = *env.exec;

  auto p = ex.exec("default", "box", cmd({"sh", "-c", "echo out; echo err >&2; exit 3"}));
  CHECK(readFd(p->stdoutFd()) == "out\n");
  CHECK(readFd(p->stderrFd()) == "err\n");
  CHECK(waitExit(*p) == 3);

  auto o = cmd({"cat"});
  o.stdin = true;
  auto cat = ex.exec("default", "box", o);
  REQUIRE(::write(cat->stdinFd(), "ping\n", 5) == 5);
  cat->closeStdin();
  CHECK(readFd(cat->stdoutFd()) == "ping\n");
  CHECK(waitExit(*cat) == 0);

  o = cmd({"sh", "-c", "read x; tty; stty size; echo \"$x\""});
  o.stdin = true;
  o.tty = true;
  auto tty = ex.exec("default", "box", o);
  CHECK(tty->stderrFd() == -1);
  tty->resize(100, 40);
  REQUIRE(::write(tty->stdinFd(), "go\n", 3) == 3);
  std::string screen = readFd(tty->stdoutFd());
  CHECK(screen.find("/dev/pts/") != std::string::npos);
  CHECK(screen.find("40 100") != std::string::npos);
  CHECK(waitExit(*tty) == 0);

  // The container's environment, hostname, resolv.conf and network namespace.
  auto info = ex.exec("default", "box", cmd({"sh", "-c", "hostname; echo $GREETING $HOSTNAME; grep nameserver /etc/resolv.conf"}));
  CHECK(readFd(info->stdoutFd()) == "box\nhello box\nnameserver 10.96.0.10\n");
  CHECK(waitExit(*info) == 0);
  std::string netns = env.worker->netnsPath("default", "box");
  auto ns = ex.exec("default", "box", cmd({"readlink", "/proc/self/ns/net"}));
  CHECK(readFd(ns->stdoutFd()) == "net:[" + std::to_string(inodeOf(netns)) + "]\n");
  CHECK(waitExit(*ns) == 0);
  CHECK(inodeOf(netns) != inodeOf("/proc/self/ns/net"));

  try {
    ex.exec("default", "box", cmd({"foo-not-there"}));
    FAIL("a missing command started");
  } catch (const api::ApiError& e) {
    CHECK(e.code() == 500);
    CHECK(std::string(e.what()) == "exec: \"foo-not-there\": executable file not found in $PATH");
  }
  CHECK_THROWS_AS(ex.exec("default", "nope", cmd({"true"})), api::ApiError);

  // kill() ends a long-running command.
  auto sleeper = ex.exec("default", "box", cmd({"sleep", "100"}));
  sleeper->kill();
  CHECK(waitExit(*sleeper) == 128 + SIGKILL);
}

TEST_CASE("exec: connect dials 127.0.0.1 inside the pod's network namespace", "[runtime][exec]") {
  ExecEnv env;
  env.runPod("web");
  std::mt19937 rng{std::random_device{}()};
  uint16_t port = 0;
  for (int i = 0; i < 20 && !port; ++i) {
    uint16_t candidate = static_cast<uint16_t>(20000 + rng() % 20000);
    if (refusedOnHost(candidate)) port = candidate;
  }
  REQUIRE(port != 0);
  auto o = cmd({MINIKD_BINARY, "tool", "echo", "--port", std::to_string(port), "--tcp-only"});
  auto server = env.exec->exec("default", "web", o);
  std::string banner = readFd(server->stderrFd(), "\n");
  INFO("stderr of the echo server: " << banner);
  REQUIRE(banner.find("echo: port " + std::to_string(port)) != std::string::npos);

  Fd fd{env.exec->connect("default", "web", port)};
  REQUIRE(fd.fd >= 0);
  // The socket lives in the pod's network namespace …
  Fd sock_ns{::ioctl(fd.fd, SIOCGSKNS)};
  REQUIRE(sock_ns.fd >= 0);
  struct stat st{};
  REQUIRE(::fstat(sock_ns.fd, &st) == 0);
  CHECK(st.st_ino == inodeOf(env.worker->netnsPath("default", "web")));
  // … and talks to the echo server there, which the host cannot reach.
  CHECK(refusedOnHost(port));
  pollfd w{fd.fd, POLLOUT, 0};
  REQUIRE(::poll(&w, 1, 2000) == 1);
  REQUIRE(::write(fd.fd, "hello\n", 6) == 6);
  CHECK(readFd(fd.fd, "hello\n") == "hello\n");

  uint16_t closed = port == 65535 ? port - 1 : port + 1;
  try {
    env.exec->connect("default", "web", closed);
    FAIL("connected to a closed port");
  } catch (const api::ApiError& e) {
    CHECK(e.code() == 500);
    std::string what = e.what();
    CHECK(what.rfind("error forwarding port " + std::to_string(closed) + " to pod default/web, uid ", 0) == 0);
    CHECK(what.find("dial tcp 127.0.0.1:" + std::to_string(closed) + ": connect: connection refused") != std::string::npos);
  }
  server->kill();
  CHECK(waitExit(*server) == 128 + SIGKILL);
}

TEST_CASE("exec: a session ends with its pod", "[runtime][exec]") {
  ExecEnv env;
  env.runPod("gone");
  auto shell = env.exec->exec("default", "gone", cmd({"sleep", "1000"}));
  env.api.remove(*api::findResource("", "pods"), "default", "gone");
  pollfd pfd{shell->exitFd(), POLLIN, 0};
  REQUIRE(::poll(&pfd, 1, 10000) == 1);
  CHECK(shell->wait() == 128 + SIGKILL);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (env.store.get("pods", "default", "gone") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  CHECK_FALSE(env.store.get("pods", "default", "gone"));
  CHECK_THROWS_AS(env.exec->exec("default", "gone", cmd({"true"})), api::ApiError);
}
