// Server-side apply: merge, pruning, managedFields (FieldsV1) and conflicts between managers.
#include "api/apply.h"

#include <catch2/catch.hpp>

using namespace minikd::api;

namespace {

const ResourceInfo& res(const char* kind) {
  for (const auto& r : builtinResources())
    if (r.kind == kind) return r;
  throw std::runtime_error(std::string("no kind ") + kind);
}

ManagedWrite as(const char* manager, bool force = false) { return {manager, "apps/v1", "2024-05-01T12:00:00Z", force}; }

Json appliedDeployment(const char* image = "nginx:1.25", int replicas = 2) {
  Json d = Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"app":"web","team":"a"}},
    "spec":{"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"main","command":["nginx"],"ports":[{"containerPort":80}]}]}}}})");
  d["spec"]["replicas"] = replicas;
  d["spec"]["template"]["spec"]["containers"][0]["image"] = image;
  return d;
}

/// The managedFields entry of a manager and operation, or null.
Json entry(const Json& obj, const std::string& manager, const std::string& op) {
  for (const auto& e : obj["metadata"].value("managedFields", Json::array()))
    if (e["manager"] == manager && e["operation"] == op) return e;
  return Json();
}

/// What the store would hold: the live object after server-side defaults.
Json withDefaults(Json d) {
  d["metadata"]["uid"] = "u-1";
  d["spec"]["revisionHistoryLimit"] = 10;
  d["spec"]["template"]["spec"]["restartPolicy"] = "Always";
  d["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log";
  d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP";
  return d;
}

}  // namespace

TEST_CASE("ssa: create records an Apply entry in FieldsV1", "[api][apply]") {
  Json out = serverSideApply(res("Deployment"), nullptr, appliedDeployment(), as("kubectl"));
  CHECK(out["spec"]["replicas"] == 2);
  CHECK(out["metadata"]["name"] == "web");
  Json e = entry(out, "kubectl", "Apply");
  REQUIRE(e.is_object());
  CHECK(e["apiVersion"] == "apps/v1");
  CHECK(e["time"] == "2024-05-01T12:00:00Z");
  CHECK(e["fieldsType"] == "FieldsV1");
  CHECK(e["fieldsV1"] == Json::parse(R"({
    "f:metadata":{"f:labels":{"f:app":{},"f:team":{}}},
    "f:spec":{"f:replicas":{},"f:selector":{},
      "f:template":{"f:metadata":{"f:labels":{"f:app":{}}},
        "f:spec":{"f:containers":{"k:{\"name\":\"main\"}":{".":{},"f:command":{},"f:image":{},"f:name":{},
          "f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}})"));
}

TEST_CASE("ssa: re-apply merges, keeps defaults and prunes what the manager dropped", "[api][apply]") {
  Json live = withDefaults(serverSideApply(res("Deployment"), nullptr, appliedDeployment(), as("kubectl")));
  Json next = appliedDeployment("nginx:1.26");
  next["metadata"]["labels"].erase("team");
  next["spec"]["template"]["spec"]["containers"].push_back({{"name", "side"}, {"command", {"sleep", "1d"}}});
  Json out = serverSideApply(res("Deployment"), &live, next, as("kubectl"));
  const Json& c = out["spec"]["template"]["spec"]["containers"];
  REQUIRE(c.size() == 2);
  CHECK(c[0]["image"] == "nginx:1.26");
  CHECK(c[0]["terminationMessagePath"] == "/dev/termination-log");  // defaults stay
  CHECK(c[0]["ports"][0]["protocol"] == "TCP");
  CHECK(c[1]["name"] == "side");
  CHECK(out["metadata"]["labels"] == Json{{"app", "web"}});  // "team" was applied before, not now
  CHECK(out["metadata"]["uid"] == "u-1");
  CHECK(out["spec"]["revisionHistoryLimit"] == 10);
  CHECK(out["metadata"]["managedFields"].size() == 1);

  // Dropping a container removes it, with the defaults inside it.
  Json fewer = appliedDeployment("nginx:1.26");
  fewer["metadata"]["labels"].erase("team");
  Json out2 = serverSideApply(res("Deployment"), &out, fewer, as("kubectl"));
  CHECK(out2["spec"]["template"]["spec"]["containers"].size() == 1);
  CHECK(out2["spec"]["template"]["spec"]["containers"][0]["name"] == "main");
}

TEST_CASE("ssa: a value owned by another manager conflicts unless forced", "[api][apply]") {
  Json live = withDefaults(serverSideApply(res("Deployment"), nullptr, appliedDeployment(), as("kubectl")));
  // `kubectl scale` (an Update) takes spec.replicas.
  Json scaled = live;
  scaled["spec"]["replicas"] = 5;
  scaled = recordManagedUpdate(res("Deployment"), &live, scaled, as("kubectl-scale"));
  CHECK(entry(scaled, "kubectl-scale", "Update")["fieldsV1"] == Json::parse(R"({"f:spec":{"f:replicas":{}}})"));
  CHECK_FALSE(entry(scaled, "kubectl", "Apply")["fieldsV1"]["f:spec"].contains("f:replicas"));

  // Applying replicas: 2 again now conflicts.
  try {
    serverSideApply(res("Deployment"), &scaled, appliedDeployment(), as("kubectl"));
    FAIL("no conflict");
  } catch (const ApiError& e) {
    CHECK(e.code() == 409);
    CHECK(e.reason() == "Conflict");
    CHECK(std::string(e.what()) == "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: .spec.replicas");
    REQUIRE(e.details()["causes"].size() == 1);
    CHECK(e.details()["causes"][0]["reason"] == "FieldManagerConflict");
    CHECK(e.details()["causes"][0]["field"] == ".spec.replicas");
    CHECK(e.details()["name"] == "web");
    CHECK(e.details()["kind"] == "deployments.apps");
  }
  // Applying the same value the other manager set is shared ownership, not a conflict.
  Json same = serverSideApply(res("Deployment"), &scaled, appliedDeployment("nginx:1.25", 5), as("kubectl"));
  CHECK(same["spec"]["replicas"] == 5);
  CHECK(entry(same, "kubectl-scale", "Update")["fieldsV1"]["f:spec"].contains("f:replicas"));
  CHECK(entry(same, "kubectl", "Apply")["fieldsV1"]["f:spec"].contains("f:replicas"));

  // --force-conflicts takes the field.
  Json forced = serverSideApply(res("Deployment"), &scaled, appliedDeployment(), as("kubectl", true));
  CHECK(forced["spec"]["replicas"] == 2);
  CHECK(entry(forced, "kubectl-scale", "Update").is_null());  // its only field is gone: entry dropped
  CHECK(entry(forced, "kubectl", "Apply")["fieldsV1"]["f:spec"].contains("f:replicas"));
}

TEST_CASE("ssa: conflicts in keyed lists name the item - several are grouped", "[api][apply]") {
  Json live = withDefaults(serverSideApply(res("Deployment"), nullptr, appliedDeployment(), as("kubectl")));
  Json other = live;
  other["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:9";
  other["spec"]["replicas"] = 7;
  other = recordManagedUpdate(res("Deployment"), &live, other, as("kubectl-set"));
  try {
    serverSideApply(res("Deployment"), &other, appliedDeployment(), as("kubectl"));
    FAIL("no conflict");
  } catch (const ApiError& e) {
    std::string msg = e.what();
    CHECK_THAT(msg, Catch::StartsWith("Apply failed with 2 conflicts: conflicts with \"kubectl-set\" using apps/v1:"));
    CHECK_THAT(msg, Catch::Contains("\n- .spec.replicas"));
    CHECK_THAT(msg, Catch::Contains("\n- .spec.template.spec.containers[name=\"main\"].image"));
    CHECK(e.details()["causes"].size() == 2);
  }
}

TEST_CASE("ssa: fields another manager also owns survive when the applier drops them", "[api][apply]") {
  Json live = withDefaults(serverSideApply(res("Deployment"), nullptr, appliedDeployment(), as("kubectl")));
  Json second = Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","labels":{"team":"a"}}})");
  live = serverSideApply(res("Deployment"), &live, second, as("other"));
  Json next = appliedDeployment();
  next["metadata"]["labels"].erase("team");
  Json out = serverSideApply(res("Deployment"), &live, next, as("kubectl"));
  CHECK(out["metadata"]["labels"]["team"] == "a");
  CHECK(entry(out, "other", "Apply")["fieldsV1"] == Json::parse(R"({"f:metadata":{"f:labels":{"f:team":{}}}})"));
}

TEST_CASE("ssa: keyed list order follows the applied order, live-only items stay", "[api][apply]") {
  Json pod = Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},
    "spec":{"containers":[{"name":"a","command":["x"]},{"name":"b","command":["y"]}]}})");
  Json live = serverSideApply(res("Pod"), nullptr, pod, as("kubectl"));
  // Another manager adds a sidecar "z" at the end.
  Json with_z = live;
  with_z["spec"]["containers"].push_back({{"name", "z"}, {"command", {"z"}}});
  with_z = recordManagedUpdate(res("Pod"), &live, with_z, as("injector"));
  CHECK(entry(with_z, "injector", "Update")["fieldsV1"]["f:spec"]["f:containers"].contains("k:{\"name\":\"z\"}"));
  Json reordered = pod;
  reordered["spec"]["containers"] = Json::parse(R"([{"name":"b","command":["y"]},{"name":"a","command":["x2"]}])");
  Json out = serverSideApply(res("Pod"), &with_z, reordered, as("kubectl"));
  std::vector<std::string> names;
  for (const auto& c : out["spec"]["containers"]) names.push_back(c["name"]);
  // structured-merge-diff walks both lists: the live-only "z" is met before the applied "a" is placed.
  CHECK(names == std::vector<std::string>{"b", "z", "a"});
  CHECK(out["spec"]["containers"][2]["command"] == Json::array({"x2"}));
}

TEST_CASE("ssa: sets, atomic lists and service ports", "[api][apply]") {
  Json svc = Json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"s","finalizers":["a/b"]},
    "spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80},{"name":"dns","port":53,"protocol":"UDP"}],
      "externalIPs":["1.1.1.1"]}})");
  Json out = serverSideApply(res("Service"), nullptr, svc, as("kubectl"));
  Json f = entry(out, "kubectl", "Apply")["fieldsV1"];
  CHECK(f["f:metadata"]["f:finalizers"] == Json::parse(R"({"v:\"a/b\"":{}})"));
  CHECK(f["f:spec"]["f:selector"] == Json::object());     // atomic map
  CHECK(f["f:spec"]["f:externalIPs"] == Json::object());  // atomic list
  CHECK(f["f:spec"]["f:ports"].contains("k:{\"port\":80,\"protocol\":\"TCP\"}"));
  CHECK(f["f:spec"]["f:ports"].contains("k:{\"port\":53,\"protocol\":\"UDP\"}"));
  // status is not tracked on the main resource.
  Json with_status = svc;
  with_status["status"] = {{"loadBalancer", Json::object()}};
  CHECK_FALSE(entry(serverSideApply(res("Service"), nullptr, with_status, as("kubectl")), "kubectl", "Apply")["fieldsV1"].contains(
      "f:status"));
  // The selector is replaced whole.
  Json next = svc;
  next["spec"]["selector"] = {{"tier", "x"}};
  CHECK(serverSideApply(res("Service"), &out, next, as("kubectl"))["spec"]["selector"] == Json{{"tier", "x"}});
}

TEST_CASE("ssa: bad requests", "[api][apply]") {
  auto code = [](const Json& body, const char* manager = "kubectl") {
    try {
      serverSideApply(res("Deployment"), nullptr, body, as(manager));
    } catch (const ApiError& e) {
      return e.code();
    }
    return 0;
  };
  CHECK(code(Json::array()) == 400);
  CHECK(code(Json::parse(R"({"metadata":{"name":"x"}})")) == 400);
  CHECK(code(Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}})")) == 400);
  CHECK(code(appliedDeployment(), "") == 400);
  CHECK(code(appliedDeployment()) == 0);
}

TEST_CASE("managed update: create and update ownership", "[api][apply]") {
  Json cm = Json::parse(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","uid":"u"},"data":{"a":"1","b":"2"}})");
  Json created = recordManagedUpdate(res("ConfigMap"), nullptr, cm, {"kubectl-create", "v1", "t1"});
  CHECK(entry(created, "kubectl-create", "Update")["fieldsV1"] == Json::parse(R"({"f:data":{"f:a":{},"f:b":{}}})"));
  Json edited = created;
  edited["data"]["b"] = "3";
  edited["data"].erase("a");
  edited["data"]["c"] = "4";
  edited = recordManagedUpdate(res("ConfigMap"), &created, edited, {"kubectl-edit", "v1", "t2"});
  CHECK(entry(edited, "kubectl-create", "Update")["fieldsV1"].is_null());  // "a" removed, "b" taken: nothing left
  CHECK(entry(edited, "kubectl-edit", "Update")["fieldsV1"] == Json::parse(R"({"f:data":{"f:b":{},"f:c":{}}})"));
  CHECK(entry(edited, "kubectl-edit", "Update")["time"] == "t2");
  // No manager, no bookkeeping.
  Json untouched = recordManagedUpdate(res("ConfigMap"), nullptr, cm, {});
  CHECK_FALSE(untouched["metadata"].contains("managedFields"));
}
