#include "minikd/replicaset_controller.h"

#include "workloads_fixture.h"

#include <catch2/catch.hpp>

using namespace minikd;
using namespace minikd::testing;
using api::Json;

namespace {

Json makeRs(const std::string& name, int replicas, int min_ready = 0) {
  return {{"apiVersion", "apps/v1"},
          {"kind", "ReplicaSet"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"replicas", replicas},
            {"minReadySeconds", min_ready},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template", WorkloadFixture::podTemplate(name)}}}};
}

void setReplicas(WorkloadFixture& f, const std::string& name, int n) {
  f.api.modify(rsR(), "default", name, [&](Json& rs) {
    rs["spec"]["replicas"] = n;
    return true;
  });
}

}  // namespace

TEST_CASE("replicaset: creates pods from its template with a controller reference", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api, {f.clock});
  Json rs = f.api.create(rsR(), "default", makeRs("web", 3));
  rsc.sync("default/web");
  auto pods = f.pods();
  REQUIRE(pods.size() == 3);
  for (auto& p : pods) {
    CHECK(api::nameOf(p).rfind("web-", 0) == 0);
    CHECK(api::nameOf(p).size() == 4 + 5);
    const Json* ref = workload::controllerRef(p);
    REQUIRE(ref);
    CHECK((*ref)["uid"] == rs["metadata"]["uid"]);
    CHECK((*ref)["kind"] == "ReplicaSet");
    CHECK((*ref)["blockOwnerDeletion"] == true);
    CHECK(p["metadata"]["labels"]["app"] == "web");
  }
  Json st = f.api.get(rsR(), "default", "web")["status"];
  CHECK(st["replicas"] == 3);
  CHECK(st["fullyLabeledReplicas"] == 3);
  CHECK(st["readyReplicas"] == 0);
  CHECK(st["observedGeneration"] == 1);
  auto events = f.api.list(*api::findResourceByKey("events"), "default", api::Filter{}).items;
  REQUIRE(events.size() == 3);
  CHECK((*events[0])["reason"] == "SuccessfulCreate");
  CHECK((*events[0])["involvedObject"]["name"] == "web");
}

TEST_CASE("replicaset: scales up and down, removing not-ready then newest pods first", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api, {f.clock});
  f.api.create(rsR(), "default", makeRs("web", 2));
  rsc.sync("default/web");
  f.readyAll();
  setReplicas(f, "web", 5);
  rsc.sync("default/web");
  REQUIRE(f.pods().size() == 5);
  Json st = f.api.get(rsR(), "default", "web")["status"];
  CHECK(st["readyReplicas"] == 2);
  CHECK(st["observedGeneration"] == 2);

  setReplicas(f, "web", 2);
  rsc.sync("default/web");
  auto left = f.pods();
  REQUIRE(left.size() == 2);
  for (auto& p : left) CHECK(workload::isPodReady(p));  // the three unready ones went first

  setReplicas(f, "web", 0);
  rsc.sync("default/web");
  CHECK(f.pods().empty());
  CHECK(f.api.get(rsR(), "default", "web")["status"]["replicas"] == 0);
}

TEST_CASE("replicaset: a deleted pod is replaced", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api, {f.clock});
  f.api.create(rsR(), "default", makeRs("web", 2));
  rsc.sync("default/web");
  auto before = f.pods();
  f.api.remove(podsR(), "default", api::nameOf(before[0]));
  rsc.sync("default/web");
  auto after = f.pods();
  REQUIRE(after.size() == 2);
  CHECK(api::nameOf(after[0]) != api::nameOf(before[0]));
  CHECK(api::nameOf(after[1]) != api::nameOf(before[0]));
}

TEST_CASE("replicaset: pods being deleted do not count", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api, {f.clock});
  f.api.create(rsR(), "default", makeRs("web", 1));
  rsc.sync("default/web");
  std::string first = api::nameOf(f.pods()[0]);
  // A finalizer keeps the pod around, marked, like a pod in its grace period.
  f.api.modify(podsR(), "default", first, [](Json& p) {
    p["metadata"]["finalizers"] = Json::array({"test/hold"});
    return true;
  });
  f.api.remove(podsR(), "default", first);
  rsc.sync("default/web");
  auto pods = f.pods();
  REQUIRE(pods.size() == 2);
  CHECK(f.api.get(rsR(), "default", "web")["status"]["replicas"] == 1);
}

TEST_CASE("replicaset: adopts matching orphans and releases pods that stop matching", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api, {f.clock});
  Json orphan = {{"metadata", {{"name", "stray"}, {"labels", {{"app", "web"}}}}},
                 {"spec", WorkloadFixture::podTemplate("web")["spec"]}};
  f.api.create(podsR(), "default", orphan);
  Json rs = f.api.create(rsR(), "default", makeRs("web", 2));
  rsc.sync("default/web");
  REQUIRE(f.pods().size() == 2);
  Json stray = f.api.get(podsR(), "default", "stray");
  REQUIRE(workload::controllerRef(stray));
  CHECK((*workload::controllerRef(stray))["uid"] == rs["metadata"]["uid"]);

  // Relabel it: released (no owner reference left) and replaced.
  f.api.modify(podsR(), "default", "stray", [](Json& p) {
    p["metadata"]["labels"]["app"] = "debug";
    return true;
  });
  rsc.sync("default/web");
  stray = f.api.get(podsR(), "default", "stray");
  CHECK_FALSE(workload::controllerRef(stray));
  CHECK(f.pods().size() == 3);
  CHECK(f.api.get(rsR(), "default", "web")["status"]["replicas"] == 2);
}

TEST_CASE("replicaset: availableReplicas waits for minReadySeconds", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api, {f.clock});
  f.api.create(rsR(), "default", makeRs("web", 2, 10));
  rsc.sync("default/web");
  f.readyAll();
  auto recheck = rsc.sync("default/web");
  Json st = f.api.get(rsR(), "default", "web")["status"];
  CHECK(st["readyReplicas"] == 2);
  CHECK(st["availableReplicas"] == 0);
  REQUIRE(recheck);
  CHECK(*recheck >= std::chrono::seconds(9));
  f.now += std::chrono::seconds(10);
  rsc.sync("default/web");
  CHECK(f.api.get(rsR(), "default", "web")["status"]["availableReplicas"] == 2);
}

TEST_CASE("replicaset: run() reacts to pod deletions through its informers", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api, {f.clock});
  std::jthread t([&](std::stop_token st) { rsc.run(st); });
  f.api.create(rsR(), "default", makeRs("web", 3));
  REQUIRE(eventually([&] { return f.pods().size() == 3; }));
  f.api.remove(podsR(), "default", api::nameOf(f.pods()[1]));
  REQUIRE(eventually([&] {
    return f.pods().size() == 3 && f.api.get(rsR(), "default", "web")["status"].value("replicas", 0) == 3;
  }));
}
