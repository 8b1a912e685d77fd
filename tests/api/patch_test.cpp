// JSON merge patch, JSON patch and strategic merge patch, including what kubectl sends.
#include "api/patch.h"

#include <catch2/catch.hpp>

using namespace minikd::api;

namespace {

const ResourceInfo& res(const char* kind) {
  for (const auto& r : builtinResources())
    if (r.kind == kind) return r;
  throw std::runtime_error(std::string("no kind ") + kind);
}

Json livePod() {
  return Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","labels":{"app":"web","tier":"front"},
    "annotations":{"a":"1"},"finalizers":["x/a"]},
    "spec":{"restartPolicy":"Always",
      "containers":[
        {"name":"main","image":"nginx:1.25","command":["nginx"],
         "ports":[{"containerPort":80,"protocol":"TCP"},{"containerPort":443,"protocol":"TCP"}],
         "env":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
         "volumeMounts":[{"name":"data","mountPath":"/data"}]},
        {"name":"side","image":"busybox","command":["sleep","1d"]}],
      "volumes":[{"name":"data","emptyDir":{}}],
      "tolerations":[{"key":"a","operator":"Exists"}]}})");
}

int code(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ApiError& e) {
    return e.code();
  }
  return 0;
}

std::vector<std::string> names(const Json& list, const char* key = "name") {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item[key].is_string() ? item[key].get<std::string>() : item[key].dump());
  return out;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// RFC 7386

TEST_CASE("merge patch: RFC 7386 examples", "[api][patch]") {
  Json target = Json::parse(R"({"title":"Goodbye!","author":{"givenName":"John","familyName":"Doe"},
    "tags":["example","sample"],"content":"This will be unchanged"})");
  Json patch = Json::parse(R"({"title":"Hello!","phoneNumber":"+01-123-456-7890","author":{"familyName":null},"tags":["example"]})");
  Json expected = Json::parse(R"({"title":"Hello!","author":{"givenName":"John"},"tags":["example"],
    "content":"This will be unchanged","phoneNumber":"+01-123-456-7890"})");
  CHECK(applyMergePatch(target, patch) == expected);
  CHECK(applyMergePatch(Json{{"a", "b"}}, Json{{"a", "c"}}) == Json{{"a", "c"}});
  CHECK(applyMergePatch(Json{{"a", "b"}}, Json{{"a", nullptr}}) == Json::object());
  CHECK(applyMergePatch(Json{{"a", {{"b", "c"}}}}, Json{{"a", {{"b", "d"}, {"c", nullptr}}}}) == Json{{"a", {{"b", "d"}}}});
  CHECK(applyMergePatch(Json{{"a", "foo"}}, Json{{"a", {{"bb", {{"ccc", nullptr}}}}}}) == Json{{"a", {{"bb", Json::object()}}}});
  CHECK(applyMergePatch(Json{{"a", {{"b", 1}}}}, Json::object()) == Json{{"a", {{"b", 1}}}});
  CHECK(code([] { applyMergePatch(Json::object(), Json::array()); }) == 400);
  CHECK(code([] { applyMergePatch(Json::object(), "x"); }) == 400);
}

TEST_CASE("merge patch: kubectl scale and label", "[api][patch]") {
  Json d = {{"spec", {{"replicas", 1}, {"template", {{"x", 1}}}}}};
  CHECK(applyMergePatch(d, Json{{"spec", {{"replicas", 3}}}})["spec"] == Json{{"replicas", 3}, {"template", {{"x", 1}}}});
  Json p = livePod();
  Json out = applyMergePatch(p, Json::parse(R"({"metadata":{"labels":{"tier":null,"new":"x"}}})"));
  CHECK(out["metadata"]["labels"] == Json{{"app", "web"}, {"new", "x"}});
  CHECK(out["spec"] == p["spec"]);
}

// ------------------------------------------------------------------------------------------------
// RFC 6902

TEST_CASE("json patch: operations", "[api][patch]") {
  Json doc = {{"a", {{"b", 1}}}, {"list", {1, 2, 3}}};
  Json out = applyJsonPatch(doc, Json::parse(R"([
    {"op":"add","path":"/a/c","value":2},
    {"op":"replace","path":"/a/b","value":10},
    {"op":"remove","path":"/list/0"},
    {"op":"add","path":"/list/-","value":4},
    {"op":"copy","from":"/a/b","path":"/copied"},
    {"op":"move","from":"/copied","path":"/moved"},
    {"op":"test","path":"/moved","value":10}])"));
  CHECK(out == Json::parse(R"({"a":{"b":10,"c":2},"list":[2,3,4],"moved":10})"));
  CHECK(applyJsonPatch(doc, Json::array()) == doc);
}

TEST_CASE("json patch: failures name the operation", "[api][patch]") {
  Json doc = {{"a", 1}};
  try {
    applyJsonPatch(doc, Json::parse(R"([{"op":"add","path":"/b","value":1},{"op":"remove","path":"/missing"}])"));
    FAIL("no error");
  } catch (const ApiError& e) {
    CHECK(e.code() == 422);
    CHECK_THAT(e.what(), Catch::StartsWith("jsonpatch remove operation does not apply"));
    CHECK_THAT(e.what(), Catch::Contains("/missing"));
  }
  try {
    applyJsonPatch(doc, Json::parse(R"([{"op":"test","path":"/a","value":2}])"));
    FAIL("no error");
  } catch (const ApiError& e) {
    CHECK(e.code() == 422);
    CHECK_THAT(e.what(), Catch::Contains("jsonpatch test operation does not apply: test failed"));
  }
  CHECK(code([&] { applyJsonPatch(doc, Json::parse(R"({"op":"add"})")); }) == 400);
  CHECK(code([&] { applyJsonPatch(doc, Json::parse(R"([{"op":"frob","path":"/a"}])")); }) == 400);
  CHECK(code([&] { applyJsonPatch(doc, Json::parse(R"([{"op":"add","path":"/x"}])")); }) == 400);
  CHECK(code([&] { applyJsonPatch(doc, Json::parse(R"([{"op":"move","path":"/x"}])")); }) == 400);
  CHECK(code([&] { applyJsonPatch(doc, Json::parse(R"([{"op":"replace","path":"/nope","value":1}])")); }) == 422);
  CHECK(code([&] { applyJsonPatch(doc, Json::parse(R"([{"op":"add","path":"/x/y","value":1}])")); }) == 422);
}

// ------------------------------------------------------------------------------------------------
// Strategic merge patch

TEST_CASE("smp: the exact patch of kubectl apply (image change)", "[api][patch]") {
  Json live = livePod();
  Json patch = Json::parse(R"({"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"kind\":\"Pod\"}\n"}},
    "spec":{"$setElementOrder/containers":[{"name":"main"},{"name":"side"}],"containers":[{"image":"nginx:1.26","name":"main"}]}})");
  Json out = applyStrategicMergePatch(res("Pod"), live, patch);
  CHECK(out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == "{\"kind\":\"Pod\"}\n");
  CHECK(out["metadata"]["annotations"]["a"] == "1");
  REQUIRE(out["spec"]["containers"].size() == 2);
  CHECK(out["spec"]["containers"][0]["image"] == "nginx:1.26");
  CHECK(out["spec"]["containers"][0]["command"] == Json::array({"nginx"}));  // merged, not replaced
  CHECK(out["spec"]["containers"][0]["ports"] == live["spec"]["containers"][0]["ports"]);
  CHECK(out["spec"]["containers"][1] == live["spec"]["containers"][1]);
  CHECK_FALSE(out["spec"].contains("$setElementOrder/containers"));

  // The wire contract's single-container form.
  Json one = live;
  one["spec"]["containers"].erase(1);
  Json wire = Json::parse(R"({"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"x"}},
    "spec":{"$setElementOrder/containers":[{"name":"main"}],"containers":[{"image":"nginx:1.26","name":"main"}]}})");
  out = applyStrategicMergePatch(res("Pod"), one, wire);
  REQUIRE(out["spec"]["containers"].size() == 1);
  CHECK(out["spec"]["containers"][0]["image"] == "nginx:1.26");
  CHECK(out["spec"]["containers"][0]["name"] == "main");
}

TEST_CASE("smp: merge keys per list", "[api][patch]") {
  Json live = livePod();
  Json patch = Json::parse(R"({"spec":{"containers":[{"name":"main",
      "ports":[{"containerPort":443,"name":"https"},{"containerPort":8080}],
      "env":[{"name":"B","value":"22"},{"name":"C","value":"3"}],
      "volumeMounts":[{"mountPath":"/data","readOnly":true}],
      "command":["nginx","-g"]},
     {"name":"new","command":["true"]}],
    "volumes":[{"name":"cache","emptyDir":{}}],
    "tolerations":[{"key":"b","operator":"Exists"}]}})");
  Json out = applyStrategicMergePatch(res("Pod"), live, patch);
  const Json& c = out["spec"]["containers"];
  CHECK(names(c) == std::vector<std::string>{"main", "side", "new"});
  CHECK(names(c[0]["ports"], "containerPort") == std::vector<std::string>{"80", "443", "8080"});
  CHECK(c[0]["ports"][1] == Json{{"containerPort", 443}, {"protocol", "TCP"}, {"name", "https"}});
  CHECK(names(c[0]["env"]) == std::vector<std::string>{"A", "B", "C"});
  CHECK(c[0]["env"][1]["value"] == "22");
  CHECK(c[0]["volumeMounts"] == Json::parse(R"([{"name":"data","mountPath":"/data","readOnly":true}])"));
  CHECK(c[0]["command"] == Json::array({"nginx", "-g"}));  // no strategy: replaced
  CHECK(names(out["spec"]["volumes"]) == std::vector<std::string>{"data", "cache"});
  CHECK(out["spec"]["tolerations"] == Json::parse(R"([{"key":"b","operator":"Exists"}])"));  // replace strategy
}

TEST_CASE("smp: service ports by port, deployment template paths", "[api][patch]") {
  Json svc = Json::parse(R"({"spec":{"ports":[{"name":"http","port":80,"targetPort":8080},{"name":"https","port":443}],
    "selector":{"app":"web","tier":"x"}}})");
  Json out = applyStrategicMergePatch(res("Service"), svc,
                                      Json::parse(R"({"spec":{"ports":[{"port":80,"targetPort":9090}],"selector":{"tier":null}}})"));
  CHECK(out["spec"]["ports"][0] == Json::parse(R"({"name":"http","port":80,"targetPort":9090})"));
  CHECK(out["spec"]["ports"].size() == 2);
  CHECK(out["spec"]["selector"] == Json{{"app", "web"}});

  Json d = Json::parse(R"({"spec":{"replicas":1,"template":{"metadata":{"labels":{"app":"web"}},
    "spec":{"containers":[{"name":"main","image":"a","env":[{"name":"X","value":"1"}]}]}}}})");
  out = applyStrategicMergePatch(res("Deployment"), d, Json::parse(R"({"spec":{"template":{
    "metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2024-01-01T00:00:00Z"}},
    "spec":{"containers":[{"name":"main","env":[{"name":"Y","value":"2"}]}]}}}})"));
  CHECK(out["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] == "2024-01-01T00:00:00Z");
  CHECK(out["spec"]["template"]["metadata"]["labels"]["app"] == "web");
  CHECK(out["spec"]["template"]["spec"]["containers"][0]["image"] == "a");
  CHECK(names(out["spec"]["template"]["spec"]["containers"][0]["env"]) == std::vector<std::string>{"X", "Y"});

  // A list that has no merge key for the kind is replaced (a ConfigMap has none; Service ports in a Pod path aren't keyed).
  Json ep = Json::parse(R"({"subsets":[{"addresses":[{"ip":"1.1.1.1"}]}]})");
  out = applyStrategicMergePatch(res("Endpoints"), ep, Json::parse(R"({"subsets":[{"addresses":[{"ip":"2.2.2.2"}]}]})"));
  CHECK(out["subsets"] == Json::parse(R"([{"addresses":[{"ip":"2.2.2.2"}]}])"));
}

TEST_CASE("smp: null deletes, and nulls for absent keys are dropped", "[api][patch]") {
  Json live = livePod();
  Json out = applyStrategicMergePatch(res("Pod"), live,
                                      Json::parse(R"({"metadata":{"labels":{"tier":null,"ghost":null}},"spec":{"restartPolicy":null,
      "newmap":{"x":null,"y":1}}})"));
  CHECK(out["metadata"]["labels"] == Json{{"app", "web"}});
  CHECK_FALSE(out["spec"].contains("restartPolicy"));
  CHECK(out["spec"]["newmap"] == Json{{"y", 1}});
}

TEST_CASE("smp: $patch delete and replace on list elements and maps", "[api][patch]") {
  Json live = livePod();
  Json out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"containers":[
      {"name":"side","$patch":"delete"},
      {"name":"main","env":[{"name":"A","$patch":"delete"}]}]}})"));
  CHECK(names(out["spec"]["containers"]) == std::vector<std::string>{"main"});
  CHECK(names(out["spec"]["containers"][0]["env"]) == std::vector<std::string>{"B"});

  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"containers":[{"$patch":"replace"},
      {"name":"only","command":["x"]}]}})"));
  CHECK(out["spec"]["containers"] == Json::parse(R"([{"name":"only","command":["x"]}])"));

  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"metadata":{"labels":{"$patch":"replace","only":"1"}}})"));
  CHECK(out["metadata"]["labels"] == Json{{"only", "1"}});

  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"metadata":{"annotations":{"$patch":"delete"}},
      "spec":{"nothere":{"$patch":"delete"}}})"));
  CHECK(out["metadata"]["annotations"] == Json::object());
  CHECK_FALSE(out["spec"].contains("nothere"));

  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"$patch":"replace","kind":"Pod","metadata":{"name":"x"}})"));
  CHECK(out == Json::parse(R"({"kind":"Pod","metadata":{"name":"x"}})"));

  // A deleted element that never existed is harmless; a new list drops delete markers.
  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"initContainers":[{"name":"i","$patch":"delete"},
      {"name":"j","command":["true"]}]}})"));
  CHECK(out["spec"]["initContainers"] == Json::parse(R"([{"name":"j","command":["true"]}])"));
}

TEST_CASE("smp: $setElementOrder orders patch and live-only items", "[api][patch]") {
  Json live = Json::parse(R"({"spec":{"containers":[{"name":"a"},{"name":"b"},{"name":"c"}]}})");
  // Reorder every element.
  Json out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{
      "$setElementOrder/containers":[{"name":"c"},{"name":"b"},{"name":"a"}]}})"));
  CHECK(names(out["spec"]["containers"]) == std::vector<std::string>{"c", "b", "a"});
  // A new element placed first; live-only "b" keeps its place relative to the live order.
  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{
      "$setElementOrder/containers":[{"name":"n"},{"name":"a"},{"name":"c"}],"containers":[{"name":"n","image":"x"}]}})"));
  CHECK(names(out["spec"]["containers"]) == std::vector<std::string>{"n", "a", "b", "c"});
  // Deletion together with an order (what kubectl sends when a container is removed from the file).
  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{
      "$setElementOrder/containers":[{"name":"c"},{"name":"a"}],"containers":[{"name":"b","$patch":"delete"}]}})"));
  CHECK(names(out["spec"]["containers"]) == std::vector<std::string>{"c", "a"});
  // Scalars: finalizers (a merged set) with an order.
  Json pod = Json::parse(R"({"metadata":{"finalizers":["x","y"]}})");
  out = applyStrategicMergePatch(res("Pod"), pod, Json::parse(R"({"metadata":{
      "$setElementOrder/finalizers":["z","y","x"],"finalizers":["z"]}})"));
  CHECK(out["metadata"]["finalizers"] == Json::array({"z", "y", "x"}));
}

TEST_CASE("smp: primitive sets and $deleteFromPrimitiveList", "[api][patch]") {
  Json live = livePod();
  Json out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"metadata":{"finalizers":["x/b","x/a"]}})"));
  CHECK(out["metadata"]["finalizers"] == Json::array({"x/a", "x/b"}));
  out = applyStrategicMergePatch(res("Pod"), out, Json::parse(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["x/a"]}})"));
  CHECK(out["metadata"]["finalizers"] == Json::array({"x/b"}));
  Json node = Json::parse(R"({"spec":{"podCIDRs":["10.0.0.0/24"]}})");
  out = applyStrategicMergePatch(res("Node"), node, Json::parse(R"({"spec":{"podCIDRs":["fd00::/64"]}})"));
  CHECK(out["spec"]["podCIDRs"] == Json::array({"10.0.0.0/24", "fd00::/64"}));
  // A list of strings without a strategy is replaced.
  out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"containers":[{"name":"side","command":["a"]}]}})"));
  CHECK(out["spec"]["containers"][1]["command"] == Json::array({"a"}));
}

TEST_CASE("smp: $retainKeys (deployment strategy switch)", "[api][patch]") {
  Json d = Json::parse(R"({"spec":{"strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}}}})");
  Json out = applyStrategicMergePatch(res("Deployment"), d,
                                      Json::parse(R"({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}})"));
  CHECK(out["spec"]["strategy"] == Json{{"type", "Recreate"}});
  // Volumes switch their source the same way.
  Json p = livePod();
  out = applyStrategicMergePatch(res("Pod"), p, Json::parse(R"({"spec":{"volumes":[
      {"name":"data","$retainKeys":["configMap","name"],"configMap":{"name":"cfg"}}]}})"));
  CHECK(out["spec"]["volumes"] == Json::parse(R"([{"name":"data","configMap":{"name":"cfg"}}])"));
  CHECK(code([&] {
          applyStrategicMergePatch(res("Deployment"), d,
                                   Json::parse(R"({"spec":{"strategy":{"$retainKeys":["type"],"rollingUpdate":{}}}})"));
        }) == 400);
  CHECK(code([&] {
          applyStrategicMergePatch(res("Deployment"), d, Json::parse(R"({"spec":{"strategy":{"$retainKeys":"type"}}})"));
        }) == 400);
}

TEST_CASE("smp: type changes and conditions by type", "[api][patch]") {
  Json live = Json::parse(R"({"spec":{"x":"s","y":{"a":1}},"status":{"conditions":[{"type":"Ready","status":"False"},
      {"type":"PodScheduled","status":"True"}]}})");
  Json out = applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"x":{"b":2},"y":"str"},
      "status":{"conditions":[{"type":"Ready","status":"True"}]}})"));
  CHECK(out["spec"]["x"] == Json{{"b", 2}});
  CHECK(out["spec"]["y"] == "str");
  CHECK(out["status"]["conditions"] == Json::parse(R"([{"type":"Ready","status":"True"},{"type":"PodScheduled","status":"True"}])"));
}

TEST_CASE("smp: malformed patches", "[api][patch]") {
  Json live = livePod();
  CHECK(code([&] { applyStrategicMergePatch(res("Pod"), live, Json::array()); }) == 400);
  CHECK(code([&] { applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"$patch":"merge"})")); }) == 400);
  CHECK(code([&] { applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"$patch":"frob"}})")); }) == 400);
  CHECK(code([&] { applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"$bogus":1}})")); }) == 400);
  CHECK(code([&] {
          applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"containers":[{"image":"no-name"}]}})"));
        }) == 500);
  CHECK(code([&] { applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"x":[[1]]}})")); }) == 422);
  CHECK(code([&] {
          applyStrategicMergePatch(res("Pod"), live, Json::parse(R"({"spec":{"$setElementOrder/containers":{"name":"a"}}})"));
        }) == 400);
}
