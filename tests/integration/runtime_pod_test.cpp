// Root integration tests of the runtime: a real PodWorker over a real LinuxPodNetwork and the
// Boost.Process launcher, against an in-memory store (fixture and address plan: runtime_env.h,
// tag "r", pods in 10.251.<PID % 250>.0/24).
#include "integration/runtime_env.h"
#include "runtime/pod_logs.h"

#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

using namespace minikd;
using api::Json;
using namespace std::chrono_literals;

namespace {

const api::ResourceInfo& podsR() { return *api::findResource("", "pods"); }

/// The runtime fixture (tag "r", 10.251/16) with fast back-off and the pod log reader.
struct RuntimeEnv : testing::RuntimeEnv {
  std::unique_ptr<runtime::RuntimePodLogs> logs;

  RuntimeEnv()
      : testing::RuntimeEnv("r", 251, [](runtime::RuntimeConfig& c) {
          c.backoff_base = 1s;
          c.backoff_max = 8s;
          c.shutdown_grace = 3s;
        }) {
    logs = std::make_unique<runtime::RuntimePodLogs>(api, clock, state_dir, 20ms);
  }

  Json create(const std::string& name, Json containers, Json extra = Json::object()) {
    Json spec = {{"containers", containers}};
    spec.update(extra);
    return api.create(podsR(), "default",
                      {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}}, {"spec", spec}});
  }
  std::optional<Json> get(const std::string& name) { return store.get("pods", "default", name); }
  /// Waits up to `timeout` for `pred(pod)`; returns the pod that satisfied it (REQUIREs it).
  Json waitFor(const std::string& name, const std::function<bool(const Json&)>& pred, std::chrono::seconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto p = get(name); p && pred(*p)) return *p;
      std::this_thread::sleep_for(20ms);
    }
    auto p = get(name);
    FAIL("pod " << name << " did not reach the expected state; now: " << (p ? p->value("status", Json()).dump() : "gone"));
    return Json();
  }
  std::string logOf(const std::string& pod, const std::string& container) {
    std::string out;
    api::LogOptions o;
    o.container = container;
    logs->stream("default", pod, o, [&](std::string_view d) {
      out.append(d);
      return true;
    });
    return out;
  }
  /// Waits until the container's log contains `text`.
  std::string waitForLog(const std::string& pod, const std::string& container, const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string out;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        out = logOf(pod, container);
      } catch (const std::exception&) {
      }
      if (out.find(text) != std::string::npos) return out;
      std::this_thread::sleep_for(50ms);
    }
    FAIL("log of " << pod << "/" << container << " lacks \"" << text << "\": " << out);
    return out;
  }
};

Json container(const std::string& name, std::vector<std::string> cmd) {
  return {{"name", name}, {"image", "host"}, {"command", cmd}};
}

bool running(const Json& p) { return p.value("status", Json::object()).value("phase", "") == "Running"; }
std::string condition(const Json& pod, const std::string& type) {
  for (const auto& c : pod["status"].value("conditions", Json::array()))
    if (c["type"] == type) return c["status"];
  return "";
}
Json status(const Json& pod, const std::string& name) {
  for (const auto& cs : pod["status"].value("containerStatuses", Json::array()))
    if (cs["name"] == name) return cs;
  return Json::object();
}

const char* kServer =
    "import socket\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8080)); s.listen()\n"
    "while True:\n"
    "  c,_=s.accept(); c.sendall(b'hello from ' + socket.gethostname().encode() + b'\\n'); c.close()\n";

std::string clientScript(const std::string& host) {
  return "import socket,time\n"
         "for i in range(100):\n"
         "  try:\n"
         "    c=socket.create_connection(('" + host + "', 8080), timeout=1); print('got:', c.recv(100).decode().strip(), flush=True); break\n"
         "  except OSError as e:\n"
         "    time.sleep(0.1)\n"
         "time.sleep(1000)\n";
}

}  // namespace

TEST_CASE("runtime: pods talk over TCP by IP, share localhost, see their resolv.conf and hostname", "[runtime]") {
  RuntimeEnv env;
  env.create("srv", Json::array({container("server", {"/usr/bin/python3", "-c", kServer}),
                                 container("local", {"/usr/bin/python3", "-c", clientScript("127.0.0.1")})}));
  Json srv = env.waitFor("srv", [](const Json& p) { return running(p) && p["status"].contains("podIP"); });
  std::string ip = srv["status"]["podIP"];
  env.create("cli", Json::array({container("c", {"/bin/sh", "-c",
                                                 "cat /etc/resolv.conf; echo host=$(hostname); exec /usr/bin/python3 -c \"$0\"",
                                                 clientScript(ip)})}));
  env.waitFor("cli", running);
  CHECK(env.waitForLog("srv", "local", "got: hello from srv").find("got: hello from srv") != std::string::npos);
  std::string cli = env.waitForLog("cli", "c", "got: hello from srv");
  CHECK(cli.find("nameserver 10.96.0.10\n") != std::string::npos);
  CHECK(cli.find("search default.svc.cluster.local svc.cluster.local cluster.local\n") != std::string::npos);
  CHECK(cli.find("options ndots:5\n") != std::string::npos);
  CHECK(cli.find("host=cli\n") != std::string::npos);
  CHECK(env.get("cli")->at("status")["podIP"] != ip);
}

TEST_CASE("runtime: a crashing container restarts with growing back-off", "[runtime]") {
  RuntimeEnv env;
  auto t0 = std::chrono::steady_clock::now();
  env.create("crash", Json::array({container("c", {"/bin/sh", "-c", "echo boom; exit 3"})}));
  Json p = env.waitFor("crash", [](const Json& p) { return status(p, "c").value("restartCount", 0) >= 2; }, 15s);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  CHECK(elapsed >= 2900ms);  // 1 s then 2 s of back-off
  Json cs = status(p, "c");
  CHECK(cs["lastState"]["terminated"]["exitCode"] == 3);
  CHECK(cs["lastState"]["terminated"]["reason"] == "Error");
  // A missing command is a waiting reason, not a crash of minikd.
  env.create("missing", Json::array({container("c", {"no-such-command-xyz"})}));
  Json m = env.waitFor("missing", [](const Json& p) { return status(p, "c")["state"].contains("waiting") &&
                                                       status(p, "c")["state"]["waiting"].value("reason", "") == "RunContainerError"; });
  CHECK(status(m, "c")["state"]["waiting"]["message"].get<std::string>().find("no-such-command-xyz") != std::string::npos);
}

TEST_CASE("runtime: readiness flips Ready both ways - liveness restarts", "[runtime]") {
  RuntimeEnv env;
  std::string flag = env.state_dir + "/ready-flag";
  Json c = container("c", {"/bin/sleep", "1000"});
  c["readinessProbe"] = {{"exec", {{"command", {"/bin/test", "-f", flag}}}}, {"periodSeconds", 1}, {"failureThreshold", 1}};
  env.create("ready", Json::array({c}));
  env.waitFor("ready", [](const Json& p) { return running(p) && condition(p, "Ready") == "False"; });
  std::ofstream(flag) << "x";
  env.waitFor("ready", [](const Json& p) { return condition(p, "Ready") == "True"; });
  std::filesystem::remove(flag);
  env.waitFor("ready", [](const Json& p) { return condition(p, "Ready") == "False"; });

  Json l = container("c", {"/bin/sleep", "1000"});
  l["livenessProbe"] = {{"tcpSocket", {{"port", 8081}}}, {"periodSeconds", 1}, {"failureThreshold", 1}};
  env.create("live", Json::array({l}), {{"terminationGracePeriodSeconds", 1}});
  Json p = env.waitFor("live", [](const Json& p) { return status(p, "c").value("restartCount", 0) >= 1; }, 15s);
  CHECK(status(p, "c")["lastState"]["terminated"]["exitCode"] == 143);
}

TEST_CASE("runtime: a process ignoring SIGTERM is killed after the grace period - stopAll leaves nothing", "[runtime]") {
  RuntimeEnv env;
  env.create("stubborn", Json::array({container("c", {"/bin/sh", "-c", "trap '' TERM; /bin/sleep 1000"})}),
             {{"terminationGracePeriodSeconds", 2}});
  env.create("other", Json::array({container("c", {"/bin/sleep", "1000"})}));
  env.waitFor("stubborn", running);
  env.waitFor("other", running);
  auto sandboxes = env.network->listSandboxes();
  CHECK(sandboxes.size() == 2);
  std::vector<int> pids;
  for (const auto& name : {"stubborn", "other"}) {
    std::string id = status(*env.get(name), "c")["containerID"];
    pids.push_back(std::stoi(id.substr(id.find("://") + 3)));
  }
  std::this_thread::sleep_for(300ms);  // let the shell install its trap
  auto t0 = std::chrono::steady_clock::now();
  env.api.remove(podsR(), "default", "stubborn");
  auto deadline = t0 + 10s;
  while (env.get("stubborn") && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK_FALSE(env.get("stubborn"));
  CHECK(took >= 1900ms);
  CHECK(::kill(pids[0], 0) != 0);
  CHECK(env.network->listSandboxes().size() == 1);

  env.thread.request_stop();
  env.thread.join();
  env.worker->stopAll();
  CHECK(env.network->listSandboxes().empty());
  CHECK(::kill(pids[1], 0) != 0);
  CHECK(env.get("other"));  // the store keeps the pod
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec))
    CHECK(e.path().filename().string().rfind(env.net_config.netns_prefix, 0) != 0);
}
