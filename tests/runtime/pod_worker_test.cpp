#include "runtime_fixture.h"

#include <signal.h>

#include <fstream>
#include <sstream>

using namespace minikd::runtime;
using namespace minikd::runtime::testing;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

TEST_CASE("an unscheduled pod is bound to this node and started in its sandbox", "[runtime]") {
  RuntimeFixture fx;
  fx.create(RuntimeFixture::podManifest("web", {{"main", {"/bin/server", "--port", "80"}}}));
  fx.sync();

  Json pod = fx.get("web");
  CHECK(pod["spec"]["nodeName"] == "node1");
  CHECK(RuntimeFixture::condition(pod, "PodScheduled") == "True");
  CHECK(fx.events("web", "Scheduled") == 1);
  std::string ip = pod["status"]["podIP"];
  CHECK(ip.rfind("10.244.", 0) == 0);
  CHECK(pod["status"]["podIPs"][0]["ip"] == ip);
  CHECK(pod["status"]["hostIP"] == "192.168.1.5");
  CHECK(pod["status"].contains("startTime"));
  CHECK(pod["status"]["phase"] == "Running");
  CHECK(RuntimeFixture::condition(pod, "Ready") == "True");
  CHECK(RuntimeFixture::condition(pod, "ContainersReady") == "True");
  CHECK(RuntimeFixture::condition(pod, "Initialized") == "True");
  Json cs = RuntimeFixture::containerStatus(pod, "main");
  CHECK(cs["state"].contains("running"));
  CHECK(cs["ready"] == true);
  CHECK(cs["started"] == true);
  CHECK(cs["restartCount"] == 0);
  CHECK(fx.events("web", "Started") == 1);

  auto sandboxes = fx.network.sandboxes();
  REQUIRE(sandboxes.size() == 1);
  CHECK(sandboxes.begin()->second.ip == ip);
  auto proc = fx.launcher.latest("/bin/server");
  REQUIRE(proc);
  CHECK(proc->spec.argv == std::vector<std::string>{"/bin/server", "--port", "80"});
  CHECK(proc->spec.netns_path == sandboxes.begin()->second.netns_path);
  CHECK(proc->spec.hostname == "web");
  CHECK(proc->spec.env.at("HOSTNAME") == "web");
  CHECK(slurp(proc->spec.resolv_conf) ==
        "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n");
  CHECK(slurp(proc->spec.hosts).find(ip + "\tweb\n") != std::string::npos);
  CHECK(proc->spec.resolv_conf.rfind(fx.dir.path + "/pods/default_web_", 0) == 0);
}

TEST_CASE("pods of other nodes are left alone", "[runtime]") {
  RuntimeFixture fx;
  Json m = RuntimeFixture::podManifest("elsewhere", {{"c", {"/bin/x"}}});
  m["spec"]["nodeName"] = "node2";
  fx.create(m);
  fx.sync();
  CHECK(fx.launcher.started().empty());
  CHECK_FALSE(fx.get("elsewhere").value("status", Json::object()).contains("podIP"));
}

TEST_CASE("a crashing container restarts with growing back-off and keeps its last state", "[runtime]") {
  RuntimeFixture fx;
  fx.create(RuntimeFixture::podManifest("crash", {{"c", {"/bin/crash"}}}));
  fx.sync();
  fx.launcher.latest("/bin/crash")->exit(2);
  fx.sync();

  Json cs = RuntimeFixture::containerStatus(fx.get("crash"), "c");
  CHECK(cs["state"]["waiting"]["reason"] == "CrashLoopBackOff");
  CHECK(cs["lastState"]["terminated"]["exitCode"] == 2);
  CHECK(cs["lastState"]["terminated"]["reason"] == "Error");
  CHECK(cs["restartCount"] == 0);
  CHECK(fx.events("crash", "BackOff") == 1);
  CHECK(fx.get("crash")["status"]["phase"] == "Running");

  fx.advance(9s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 1);
  fx.advance(1s);
  REQUIRE(fx.launcher.startedWith("/bin/crash").size() == 2);
  cs = RuntimeFixture::containerStatus(fx.get("crash"), "c");
  CHECK(cs["restartCount"] == 1);
  CHECK(cs["state"].contains("running"));
  CHECK(cs["lastState"]["terminated"]["exitCode"] == 2);

  // Second crash: 20 s.
  fx.launcher.latest("/bin/crash")->exit(3);
  fx.sync();
  fx.advance(19s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 2);
  fx.advance(1s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 3);
  cs = RuntimeFixture::containerStatus(fx.get("crash"), "c");
  CHECK(cs["restartCount"] == 2);
  CHECK(cs["lastState"]["terminated"]["exitCode"] == 3);

  // Third crash: 40 s; then back-off is capped at 5 min.
  fx.launcher.latest("/bin/crash")->exit(1);
  fx.sync();
  fx.advance(39s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 3);
  fx.advance(1s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 4);
  for (int i = 0; i < 6; ++i) {
    fx.launcher.latest("/bin/crash")->exit(1);
    fx.sync();
    fx.advance(300s);
  }
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 10);
  fx.launcher.latest("/bin/crash")->exit(1);
  fx.sync();
  fx.advance(299s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 10);  // capped at 300 s, not 320+ s… but not less
  fx.advance(1s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 11);

  // Running for 10 minutes resets the back-off to 10 s.
  fx.advance(601s);
  fx.launcher.latest("/bin/crash")->exit(1);
  fx.sync();
  fx.advance(10s);
  CHECK(fx.launcher.startedWith("/bin/crash").size() == 12);
}

TEST_CASE("restartPolicy Never and OnFailure", "[runtime]") {
  RuntimeFixture fx;
  Json never = RuntimeFixture::podManifest("never", {{"c", {"/bin/job"}}});
  never["spec"]["restartPolicy"] = "Never";
  fx.create(never);
  Json onfail = RuntimeFixture::podManifest("onfail", {{"c", {"/bin/flaky"}}});
  onfail["spec"]["restartPolicy"] = "OnFailure";
  fx.create(onfail);
  fx.sync();
  std::string never_ip = fx.get("never")["status"]["podIP"];

  fx.launcher.latest("/bin/job")->exit(0);
  fx.launcher.latest("/bin/flaky")->exit(1);
  fx.sync();
  Json pod = fx.get("never");
  CHECK(pod["status"]["phase"] == "Succeeded");
  CHECK(RuntimeFixture::containerStatus(pod, "c")["state"]["terminated"]["reason"] == "Completed");
  CHECK(RuntimeFixture::condition(pod, "Ready") == "False");
  CHECK(pod["status"]["podIP"] == never_ip);  // kept in the status
  CHECK(fx.network.sandboxes().size() == 1);   // only onfail's sandbox remains
  CHECK_FALSE(fx.ipam.holder(never_ip).has_value());

  fx.advance(10s);
  CHECK(fx.launcher.startedWith("/bin/flaky").size() == 2);
  fx.launcher.latest("/bin/flaky")->exit(0);
  fx.sync();
  CHECK(fx.get("onfail")["status"]["phase"] == "Succeeded");
  fx.advance(60s);
  CHECK(fx.launcher.startedWith("/bin/flaky").size() == 2);
  CHECK(fx.network.sandboxes().empty());

  Json failing = RuntimeFixture::podManifest("failing", {{"c", {"/bin/bad"}}});
  failing["spec"]["restartPolicy"] = "Never";
  fx.create(failing);
  fx.sync();
  fx.launcher.latest("/bin/bad")->exit(7);
  fx.sync();
  CHECK(fx.get("failing")["status"]["phase"] == "Failed");
}

TEST_CASE("init containers run in order, each to success, before the containers", "[runtime]") {
  RuntimeFixture fx;
  Json m = RuntimeFixture::podManifest("init", {{"app", {"/bin/app"}}});
  m["spec"]["initContainers"] = Json::array({{{"name", "one"}, {"image", "x"}, {"command", {"/bin/one"}}},
                                             {{"name", "two"}, {"image", "x"}, {"command", {"/bin/two"}}}});
  fx.create(m);
  fx.sync();
  CHECK(fx.launcher.started().size() == 1);
  REQUIRE(fx.launcher.latest("/bin/one"));
  Json pod = fx.get("init");
  CHECK(pod["status"]["phase"] == "Pending");
  CHECK(RuntimeFixture::condition(pod, "Initialized") == "False");

  fx.launcher.latest("/bin/one")->exit(1);  // fails: retried with back-off
  fx.sync();
  CHECK_FALSE(fx.launcher.latest("/bin/two"));
  fx.advance(10s);
  CHECK(fx.launcher.startedWith("/bin/one").size() == 2);
  fx.launcher.latest("/bin/one")->exit(0);
  fx.sync();
  REQUIRE(fx.launcher.latest("/bin/two"));
  CHECK_FALSE(fx.launcher.latest("/bin/app"));
  fx.launcher.latest("/bin/two")->exit(0);
  fx.sync();
  REQUIRE(fx.launcher.latest("/bin/app"));
  pod = fx.get("init");
  CHECK(pod["status"]["phase"] == "Running");
  CHECK(RuntimeFixture::condition(pod, "Initialized") == "True");
  Json one = RuntimeFixture::containerStatus(pod, "one", "initContainerStatuses");
  CHECK(one["restartCount"] == 1);
  CHECK(one["state"]["terminated"]["reason"] == "Completed");
  CHECK(one["ready"] == true);
}

TEST_CASE("env: value, fieldRef, configMapKeyRef, secretKeyRef and $(VAR)", "[runtime]") {
  RuntimeFixture fx;
  Json m = RuntimeFixture::podManifest("env", {{"c", {"/bin/env", "$(GREETING)-$(MY_IP)", "$$(LITERAL)"}}});
  m["spec"]["containers"][0]["env"] = Json::array({
      {{"name", "GREETING"}, {"value", "hello"}},
      {{"name", "MY_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
      {{"name", "MY_NS"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}},
      {{"name", "MY_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
      {{"name", "MY_NODE"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}},
      {{"name", "COLOR"}, {"valueFrom", {{"configMapKeyRef", {{"name", "cfg"}, {"key", "color"}}}}}},
      {{"name", "PASSWORD"}, {"valueFrom", {{"secretKeyRef", {{"name", "sec"}, {"key", "password"}}}}}},
  });
  fx.create(m);
  fx.sync();
  Json cs = RuntimeFixture::containerStatus(fx.get("env"), "c");
  CHECK(cs["state"]["waiting"]["reason"] == "CreateContainerConfigError");
  CHECK(cs["state"]["waiting"]["message"] == "configmap \"cfg\" not found");
  CHECK(fx.launcher.started().empty());
  CHECK(fx.events("env", "Failed") == 1);

  fx.api.create(*minikd::api::findResource("", "configmaps"), "default",
                {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "cfg"}}}, {"data", {{"color", "blue"}}}});
  fx.api.create(*minikd::api::findResource("", "secrets"), "default",
                {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "sec"}}}, {"data", {{"password", "czNjcmV0"}}}});
  fx.advance(1s);
  auto proc = fx.launcher.latest("/bin/env");
  REQUIRE(proc);
  std::string ip = fx.get("env")["status"]["podIP"];
  const auto& env = proc->spec.env;
  CHECK(env.at("GREETING") == "hello");
  CHECK(env.at("MY_NAME") == "env");
  CHECK(env.at("MY_NS") == "default");
  CHECK(env.at("MY_IP") == ip);
  CHECK(env.at("MY_NODE") == "node1");
  CHECK(env.at("COLOR") == "blue");
  CHECK(env.at("PASSWORD") == "s3cret");
  CHECK(proc->spec.argv == std::vector<std::string>{"/bin/env", "hello-" + ip, "$(LITERAL)"});
}

TEST_CASE("securityContext and workingDir reach the launcher", "[runtime]") {
  RuntimeFixture fx;
  Json m = RuntimeFixture::podManifest("sec", {{"c", {"/bin/x"}}});
  m["spec"]["securityContext"] = {{"runAsUser", 1000}, {"runAsGroup", 1000}};
  m["spec"]["containers"][0]["securityContext"] = {{"runAsUser", 1234}};
  m["spec"]["containers"][0]["workingDir"] = "/tmp";
  fx.create(m);
  fx.sync();
  auto proc = fx.launcher.latest("/bin/x");
  REQUIRE(proc);
  CHECK(proc->spec.run_as_user == 1234u);
  CHECK(proc->spec.run_as_group == 1000u);
  CHECK(proc->spec.working_dir == "/tmp");
}

TEST_CASE("a command that cannot start is a waiting reason, retried with back-off", "[runtime]") {
  RuntimeFixture fx;
  fx.launcher.failCommand("nope");
  fx.create(RuntimeFixture::podManifest("bad", {{"c", {"nope"}}}));
  fx.sync();
  Json cs = RuntimeFixture::containerStatus(fx.get("bad"), "c");
  CHECK(cs["state"]["waiting"]["reason"] == "RunContainerError");
  CHECK(cs["state"]["waiting"]["message"].get<std::string>().find("nope") != std::string::npos);
  CHECK(cs["lastState"]["terminated"]["reason"] == "StartError");
  CHECK(fx.events("bad", "Failed") >= 1);
  CHECK(fx.get("bad")["status"]["phase"] == "Pending");
  fx.advance(5s);
  CHECK(RuntimeFixture::containerStatus(fx.get("bad"), "c")["restartCount"] == 0);
  fx.advance(5s);
  CHECK(RuntimeFixture::containerStatus(fx.get("bad"), "c")["restartCount"] == 1);
}

TEST_CASE("graceful delete: SIGTERM, grace period, SIGKILL, then sandbox, IP and object", "[runtime]") {
  RuntimeFixture fx;
  fx.launcher.ignoreSigterm("/bin/stubborn");
  Json m = RuntimeFixture::podManifest("gd", {{"a", {"/bin/polite"}}, {"b", {"/bin/stubborn"}}});
  m["spec"]["terminationGracePeriodSeconds"] = 20;
  fx.create(m);
  fx.sync();
  std::string ip = fx.get("gd")["status"]["podIP"];
  REQUIRE(fx.ipam.holder(ip));

  fx.api.remove(pods(), "default", "gd");
  REQUIRE(fx.find("gd"));  // only marked
  fx.sync();
  auto polite = fx.launcher.latest("/bin/polite");
  auto stubborn = fx.launcher.latest("/bin/stubborn");
  CHECK(polite->signals == std::vector<int>{SIGTERM});
  CHECK(stubborn->signals == std::vector<int>{SIGTERM});
  CHECK(fx.events("gd", "Killing") == 2);
  CHECK(fx.find("gd"));
  CHECK(fx.network.sandboxes().size() == 1);

  fx.advance(19s);
  CHECK(stubborn->signals.size() == 1);
  CHECK(fx.find("gd"));
  fx.advance(1s);
  CHECK(stubborn->signals.back() == SIGKILL);
  fx.sync();
  CHECK_FALSE(fx.find("gd"));
  CHECK(fx.network.sandboxes().empty());
  CHECK_FALSE(fx.ipam.holder(ip));
  CHECK(fx.launcher.running() == 0);
  CHECK(fx.worker->trackedPods() == 0);
}

TEST_CASE("a sandbox failure is retried and reported as an event", "[runtime]") {
  RuntimeFixture fx;
  fx.network.failEnsure(1);
  fx.create(RuntimeFixture::podManifest("sb", {{"c", {"/bin/x"}}}));
  fx.sync();
  CHECK(fx.launcher.started().empty());
  CHECK(fx.events("sb", "FailedCreatePodSandBox") == 1);
  CHECK(fx.get("sb")["status"]["phase"] == "Pending");
  fx.sync();
  CHECK(fx.launcher.started().size() == 1);
}

TEST_CASE("readiness drives Ready both ways - liveness failure restarts", "[runtime]") {
  RuntimeFixture fx;
  Json m = RuntimeFixture::podManifest("probed", {{"c", {"/bin/srv"}}});
  m["spec"]["containers"][0]["readinessProbe"] = {{"exec", {{"command", {"ready-check"}}}}, {"periodSeconds", 1},
                                                  {"failureThreshold", 2}};
  m["spec"]["containers"][0]["livenessProbe"] = {{"httpGet", {{"path", "/healthz"}, {"port", 8080}}},
                                                 {"initialDelaySeconds", 5}, {"periodSeconds", 1}, {"failureThreshold", 3}};
  fx.prober.set("ready-check", false);
  fx.create(m);
  fx.sync();
  Json pod = fx.get("probed");
  CHECK(pod["status"]["phase"] == "Running");
  CHECK(RuntimeFixture::condition(pod, "Ready") == "False");
  CHECK(RuntimeFixture::containerStatus(pod, "c")["ready"] == false);

  fx.prober.set("ready-check", true);
  fx.advance(1s);
  CHECK(RuntimeFixture::condition(fx.get("probed"), "Ready") == "True");
  CHECK(RuntimeFixture::condition(fx.get("probed"), "ContainersReady") == "True");
  CHECK(fx.prober.lastContext("ready-check").exec_base.netns_path != "");

  fx.prober.set("ready-check", false);
  fx.advance(1s);
  CHECK(RuntimeFixture::condition(fx.get("probed"), "Ready") == "True");  // one failure < threshold 2
  fx.advance(1s);
  CHECK(RuntimeFixture::condition(fx.get("probed"), "Ready") == "False");
  CHECK(fx.events("probed", "Unhealthy") >= 2);
  fx.prober.set("ready-check", true);

  // Liveness: not before initialDelaySeconds; three failures kill and restart.
  CHECK(fx.prober.calls("/healthz") == 0);
  fx.advance(3s);
  CHECK(fx.prober.calls("/healthz") >= 1);
  CHECK(fx.prober.lastContext("/healthz").pod_ip == fx.get("probed")["status"]["podIP"]);
  fx.prober.set("/healthz", false);
  fx.advance(1s);
  fx.advance(1s);
  auto first = fx.launcher.startedWith("/bin/srv").front();
  CHECK(first->signals.empty());
  fx.advance(1s);
  CHECK(first->signals == std::vector<int>{SIGTERM});
  CHECK(fx.events("probed", "Killing") == 1);
  fx.prober.set("/healthz", true);
  fx.advance(10s);
  CHECK(fx.launcher.startedWith("/bin/srv").size() == 2);
  Json cs = RuntimeFixture::containerStatus(fx.get("probed"), "c");
  CHECK(cs["restartCount"] == 1);
  CHECK(cs["lastState"]["terminated"]["exitCode"] == 143);
}

TEST_CASE("a startup probe gates liveness and readiness", "[runtime]") {
  RuntimeFixture fx;
  Json m = RuntimeFixture::podManifest("slow", {{"c", {"/bin/slow"}}});
  m["spec"]["containers"][0]["startupProbe"] = {{"tcpSocket", {{"port", 9000}}}, {"periodSeconds", 1}, {"failureThreshold", 30}};
  m["spec"]["containers"][0]["readinessProbe"] = {{"exec", {{"command", {"ready"}}}}, {"periodSeconds", 1}};
  fx.prober.set("tcp:9000", false);
  fx.create(m);
  fx.sync();
  fx.advance(1s);
  CHECK(RuntimeFixture::containerStatus(fx.get("slow"), "c")["started"] == false);
  CHECK(fx.prober.calls("ready") == 0);
  fx.prober.set("tcp:9000", true);
  fx.advance(1s);
  fx.advance(1s);
  Json cs = RuntimeFixture::containerStatus(fx.get("slow"), "c");
  CHECK(cs["started"] == true);
  CHECK(cs["ready"] == true);
  CHECK(fx.prober.calls("ready") >= 1);
}

TEST_CASE("pod IPs survive a restart of the worker", "[runtime]") {
  RuntimeFixture fx;
  fx.create(RuntimeFixture::podManifest("keep", {{"c", {"/bin/x"}}}));
  fx.sync();
  std::string ip = fx.get("keep")["status"]["podIP"];
  fx.worker->stopAll();
  CHECK(fx.network.sandboxes().empty());
  CHECK(fx.find("keep"));
  CHECK(fx.launcher.running() == 0);

  // A fresh worker and IPAM (as after `minikd up`): the address is reserved again before any new pod.
  minikd::net::Ipam ipam2 = minikd::net::Ipam::forGateway("10.244.0.1", 16);
  PodWorker worker2(fx.api, fx.network, ipam2, fx.launcher, fx.clock, fx.config, &fx.prober);
  fx.create(RuntimeFixture::podManifest("newcomer", {{"c", {"/bin/y"}}}));
  worker2.syncOnce();
  CHECK(fx.get("keep")["status"]["podIP"] == ip);
  CHECK(fx.get("newcomer")["status"]["podIP"] != ip);
  CHECK(fx.network.sandboxes().size() == 2);
  CHECK(RuntimeFixture::containerStatus(fx.get("keep"), "c")["restartCount"] == 1);
  worker2.stopAll();
}

TEST_CASE("cleanupLeftovers removes sandboxes left by a crashed run", "[runtime]") {
  RuntimeFixture fx;
  fx.network.addLeftover("deadbeef0001", "10.244.0.9");
  fx.network.addLeftover("deadbeef0002", "10.244.0.10");
  fx.worker->cleanupLeftovers();
  CHECK(fx.network.sandboxes().empty());
}

TEST_CASE("a pod deleted at once (forced) is stopped and cleaned up", "[runtime]") {
  RuntimeFixture fx;
  fx.create(RuntimeFixture::podManifest("forced", {{"c", {"/bin/x"}}}));
  fx.sync();
  fx.store.remove("pods", "default", "forced", minikd::api::DeleteOptions{});
  fx.sync();
  CHECK(fx.launcher.latest("/bin/x")->signals == std::vector<int>{SIGKILL});
  CHECK(fx.network.sandboxes().empty());
  CHECK(fx.ipam.inUse() == 0);
}
