#include "minikd/deployment_controller.h"

#include "workloads_fixture.h"

#include <catch2/catch.hpp>

using namespace minikd;
using namespace minikd::testing;
using api::Json;

namespace {

Json makeDeployment(const std::string& name, int replicas, Json strategy = Json()) {
  Json d = {{"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"metadata", {{"name", name}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", {{"app", name}}}}},
              {"template", WorkloadFixture::podTemplate(name)}}}};
  if (!strategy.is_null()) d["spec"]["strategy"] = strategy;
  return d;
}

/// Drives the Deployment and ReplicaSet controllers the way their informers would, one round at a time.
struct Driver {
  WorkloadFixture& f;
  DeploymentController dc;
  ReplicaSetController rsc;
  std::string name;
  size_t max_pods = 0;
  size_t min_ready = SIZE_MAX;

  Driver(WorkloadFixture& fx, std::string n) : f(fx), dc(fx.api, {fx.clock}), rsc(fx.api, {fx.clock}), name(std::move(n)) {}

  void round(bool make_ready) {
    dc.sync("default/" + name);
    for (auto& rs : f.replicaSets()) rsc.sync("default/" + api::nameOf(rs));
    observe();
    if (make_ready) f.readyAll();
    for (auto& rs : f.replicaSets()) rsc.sync("default/" + api::nameOf(rs));
    dc.sync("default/" + name);
  }
  void observe() {
    size_t ready = 0, total = 0;
    for (auto& p : f.pods()) {
      ++total;
      if (workload::isPodReady(p)) ++ready;
    }
    max_pods = std::max(max_pods, total);
    min_ready = std::min(min_ready, ready);
  }
  Json deployment() { return f.api.get(deployR(), "default", name); }
  /// kubectl rollout status' test.
  bool complete() {
    Json d = deployment();
    const Json& st = d["status"];
    int64_t want = d["spec"]["replicas"];
    return st.value("observedGeneration", 0) >= d["metadata"]["generation"].get<int64_t>() &&
           st.value("updatedReplicas", -1) == want && st.value("replicas", -1) == want &&
           st.value("availableReplicas", -1) == want;
  }
  int converge(bool make_ready = true, int max_rounds = 40) {
    for (int i = 1; i <= max_rounds; ++i) {
      round(make_ready);
      if (complete()) return i;
    }
    return -1;
  }
  void setTemplateVersion(const std::string& v) {
    f.api.modify(deployR(), "default", name, [&](Json& d) {
      d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = v;
      return true;
    });
  }
};

std::string revisionOf(const Json& obj) {
  return obj["metadata"].value("annotations", Json::object()).value(workload::kRevisionAnnotation, "");
}

const Json* cond(const Json& d, const std::string& type) { return workload::findCondition(d["status"], type); }

}  // namespace

TEST_CASE("deployment: int-or-percent rounding and fenceposts", "[workloads]") {
  using workload::resolveFenceposts;
  using workload::scaledValue;
  CHECK(scaledValue(Json("25%"), 10, true) == 3);
  CHECK(scaledValue(Json("25%"), 10, false) == 2);
  CHECK(scaledValue(Json(4), 10, false) == 4);
  CHECK(scaledValue(Json("0%"), 10, true) == 0);
  CHECK_THROWS_AS(scaledValue(Json("abc"), 10, true), std::invalid_argument);
  CHECK(resolveFenceposts(Json::object(), 4) == std::pair<int64_t, int64_t>{1, 1});
  CHECK(resolveFenceposts({{"maxSurge", 0}, {"maxUnavailable", 0}}, 4) == std::pair<int64_t, int64_t>{0, 1});
  CHECK(resolveFenceposts({{"maxSurge", "50%"}, {"maxUnavailable", "10%"}}, 3) == std::pair<int64_t, int64_t>{2, 0});
}

TEST_CASE("deployment: pod-template-hash is stable, short and changes with the template", "[workloads]") {
  Json t1 = WorkloadFixture::podTemplate("web", "v1"), t2 = WorkloadFixture::podTemplate("web", "v2");
  std::string h1 = workload::podTemplateHash(t1, std::nullopt);
  CHECK(h1 == workload::podTemplateHash(t1, std::nullopt));
  CHECK(h1 != workload::podTemplateHash(t2, std::nullopt));
  CHECK(h1 != workload::podTemplateHash(t1, 1));
  CHECK(h1.size() <= 10);
  CHECK(h1.find_first_of("aeiou013") == std::string::npos);
  Json labelled = t1;
  labelled["metadata"]["labels"]["pod-template-hash"] = h1;
  CHECK(workload::equalIgnoreHash(labelled, t1));
  CHECK_FALSE(workload::equalIgnoreHash(labelled, t2));
  // What kubectl rollout undo sends (Go structs): nulls and empty objects do not make a new template.
  Json from_kubectl = t1;
  from_kubectl["metadata"]["creationTimestamp"] = nullptr;
  from_kubectl["spec"]["containers"][0]["resources"] = Json::object();
  CHECK(workload::equalIgnoreHash(labelled, from_kubectl));
  CHECK(workload::podTemplateHash(from_kubectl, std::nullopt) == h1);
}

TEST_CASE("deployment: creates <name>-<hash> ReplicaSet, reaches complete status", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default", makeDeployment("web", 3));
  Driver drv(f, "web");
  drv.dc.sync("default/web");
  auto rss = f.replicaSets();
  REQUIRE(rss.size() == 1);
  Json rs = rss[0];
  std::string hash = rs["metadata"]["labels"]["pod-template-hash"];
  CHECK(api::nameOf(rs) == "web-" + hash);
  CHECK(rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == hash);
  CHECK(rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == hash);
  CHECK(rs["spec"]["replicas"] == 3);
  CHECK(revisionOf(rs) == "1");
  CHECK((*workload::controllerRef(rs))["kind"] == "Deployment");
  Json d = drv.deployment();
  CHECK(revisionOf(d) == "1");
  REQUIRE(cond(d, "Progressing"));
  CHECK((*cond(d, "Progressing"))["reason"] == "NewReplicaSetCreated");
  bool scaled_event = false;
  for (auto& ev : f.api.list(*api::findResourceByKey("events"), "default", api::Filter{}).items)
    if ((*ev)["reason"] == "ScalingReplicaSet" && (*ev)["message"] == "Scaled up replica set " + api::nameOf(rs) + " from 0 to 3")
      scaled_event = true;
  CHECK(scaled_event);

  REQUIRE(drv.converge() > 0);
  d = drv.deployment();
  CHECK(d["status"]["replicas"] == 3);
  CHECK(d["status"]["updatedReplicas"] == 3);
  CHECK(d["status"]["readyReplicas"] == 3);
  CHECK(d["status"]["availableReplicas"] == 3);
  CHECK(d["status"]["unavailableReplicas"] == 0);
  CHECK((*cond(d, "Progressing"))["reason"] == "NewReplicaSetAvailable");
  CHECK((*cond(d, "Progressing"))["status"] == "True");
  CHECK((*cond(d, "Available"))["status"] == "True");
  CHECK((*cond(d, "Available"))["reason"] == "MinimumReplicasAvailable");
}

TEST_CASE("deployment: scale up and down through spec.replicas", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default", makeDeployment("web", 2));
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  f.api.modify(deployR(), "default", "web", [](Json& d) {
    d["spec"]["replicas"] = 10;
    return true;
  });
  REQUIRE(drv.converge() > 0);
  CHECK(f.pods().size() == 10);
  CHECK(f.replicaSets().size() == 1);
  f.api.modify(deployR(), "default", "web", [](Json& d) {
    d["spec"]["replicas"] = 0;
    return true;
  });
  REQUIRE(drv.converge() > 0);
  CHECK(f.pods().empty());
}

TEST_CASE("deployment: rolling update with maxSurge 1, maxUnavailable 0 never drops below 3 ready", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default",
               makeDeployment("web", 3, {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 1}, {"maxUnavailable", 0}}}}));
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  drv.max_pods = 0;
  drv.min_ready = SIZE_MAX;
  drv.setTemplateVersion("v2");
  int rounds = drv.converge();
  REQUIRE(rounds > 0);
  CHECK(rounds >= 3);  // one pod at a time
  CHECK(drv.max_pods <= 4);
  CHECK(drv.min_ready >= 3);
  auto rss = f.replicaSets();
  REQUIRE(rss.size() == 2);
  Json d = drv.deployment();
  CHECK(revisionOf(d) == "2");
  for (auto& rs : rss) {
    bool is_new = rs["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "v2";
    CHECK(rs["spec"]["replicas"] == (is_new ? 3 : 0));
    CHECK(revisionOf(rs) == (is_new ? "2" : "1"));
  }
  for (auto& p : f.pods()) CHECK(p["spec"]["containers"][0]["env"][0]["value"] == "v2");
}

TEST_CASE("deployment: rolling update with maxUnavailable 1, maxSurge 0 never exceeds 4 pods", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default",
               makeDeployment("web", 4, {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", "0%"}, {"maxUnavailable", "25%"}}}}));
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  drv.max_pods = 0;
  drv.min_ready = SIZE_MAX;
  drv.setTemplateVersion("v2");
  REQUIRE(drv.converge() > 0);
  CHECK(drv.max_pods <= 4);
  CHECK(drv.min_ready >= 3);
}

TEST_CASE("deployment: Recreate stops all old pods before starting new ones", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default", makeDeployment("web", 3, {{"type", "Recreate"}}));
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  drv.setTemplateVersion("v2");
  drv.dc.sync("default/web");
  // The old ReplicaSet is scaled to 0 and no new one exists while its pods are still there.
  auto rss = f.replicaSets();
  REQUIRE(rss.size() == 1);
  CHECK(rss[0]["spec"]["replicas"] == 0);
  drv.dc.sync("default/web");
  CHECK(f.replicaSets().size() == 1);
  REQUIRE(drv.converge() > 0);
  CHECK(f.replicaSets().size() == 2);
  for (auto& p : f.pods()) CHECK(p["spec"]["containers"][0]["env"][0]["value"] == "v2");
}

TEST_CASE("deployment: revisionHistoryLimit trims old ReplicaSets - rollback re-uses one with a new revision", "[workloads]") {
  WorkloadFixture f;
  Json d = makeDeployment("web", 1);
  d["spec"]["revisionHistoryLimit"] = 2;
  f.api.create(deployR(), "default", d);
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  for (const char* v : {"v2", "v3", "v4"}) {
    drv.setTemplateVersion(v);
    REQUIRE(drv.converge() > 0);
  }
  drv.round(true);
  auto rss = f.replicaSets();
  CHECK(rss.size() == 3);  // v4 (revision 4) and two old ones
  std::set<std::string> revisions;
  for (auto& rs : rss) revisions.insert(revisionOf(rs));
  CHECK(revisions == std::set<std::string>{"2", "3", "4"});

  // `kubectl rollout undo --to-revision=2` copies that ReplicaSet's template into the Deployment.
  drv.setTemplateVersion("v2");
  REQUIRE(drv.converge() > 0);
  drv.round(true);
  rss = f.replicaSets();
  CHECK(rss.size() == 3);
  for (auto& rs : rss) {
    if (rs["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] != "v2") continue;
    CHECK(revisionOf(rs) == "5");
    CHECK(rs["metadata"]["annotations"][workload::kRevisionHistoryAnnotation] == "2");
    CHECK(rs["spec"]["replicas"] == 1);
  }
  CHECK(revisionOf(drv.deployment()) == "5");
}

TEST_CASE("deployment: rollout restart (restartedAt annotation) makes a new ReplicaSet", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default", makeDeployment("web", 2));
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  f.api.modify(deployR(), "default", "web", [](Json& d) {
    d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] = "2026-11-27T09:00:00Z";
    return true;
  });
  REQUIRE(drv.converge() > 0);
  CHECK(f.replicaSets().size() == 2);
  for (auto& p : f.pods())
    CHECK(p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == "2026-11-27T09:00:00Z");
}

TEST_CASE("deployment: paused deployments scale but do not roll out", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default", makeDeployment("web", 2));
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  f.api.modify(deployR(), "default", "web", [](Json& d) {
    d["spec"]["paused"] = true;
    d["spec"]["replicas"] = 4;
    d["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = "v2";
    return true;
  });
  drv.converge();
  auto rss = f.replicaSets();
  REQUIRE(rss.size() == 1);
  CHECK(rss[0]["spec"]["replicas"] == 4);
  Json d = drv.deployment();
  CHECK((*cond(d, "Progressing"))["reason"] == "DeploymentPaused");
  CHECK((*cond(d, "Progressing"))["status"] == "Unknown");

  f.api.modify(deployR(), "default", "web", [](Json& d) {
    d["spec"]["paused"] = false;
    return true;
  });
  REQUIRE(drv.converge() > 0);
  CHECK(f.replicaSets().size() == 2);
  CHECK((*cond(drv.deployment(), "Progressing"))["reason"] == "NewReplicaSetAvailable");
}

TEST_CASE("deployment: progressDeadlineSeconds turns Progressing False when pods never get ready", "[workloads]") {
  WorkloadFixture f;
  Json d = makeDeployment("web", 2);
  d["spec"]["progressDeadlineSeconds"] = 30;
  f.api.create(deployR(), "default", d);
  Driver drv(f, "web");
  drv.round(false);
  auto recheck = drv.dc.sync("default/web");
  REQUIRE(recheck);
  CHECK(*recheck <= std::chrono::seconds(32));
  Json now = drv.deployment();
  CHECK((*cond(now, "Progressing"))["status"] == "True");
  CHECK((*cond(now, "Available"))["status"] == "False");
  CHECK((*cond(now, "Available"))["reason"] == "MinimumReplicasUnavailable");
  CHECK(now["status"]["unavailableReplicas"] == 2);

  f.now += std::chrono::seconds(31);
  drv.round(false);
  now = drv.deployment();
  CHECK((*cond(now, "Progressing"))["status"] == "False");
  CHECK((*cond(now, "Progressing"))["reason"] == "ProgressDeadlineExceeded");
  CHECK((*cond(now, "Progressing"))["message"] == "ReplicaSet \"" + api::nameOf(f.replicaSets()[0]) + "\" has timed out progressing.");

  // Progress after all: back to True.
  REQUIRE(drv.converge() > 0);
  CHECK((*cond(drv.deployment(), "Progressing"))["reason"] == "NewReplicaSetAvailable");
}

TEST_CASE("deployment: observedGeneration follows the spec", "[workloads]") {
  WorkloadFixture f;
  f.api.create(deployR(), "default", makeDeployment("web", 1));
  Driver drv(f, "web");
  REQUIRE(drv.converge() > 0);
  f.api.modify(deployR(), "default", "web", [](Json& d) {
    d["spec"]["replicas"] = 2;
    return true;
  });
  Json d = drv.deployment();
  CHECK(d["status"]["observedGeneration"].get<int64_t>() < d["metadata"]["generation"].get<int64_t>());
  drv.dc.sync("default/web");
  d = drv.deployment();
  CHECK(d["status"]["observedGeneration"] == d["metadata"]["generation"]);
}
