// The real launcher without namespaces (no root needed): exit codes, output, errors, signals.
#include "runtime/process_launcher.h"

#include <catch2/catch.hpp>

#include <signal.h>

#include <thread>

using namespace minikd::runtime;
using namespace std::chrono_literals;

namespace {
ProcessSpec shell(const std::string& script) {
  ProcessSpec s;
  s.argv = {"sh", "-c", script};
  s.env = {{"PATH", "/usr/bin:/bin"}, {"GREETING", "hi"}};
  s.working_dir = "/tmp";
  return s;
}
}  // namespace

TEST_CASE("linux launcher: exit code, env, working dir and output", "[runtime]") {
  auto launcher = makeLinuxProcessLauncher();
  RunResult r = runToCompletion(*launcher, shell("echo $GREETING; pwd; echo err >&2; exit 3"), 5s);
  REQUIRE(r.status);
  CHECK(r.status->code == 3);
  CHECK(r.output.find("hi\n") != std::string::npos);
  CHECK(r.output.find("/tmp\n") != std::string::npos);
  CHECK(r.output.find("err\n") != std::string::npos);
}

TEST_CASE("linux launcher: a missing command or working dir is a StartError", "[runtime]") {
  auto launcher = makeLinuxProcessLauncher();
  ProcessSpec s = shell("true");
  s.argv = {"definitely-not-a-command-xyz"};
  CHECK_THROWS_AS(launcher->start(s), StartError);
  try {
    launcher->start(s);
  } catch (const StartError& e) {
    CHECK(e.reason() == "RunContainerError");
    CHECK(std::string(e.what()).find("definitely-not-a-command-xyz") != std::string::npos);
  }
  s = shell("true");
  s.working_dir = "/no/such/dir";
  CHECK_THROWS_WITH(launcher->start(s), Catch::Contains("workingDir"));
}

TEST_CASE("linux launcher: signals reach the whole process group - timeouts kill", "[runtime]") {
  auto launcher = makeLinuxProcessLauncher();
  auto p = launcher->start(shell("sleep 30 & sleep 30 & wait"));
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(p->poll());
  p->signal(SIGTERM);
  std::optional<ExitStatus> st;
  for (int i = 0; i < 200 && !(st = p->poll()); ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(st);
  CHECK(st->signal == SIGTERM);
  CHECK(st->code == 128 + SIGTERM);
  // The group is gone too: no "sleep 30" of ours is left.
  bool group_gone = false;
  for (int i = 0; i < 200 && !group_gone; ++i) {
    group_gone = ::kill(-p->pid(), 0) != 0;
    if (!group_gone) std::this_thread::sleep_for(10ms);
  }
  CHECK(group_gone);

  RunResult r = runToCompletion(*launcher, shell("sleep 10"), 200ms);
  CHECK_FALSE(r.status);
}
