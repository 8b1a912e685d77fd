// RuntimePodExec over the fake worker set-up (errors, the spec it hands to the launcher) and the real
// Linux ExecLauncher without namespaces (pipes, pty, exit codes, kill, connect on loopback).
#include "runtime/exec_linux.h"
#include "runtime/pod_exec.h"
#include "runtime_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

using namespace minikd;
using namespace minikd::runtime;
using namespace minikd::runtime::testing;

namespace {

/// Records what RuntimePodExec asks of the launcher; can be told to fail.
class RecordingExecLauncher : public ExecLauncher {
 public:
  std::optional<ProcessSpec> spec;
  api::ExecOptions options;
  std::string netns;
  uint16_t port = 0;
  bool fail = false;

  std::unique_ptr<api::ExecProcess> start(const ProcessSpec& s, const api::ExecOptions& o) override {
    if (fail) throw StartError("StartError", "exec: \"" + s.argv[0] + "\": executable file not found in $PATH");
    spec = s;
    options = o;
    return nullptr;
  }
  int connect(const std::string& netns_path, uint16_t p, std::chrono::milliseconds) override {
    netns = netns_path;
    port = p;
    if (fail) throw std::runtime_error("dial tcp 127.0.0.1:" + std::to_string(p) + ": connect: connection refused");
    return 42;
  }
};

template <typename F>
int apiCode(F&& f) {
  try {
    f();
  } catch (const api::ApiError& e) {
    return e.code();
  }
  return 0;
}

api::ExecOptions cmd(std::vector<std::string> command, std::string container = "") {
  api::ExecOptions o;
  o.command = std::move(command);
  o.container = std::move(container);
  return o;
}

/// Reads `fd` (non-blocking) until EOF/EIO or `deadline_ms`.
std::string readAllFd(int fd, int deadline_ms = 5000) {
  std::string out;
  char buf[4096];
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    else if (n == 0 || (errno != EAGAIN && errno != EINTR)) break;  // EOF, or EIO on a pty master
  }
  return out;
}

bool waitExitFd(const api::ExecProcess& p, int ms = 5000) {
  pollfd pfd{p.exitFd(), POLLIN, 0};
  return ::poll(&pfd, 1, ms) == 1;
}

ProcessSpec plainSpec(std::vector<std::string> argv) {
  ProcessSpec s;
  s.argv = std::move(argv);
  s.env = {{"PATH", "/usr/bin:/bin"}, {"FOO", "bar"}};
  return s;
}

}  // namespace

TEST_CASE("pod exec: unknown pod/container 404, empty command and not running 400", "[runtime][exec]") {
  RuntimeFixture fx;
  RecordingExecLauncher launcher;
  RuntimePodExec exec(fx.api, *fx.worker, &launcher);
  CHECK(apiCode([&] { exec.exec("default", "nope", cmd({"ls"})); }) == 404);
  CHECK(apiCode([&] { exec.connect("default", "nope", 80); }) == 404);
  fx.create(RuntimeFixture::podManifest("web", {{"main", {"/bin/server"}}}));
  // Not synced yet: nothing runs.
  CHECK(apiCode([&] { exec.exec("default", "web", cmd({"ls"})); }) == 400);
  CHECK(apiCode([&] { exec.connect("default", "web", 80); }) == 400);
  fx.sync();
  CHECK(apiCode([&] { exec.exec("default", "web", cmd({"ls"}, "other")); }) == 404);
  CHECK(apiCode([&] { exec.exec("default", "web", cmd({})); }) == 400);
  CHECK(launcher.spec == std::nullopt);
  // The container exits: no longer running.
  fx.launcher.latest("/bin/server")->exit(0);
  fx.sync();
  try {
    exec.exec("default", "web", cmd({"ls"}, "main"));
    FAIL("exec into an exited container succeeded");
  } catch (const api::ApiError& e) {
    CHECK(e.code() == 400);
    CHECK(std::string(e.what()).find("container main is not running") != std::string::npos);
  }
}

TEST_CASE("pod exec: the command gets the container's own spec", "[runtime][exec]") {
  RuntimeFixture fx;
  RecordingExecLauncher launcher;
  RuntimePodExec exec(fx.api, *fx.worker, &launcher);
  Json pod = RuntimeFixture::podManifest("web", {{"main", {"/bin/server"}}, {"side", {"/bin/side"}}});
  pod["spec"]["containers"][1]["env"] = Json::array({{{"name", "GREETING"}, {"value", "hi"}}});
  pod["spec"]["containers"][1]["workingDir"] = "/srv";
  pod["spec"]["securityContext"] = {{"runAsUser", 1000}, {"runAsGroup", 1001}};
  fx.create(pod);
  fx.sync();
  REQUIRE(fx.get("web")["status"]["phase"] == "Running");

  auto o = cmd({"sh", "-c", "env"}, "side");
  o.tty = true;
  o.stdin = true;
  exec.exec("default", "web", o);
  REQUIRE(launcher.spec);
  const ProcessSpec& s = *launcher.spec;
  auto server = fx.launcher.latest("/bin/side");
  REQUIRE(server);
  CHECK(s.argv == std::vector<std::string>{"sh", "-c", "env"});
  CHECK(s.env == server->spec.env);
  CHECK(s.env.at("GREETING") == "hi");
  CHECK(s.working_dir == "/srv");
  CHECK(s.hostname == "web");
  CHECK(s.netns_path == server->spec.netns_path);
  CHECK(!s.netns_path.empty());
  CHECK(s.resolv_conf == server->spec.resolv_conf);
  CHECK(s.hosts == server->spec.hosts);
  CHECK(s.run_as_user == 1000u);
  CHECK(s.run_as_group == 1001u);
  CHECK(launcher.options.tty);
  CHECK(launcher.options.stdin);

  // No container named: the first one.
  exec.exec("default", "web", cmd({"true"}));
  CHECK(launcher.spec->working_dir == "/");
  CHECK(launcher.spec->env.count("GREETING") == 0);

  CHECK(exec.connect("default", "web", 8080) == 42);
  CHECK(launcher.netns == s.netns_path);
  CHECK(launcher.port == 8080);

  launcher.fail = true;
  try {
    exec.exec("default", "web", cmd({"foo"}));
    FAIL("no error");
  } catch (const api::ApiError& e) {
    CHECK(e.code() == 500);
    CHECK(std::string(e.what()) == "exec: \"foo\": executable file not found in $PATH");
  }
  try {
    exec.connect("default", "web", 80);
    FAIL("no error");
  } catch (const api::ApiError& e) {
    CHECK(e.code() == 500);
    CHECK(std::string(e.what()).rfind("error forwarding port 80 to pod default/web, uid ", 0) == 0);
    CHECK(std::string(e.what()).find(": dial tcp 127.0.0.1:80: connect: connection refused") != std::string::npos);
  }
  // Deleted and gone from the worker: 404 again.
  fx.api.remove(pods(), "default", "web");
  fx.sync(3);
  fx.launcher.latest("/bin/server")->exit(0);
  fx.launcher.latest("/bin/side")->exit(0);
  fx.sync(3);
  CHECK(apiCode([&] { exec.exec("default", "web", cmd({"ls"})); }) == 404);
}

TEST_CASE("exec launcher: pipes carry stdout, stderr, stdin and the exit code", "[runtime][exec]") {
  auto launcher = makeLinuxExecLauncher();
  api::ExecOptions o;
  auto p = launcher->start(plainSpec({"sh", "-c", "echo out; echo err >&2; exit 3"}), o);
  CHECK(p->stdinFd() == -1);
  CHECK(readAllFd(p->stdoutFd()) == "out\n");
  CHECK(readAllFd(p->stderrFd()) == "err\n");
  REQUIRE(waitExitFd(*p));
  CHECK(p->wait() == 3);
  CHECK(p->wait() == 3);

  o.stdin = true;
  o.stderr = false;
  auto cat = launcher->start(plainSpec({"cat"}), o);
  CHECK(cat->stderrFd() == -1);
  REQUIRE(::write(cat->stdinFd(), "hello\n", 6) == 6);
  cat->closeStdin();
  CHECK(cat->stdinFd() == -1);
  CHECK(readAllFd(cat->stdoutFd()) == "hello\n");
  REQUIRE(waitExitFd(*cat));
  CHECK(cat->wait() == 0);

  ProcessSpec env = plainSpec({"sh", "-c", "echo $FOO; pwd"});
  env.working_dir = "/tmp";
  auto e = launcher->start(env, api::ExecOptions{});
  CHECK(readAllFd(e->stdoutFd()) == "bar\n/tmp\n");
  CHECK(e->wait() == 0);
}

TEST_CASE("exec launcher: a tty session sees a terminal of the size set", "[runtime][exec]") {
  auto launcher = makeLinuxExecLauncher();
  api::ExecOptions o;
  o.tty = true;
  o.stdin = true;
  auto p = launcher->start(plainSpec({"sh", "-c", "read x; tty; stty size; echo got=$x"}), o);
  CHECK(p->stderrFd() == -1);
  REQUIRE(p->stdinFd() >= 0);
  p->resize(100, 40);
  REQUIRE(::write(p->stdinFd(), "abc\n", 4) == 4);
  std::string out = readAllFd(p->stdoutFd());
  CHECK(out.find("/dev/pts/") != std::string::npos);
  CHECK(out.find("40 100") != std::string::npos);
  CHECK(out.find("got=abc") != std::string::npos);
  REQUIRE(waitExitFd(*p));
  CHECK(p->wait() == 0);
}

TEST_CASE("exec launcher: kill, the destructor, a missing command", "[runtime][exec]") {
  auto launcher = makeLinuxExecLauncher();
  auto p = launcher->start(plainSpec({"sleep", "100"}), api::ExecOptions{});
  CHECK_FALSE(waitExitFd(*p, 50));
  p->kill();
  REQUIRE(waitExitFd(*p));
  CHECK(p->wait() == 128 + SIGKILL);

  auto q = launcher->start(plainSpec({"sh", "-c", "echo $$; exec sleep 100"}), api::ExecOptions{});
  std::string line;
  char c;
  for (int i = 0; i < 500 && line.find('\n') == std::string::npos; ++i) {
    if (::read(q->stdoutFd(), &c, 1) == 1) line += c;
    else ::usleep(10000);
  }
  int pid = std::stoi(line);
  CHECK(::kill(pid, 0) == 0);
  q.reset();
  CHECK(::kill(pid, 0) != 0);  // killed and reaped

  try {
    launcher->start(plainSpec({"no-such-command-xyz"}), api::ExecOptions{});
    FAIL("started a missing command");
  } catch (const StartError& e) {
    CHECK(std::string(e.what()) == "exec: \"no-such-command-xyz\": executable file not found in $PATH");
  }
  ProcessSpec bad = plainSpec({"true"});
  bad.working_dir = "/no/such/dir";
  CHECK_THROWS_WITH(launcher->start(bad, api::ExecOptions{}), Catch::Contains("chdir to workingDir"));
}

TEST_CASE("exec launcher: connect dials 127.0.0.1 and names a refused port", "[runtime][exec]") {
  int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(l >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(l, 4) == 0);
  socklen_t len = sizeof a;
  ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);
  auto launcher = makeLinuxExecLauncher();
  int fd = launcher->connect("", port, std::chrono::seconds(2));
  REQUIRE(fd >= 0);
  int accepted = ::accept(l, nullptr, nullptr);
  CHECK(accepted >= 0);
  ::close(accepted);
  ::close(fd);
  ::close(l);  // now nothing listens there
  CHECK_THROWS_WITH(launcher->connect("", port, std::chrono::seconds(2)),
                    "dial tcp 127.0.0.1:" + std::to_string(port) + ": connect: connection refused");
}
