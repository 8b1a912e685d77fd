#include "minikd/garbage_collector.h"

#include "minikd/deployment_controller.h"
#include "workloads_fixture.h"

#include <catch2/catch.hpp>

using namespace minikd;
using namespace minikd::testing;
using api::Json;

namespace {

/// A ReplicaSet with no controller running (so nothing recreates pods) and `n` pods it owns.
Json ownerWithPods(WorkloadFixture& f, const std::string& name, int n, bool block = true) {
  Json rs = f.api.create(rsR(), "default",
                         {{"metadata", {{"name", name}}},
                          {"spec",
                           {{"replicas", n},
                            {"selector", {{"matchLabels", {{"app", name}}}}},
                            {"template", WorkloadFixture::podTemplate(name)}}}});
  for (int i = 0; i < n; ++i) {
    Json ref = workload::makeControllerRef(rs, "apps/v1", "ReplicaSet");
    ref["blockOwnerDeletion"] = block;
    Json pod = {{"metadata", {{"name", name + "-" + std::to_string(i)}, {"labels", {{"app", name}}},
                              {"ownerReferences", Json::array({ref})}}},
                {"spec", WorkloadFixture::podTemplate(name)["spec"]}};
    f.api.create(podsR(), "default", pod);
  }
  return rs;
}

bool exists(WorkloadFixture& f, const api::ResourceInfo& r, const std::string& name, const std::string& ns = "default") {
  return f.store.getPtr(r.key(), r.namespaced ? ns : "", name) != nullptr;
}

struct RunningGc {
  GarbageCollector gc;
  std::jthread thread;
  explicit RunningGc(api::Api& api) : gc(api), thread([this](std::stop_token st) { gc.run(st); }) {}
};

api::DeleteRequest policy(const std::string& p) {
  api::DeleteRequest d;
  d.propagation_policy = p;
  return d;
}

}  // namespace

TEST_CASE("gc: background deletion removes dependents whose owner is gone", "[workloads]") {
  WorkloadFixture f;
  RunningGc gc(f.api);
  ownerWithPods(f, "web", 3);
  f.api.create(podsR(), "default", {{"metadata", {{"name", "bystander"}}}, {"spec", WorkloadFixture::podTemplate("x")["spec"]}});
  f.api.remove(rsR(), "default", "web", policy("Background"));
  REQUIRE(eventually([&] { return f.pods().size() == 1; }));
  CHECK(api::nameOf(f.pods()[0]) == "bystander");
}

TEST_CASE("gc: a dependent with another live owner only loses the dead reference", "[workloads]") {
  WorkloadFixture f;
  RunningGc gc(f.api);
  Json a = ownerWithPods(f, "a", 1);
  Json b = ownerWithPods(f, "b", 0);
  f.api.modify(podsR(), "default", "a-0", [&](Json& p) {
    Json ref = workload::makeControllerRef(b, "apps/v1", "ReplicaSet");
    ref["controller"] = false;
    p["metadata"]["ownerReferences"].push_back(ref);
    return true;
  });
  f.api.remove(rsR(), "default", "a");
  REQUIRE(eventually([&] {
    auto p = f.store.getPtr("pods", "default", "a-0");
    return p && (*p)["metadata"]["ownerReferences"].size() == 1;
  }));
  CHECK(f.api.get(podsR(), "default", "a-0")["metadata"]["ownerReferences"][0]["uid"] == b["metadata"]["uid"]);
}

TEST_CASE("gc: a dependent created after its owner is gone is collected", "[workloads]") {
  WorkloadFixture f;
  Json rs = ownerWithPods(f, "web", 0);
  f.api.remove(rsR(), "default", "web");
  Json ref = workload::makeControllerRef(rs, "apps/v1", "ReplicaSet");
  f.api.create(podsR(), "default",
               {{"metadata", {{"name", "late"}, {"ownerReferences", Json::array({ref})}}},
                {"spec", WorkloadFixture::podTemplate("web")["spec"]}});
  RunningGc gc(f.api);
  REQUIRE(eventually([&] { return !exists(f, podsR(), "late"); }));
}

TEST_CASE("gc: foreground deletion keeps the owner until blocking dependents are gone", "[workloads]") {
  WorkloadFixture f;
  ownerWithPods(f, "web", 2);
  // One pod holds on (a finalizer), like a pod in its termination grace period.
  f.api.modify(podsR(), "default", "web-0", [](Json& p) {
    p["metadata"]["finalizers"] = Json::array({"test/hold"});
    return true;
  });
  RunningGc gc(f.api);
  f.api.remove(rsR(), "default", "web", policy("Foreground"));
  REQUIRE(eventually([&] { return !exists(f, podsR(), "web-1"); }));
  REQUIRE(eventually([&] { return workload::isBeingDeleted(f.api.get(podsR(), "default", "web-0")); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(exists(f, rsR(), "web"));
  Json owner = f.api.get(rsR(), "default", "web");
  CHECK(workload::isBeingDeleted(owner));
  CHECK(owner["metadata"]["finalizers"] == Json::array({"foregroundDeletion"}));

  f.api.modify(podsR(), "default", "web-0", [](Json& p) {
    p["metadata"]["finalizers"] = Json::array();
    return true;
  });
  REQUIRE(eventually([&] { return !exists(f, rsR(), "web"); }));
}

TEST_CASE("gc: orphan deletion strips owner references and keeps dependents", "[workloads]") {
  WorkloadFixture f;
  ownerWithPods(f, "web", 2);
  RunningGc gc(f.api);
  f.api.remove(rsR(), "default", "web", policy("Orphan"));
  REQUIRE(eventually([&] { return !exists(f, rsR(), "web"); }));
  auto pods = f.pods();
  REQUIRE(pods.size() == 2);
  for (auto& p : pods) CHECK_FALSE(p["metadata"].contains("ownerReferences"));
}

TEST_CASE("gc: deleting a Deployment removes its ReplicaSets and pods (all controllers running)", "[workloads]") {
  WorkloadFixture f;
  ReplicaSetController rsc(f.api);
  DeploymentController dc(f.api);
  RunningGc gc(f.api);
  std::jthread t1([&](std::stop_token st) { rsc.run(st); });
  std::jthread t2([&](std::stop_token st) { dc.run(st); });
  f.api.create(deployR(), "default",
               {{"metadata", {{"name", "web"}}},
                {"spec",
                 {{"replicas", 3},
                  {"selector", {{"matchLabels", {{"app", "web"}}}}},
                  {"template", WorkloadFixture::podTemplate("web")}}}});
  REQUIRE(eventually([&] { return f.pods().size() == 3; }));
  SECTION("background") { f.api.remove(deployR(), "default", "web", policy("Background")); }
  SECTION("foreground") { f.api.remove(deployR(), "default", "web", policy("Foreground")); }
  REQUIRE(eventually([&] { return f.pods().empty() && f.replicaSets().empty() && !exists(f, deployR(), "web"); }));
}
