// Defaults, validation (causes with field paths and kubectl's wording) and unknown-field detection.
#include "api/validation.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace minikd::api;

namespace {

const ResourceInfo& res(const char* kind) {
  for (const auto& r : builtinResources())
    if (r.kind == kind) return r;
  throw std::runtime_error(std::string("no kind ") + kind);
}

Json pod() {
  return Json::parse(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-1","namespace":"default","labels":{"app":"web"}},
    "spec":{"containers":[{"name":"main","image":"busybox","command":["sleep","3600"],
      "ports":[{"containerPort":8080,"name":"http"}]}]}})");
}

Json deployment() {
  return Json::parse(R"({"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},
    "spec":{"selector":{"matchLabels":{"app":"web"}},
      "template":{"metadata":{"labels":{"app":"web"}},
        "spec":{"containers":[{"name":"main","image":"nginx:1.25","command":["python3","-m","http.server"]}]}}}})");
}

Json service() {
  return Json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},
    "spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}})");
}

/// The cause for `field`, or a failed test.
Cause causeFor(const std::vector<Cause>& causes, const std::string& field) {
  for (const auto& c : causes)
    if (c.field == field) return c;
  std::string all;
  for (const auto& c : causes) all += c.field + ": " + c.message + "\n";
  FAIL("no cause for " << field << "; causes:\n" << all);
  return {};
}

bool hasCause(const std::vector<Cause>& causes, const std::string& field) {
  return std::any_of(causes.begin(), causes.end(), [&](const Cause& c) { return c.field == field; });
}

std::string dump(const std::vector<Cause>& causes) {
  std::string all;
  for (const auto& c : causes) all += c.field + ": " + c.message + "\n";
  return all;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Defaults

TEST_CASE("defaults: pod", "[api][validation]") {
  Json p = pod();
  p["spec"]["containers"][0]["livenessProbe"] = {{"httpGet", {{"port", 8080}}}};
  p["spec"]["containers"][0]["resources"] = {{"limits", {{"cpu", "1"}}}};
  p["spec"]["volumes"] = {{{"name", "data"}}, {{"name", "cfg"}, {"configMap", {{"name", "c"}}}}};
  applyDefaults(res("Pod"), p);
  const Json& s = p["spec"];
  CHECK(s["restartPolicy"] == "Always");
  CHECK(s["dnsPolicy"] == "ClusterFirst");
  CHECK(s["terminationGracePeriodSeconds"] == 30);
  CHECK(s["schedulerName"] == "default-scheduler");
  CHECK(s["securityContext"] == Json::object());
  CHECK(s["enableServiceLinks"] == true);
  const Json& c = s["containers"][0];
  CHECK(c["terminationMessagePath"] == "/dev/termination-log");
  CHECK(c["terminationMessagePolicy"] == "File");
  CHECK(c["imagePullPolicy"] == "Always");  // no tag
  CHECK(c["ports"][0]["protocol"] == "TCP");
  CHECK(c["livenessProbe"]["timeoutSeconds"] == 1);
  CHECK(c["livenessProbe"]["periodSeconds"] == 10);
  CHECK(c["livenessProbe"]["successThreshold"] == 1);
  CHECK(c["livenessProbe"]["failureThreshold"] == 3);
  CHECK(c["livenessProbe"]["httpGet"]["path"] == "/");
  CHECK(c["livenessProbe"]["httpGet"]["scheme"] == "HTTP");
  CHECK(c["resources"]["requests"]["cpu"] == "1");
  CHECK(s["volumes"][0]["emptyDir"] == Json::object());
  CHECK(s["volumes"][1]["configMap"]["defaultMode"] == 420);

  // Set values are kept; defaulting twice changes nothing.
  Json again = p;
  applyDefaults(res("Pod"), again);
  CHECK(again == p);
  Json q = pod();
  q["spec"]["restartPolicy"] = "Never";
  applyDefaults(res("Pod"), q);
  CHECK(q["spec"]["restartPolicy"] == "Never");
}

TEST_CASE("defaults: imagePullPolicy follows the tag", "[api][validation]") {
  auto policy = [](const char* image) {
    Json p = pod();
    p["spec"]["containers"][0]["image"] = image;
    applyDefaults(res("Pod"), p);
    return p["spec"]["containers"][0]["imagePullPolicy"].get<std::string>();
  };
  CHECK(policy("nginx") == "Always");
  CHECK(policy("nginx:latest") == "Always");
  CHECK(policy("nginx:1.25") == "IfNotPresent");
  CHECK(policy("localhost:5000/nginx") == "Always");
  CHECK(policy("localhost:5000/nginx:1.2") == "IfNotPresent");
  CHECK(policy("nginx@sha256:abcd") == "IfNotPresent");
  Json p = pod();
  p["spec"]["containers"][0].erase("image");
  applyDefaults(res("Pod"), p);
  CHECK_FALSE(p["spec"]["containers"][0].contains("imagePullPolicy"));
}

TEST_CASE("defaults: service", "[api][validation]") {
  Json s = service();
  s["spec"]["ports"].push_back({{"port", 443}, {"name", "https"}});
  applyDefaults(res("Service"), s);
  CHECK(s["spec"]["type"] == "ClusterIP");
  CHECK(s["spec"]["sessionAffinity"] == "None");
  CHECK(s["spec"]["ports"][0]["protocol"] == "TCP");
  CHECK(s["spec"]["ports"][0]["targetPort"] == 8080);
  CHECK(s["spec"]["ports"][1]["targetPort"] == 443);
  CHECK(s["spec"]["ipFamilies"] == Json::array({"IPv4"}));
  CHECK(s["spec"]["ipFamilyPolicy"] == "SingleStack");
  CHECK(s["spec"]["internalTrafficPolicy"] == "Cluster");
  CHECK_FALSE(s["spec"].contains("externalTrafficPolicy"));

  Json np = service();
  np["spec"]["type"] = "NodePort";
  np["spec"]["sessionAffinity"] = "ClientIP";
  applyDefaults(res("Service"), np);
  CHECK(np["spec"]["externalTrafficPolicy"] == "Cluster");
  CHECK(np["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"] == 10800);

  Json en = Json::parse(R"({"metadata":{"name":"x"},"spec":{"type":"ExternalName","externalName":"example.com"}})");
  applyDefaults(res("Service"), en);
  CHECK_FALSE(en["spec"].contains("ipFamilies"));
  CHECK_FALSE(en["spec"].contains("internalTrafficPolicy"));

  Json headless = Json::parse(R"({"metadata":{"name":"x"},"spec":{"clusterIP":"None"}})");
  applyDefaults(res("Service"), headless);
  CHECK(headless["spec"]["ipFamilyPolicy"] == "RequireDualStack");
}

TEST_CASE("defaults: deployment, replicaset and the pod template", "[api][validation]") {
  Json d = deployment();
  applyDefaults(res("Deployment"), d);
  CHECK(d["spec"]["replicas"] == 1);
  CHECK(d["spec"]["strategy"]["type"] == "RollingUpdate");
  CHECK(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == "25%");
  CHECK(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%");
  CHECK(d["spec"]["revisionHistoryLimit"] == 10);
  CHECK(d["spec"]["progressDeadlineSeconds"] == 600);
  const Json& ts = d["spec"]["template"]["spec"];
  CHECK(ts["restartPolicy"] == "Always");
  CHECK(ts["containers"][0]["imagePullPolicy"] == "IfNotPresent");
  CHECK_FALSE(ts.contains("enableServiceLinks"));  // Pod only

  Json recreate = deployment();
  recreate["spec"]["strategy"] = {{"type", "Recreate"}};
  applyDefaults(res("Deployment"), recreate);
  CHECK_FALSE(recreate["spec"]["strategy"].contains("rollingUpdate"));

  Json rs = deployment();
  rs["kind"] = "ReplicaSet";
  applyDefaults(res("ReplicaSet"), rs);
  CHECK(rs["spec"]["replicas"] == 1);
  CHECK(rs["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst");
  CHECK_FALSE(rs["spec"].contains("strategy"));
}

TEST_CASE("defaults: namespace, secret, endpoints, endpointslice, node", "[api][validation]") {
  Json ns = {{"metadata", {{"name", "team-a"}}}};
  applyDefaults(res("Namespace"), ns);
  CHECK(ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team-a");
  CHECK(ns["spec"]["finalizers"] == Json::array({"kubernetes"}));
  CHECK(ns["status"]["phase"] == "Active");

  Json sec = {{"metadata", {{"name", "s"}}}, {"stringData", {{"user", "admin"}, {"pw", "ab"}}}, {"data", {{"x", "eA=="}}}};
  applyDefaults(res("Secret"), sec);
  CHECK(sec["type"] == "Opaque");
  CHECK(sec["data"]["user"] == "YWRtaW4=");
  CHECK(sec["data"]["pw"] == "YWI=");
  CHECK(sec["data"]["x"] == "eA==");
  CHECK_FALSE(sec.contains("stringData"));

  Json ep = Json::parse(R"({"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.244.0.5"}],"ports":[{"port":80}]}]})");
  applyDefaults(res("Endpoints"), ep);
  CHECK(ep["subsets"][0]["ports"][0]["protocol"] == "TCP");

  Json es = Json::parse(R"({"metadata":{"name":"web-abc"},"addressType":"IPv4","ports":[{"port":80}]})");
  applyDefaults(res("EndpointSlice"), es);
  CHECK(es["ports"][0]["name"] == "");
  CHECK(es["ports"][0]["protocol"] == "TCP");

  Json node = Json::parse(R"({"metadata":{"name":"n1"},"status":{"capacity":{"cpu":"2"}}})");
  applyDefaults(res("Node"), node);
  CHECK(node["status"]["allocatable"]["cpu"] == "2");
}

// ------------------------------------------------------------------------------------------------
// Validation

TEST_CASE("validate: a valid pod, deployment and service", "[api][validation]") {
  Json p = pod(), d = deployment(), s = service();
  applyDefaults(res("Pod"), p);
  applyDefaults(res("Deployment"), d);
  applyDefaults(res("Service"), s);
  CHECK(dump(validate(res("Pod"), p, nullptr)).empty());
  CHECK(dump(validate(res("Deployment"), d, nullptr)).empty());
  CHECK(dump(validate(res("Service"), s, nullptr)).empty());
  // Defaults are not required for validity.
  CHECK(dump(validate(res("Pod"), pod(), nullptr)).empty());
}

TEST_CASE("validate: metadata names", "[api][validation]") {
  Json p = pod();
  p["metadata"]["name"] = "Web";
  auto c = causeFor(validate(res("Pod"), p, nullptr), "metadata.name");
  CHECK(c.reason == "FieldValueInvalid");
  CHECK_THAT(c.message, Catch::StartsWith("Invalid value: \"Web\": a lowercase RFC 1123 subdomain must consist of"));

  p["metadata"]["name"] = "web.v1";  // subdomains may have dots
  CHECK_FALSE(hasCause(validate(res("Pod"), p, nullptr), "metadata.name"));
  p["metadata"].erase("name");
  c = causeFor(validate(res("Pod"), p, nullptr), "metadata.name");
  CHECK(c.reason == "FieldValueRequired");
  CHECK(c.message == "Required value: name or generateName is required");

  Json ns = {{"metadata", {{"name", "a.b"}}}};
  c = causeFor(validate(res("Namespace"), ns, nullptr), "metadata.name");
  CHECK_THAT(c.message, Catch::Contains("RFC 1123 label"));

  Json s = service();
  s["metadata"]["name"] = "1web";
  c = causeFor(validate(res("Service"), s, nullptr), "metadata.name");
  CHECK_THAT(c.message, Catch::Contains("a DNS-1035 label must consist of"));

  Json cm = {{"metadata", {{"name", std::string(254, 'a')}}}};
  c = causeFor(validate(res("ConfigMap"), cm, nullptr), "metadata.name");
  CHECK_THAT(c.message, Catch::Contains("must be no more than 253 characters"));

  Json node = {{"metadata", {{"name", "n1"}, {"namespace", "default"}}}};
  CHECK(causeFor(validate(res("Node"), node, nullptr), "metadata.namespace").reason == "FieldValueForbidden");
}

TEST_CASE("validate: labels and annotations", "[api][validation]") {
  Json p = pod();
  p["metadata"]["labels"] = {{"-bad", "x"}, {"good", "bad value"}};
  auto causes = validate(res("Pod"), p, nullptr);
  int label_causes = 0;
  for (const auto& c : causes)
    if (c.field == "metadata.labels") ++label_causes;
  CHECK(label_causes == 2);
  p = pod();
  p["metadata"]["annotations"] = {{"big", std::string(300 * 1024, 'x')}};
  CHECK(causeFor(validate(res("Pod"), p, nullptr), "metadata.annotations").reason == "FieldValueTooLong");
  p["metadata"]["annotations"] = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}};
  CHECK(validate(res("Pod"), p, nullptr).empty());
}

TEST_CASE("validate: a container without command is rejected with the reason", "[api][validation]") {
  Json p = pod();
  p["spec"]["containers"][0].erase("command");
  p["spec"]["containers"][0]["args"] = {"-x"};
  auto c = causeFor(validate(res("Pod"), p, nullptr), "spec.containers[0].command");
  CHECK(c.reason == "FieldValueRequired");
  CHECK_THAT(c.message, Catch::StartsWith("Required value: minikd runs the container's command and args"));
  // The same rule inside a template, with the template's path.
  Json d = deployment();
  d["spec"]["template"]["spec"]["containers"][0]["command"] = Json::array();
  CHECK(causeFor(validate(res("Deployment"), d, nullptr), "spec.template.spec.containers[0].command").reason ==
        "FieldValueRequired");
  // image is optional.
  p = pod();
  p["spec"]["containers"][0].erase("image");
  CHECK(validate(res("Pod"), p, nullptr).empty());
}

TEST_CASE("validate: containers, names and enums", "[api][validation]") {
  Json p = pod();
  p["spec"]["containers"] = Json::array();
  CHECK(causeFor(validate(res("Pod"), p, nullptr), "spec.containers").reason == "FieldValueRequired");

  p = pod();
  p["spec"]["containers"].push_back(p["spec"]["containers"][0]);
  auto c = causeFor(validate(res("Pod"), p, nullptr), "spec.containers[1].name");
  CHECK(c.reason == "FieldValueDuplicate");
  CHECK(c.message == "Duplicate value: \"main\"");

  p = pod();
  p["spec"]["initContainers"] = {{{"name", "main"}, {"command", {"true"}}}};
  CHECK(causeFor(validate(res("Pod"), p, nullptr), "spec.initContainers[0].name").reason == "FieldValueDuplicate");

  p = pod();
  p["spec"]["containers"][0]["name"] = "Main_1";
  CHECK(causeFor(validate(res("Pod"), p, nullptr), "spec.containers[0].name").reason == "FieldValueInvalid");
  p["spec"]["containers"][0].erase("name");
  CHECK(causeFor(validate(res("Pod"), p, nullptr), "spec.containers[0].name").reason == "FieldValueRequired");

  p = pod();
  p["spec"]["restartPolicy"] = "Sometimes";
  c = causeFor(validate(res("Pod"), p, nullptr), "spec.restartPolicy");
  CHECK(c.reason == "FieldValueNotSupported");
  CHECK(c.message == "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"");
  p = pod();
  p["spec"]["containers"][0]["imagePullPolicy"] = "Maybe";
  CHECK(causeFor(validate(res("Pod"), p, nullptr), "spec.containers[0].imagePullPolicy").reason == "FieldValueNotSupported");

  Json d = deployment();
  d["spec"]["template"]["spec"]["restartPolicy"] = "Never";
  c = causeFor(validate(res("Deployment"), d, nullptr), "spec.template.spec.restartPolicy");
  CHECK(c.message == "Unsupported value: \"Never\": supported values: \"Always\"");
}

TEST_CASE("validate: container ports, env, volume mounts, probes", "[api][validation]") {
  Json p = pod();
  auto& c0 = p["spec"]["containers"][0];
  c0["ports"] = {{{"containerPort", 0}},
                 {{"containerPort", 70000}},
                 {{"containerPort", 80}, {"name", "http"}},
                 {{"containerPort", 81}, {"name", "http"}},
                 {{"containerPort", 82}, {"name", "Bad_Name"}},
                 {{"containerPort", 83}, {"protocol", "ICMP"}},
                 {{"name", "noport"}}};
  c0["env"] = {{{"name", "A=B"}}, {{"value", "x"}}, {{"name", "1-GOOD.too"}, {"value", "1"}}};
  c0["volumeMounts"] = {{{"name", "missing"}, {"mountPath", "/data"}}, {{"name", "data"}}};
  p["spec"]["volumes"] = {{{"name", "data"}, {"emptyDir", Json::object()}}, {{"name", "data"}, {"emptyDir", Json::object()}}};
  c0["readinessProbe"] = {{"httpGet", {{"port", 0}}}, {"tcpSocket", {{"port", 80}}}};
  c0["livenessProbe"] = Json::object();
  auto causes = validate(res("Pod"), p, nullptr);
  auto c = causeFor(causes, "spec.containers[0].ports[0].containerPort");
  CHECK(c.message == "Invalid value: 0: must be between 1 and 65535, inclusive");
  CHECK(causeFor(causes, "spec.containers[0].ports[1].containerPort").reason == "FieldValueInvalid");
  CHECK(causeFor(causes, "spec.containers[0].ports[3].name").reason == "FieldValueDuplicate");
  CHECK(causeFor(causes, "spec.containers[0].ports[4].name").reason == "FieldValueInvalid");
  CHECK(causeFor(causes, "spec.containers[0].ports[5].protocol").reason == "FieldValueNotSupported");
  CHECK(causeFor(causes, "spec.containers[0].ports[6].containerPort").reason == "FieldValueRequired");
  CHECK_THAT(causeFor(causes, "spec.containers[0].env[0].name").message, Catch::Contains("other than '='"));
  CHECK(causeFor(causes, "spec.containers[0].env[1].name").reason == "FieldValueRequired");
  CHECK_FALSE(hasCause(causes, "spec.containers[0].env[2].name"));
  c = causeFor(causes, "spec.containers[0].volumeMounts[0].name");
  CHECK(c.reason == "FieldValueNotFound");
  CHECK(c.message == "Not found: \"missing\"");
  CHECK(causeFor(causes, "spec.containers[0].volumeMounts[1].mountPath").reason == "FieldValueRequired");
  CHECK(causeFor(causes, "spec.volumes[1].name").reason == "FieldValueDuplicate");
  CHECK(causeFor(causes, "spec.containers[0].readinessProbe").reason == "FieldValueForbidden");
  CHECK(causeFor(causes, "spec.containers[0].readinessProbe.httpGet.port").reason == "FieldValueInvalid");
  CHECK(causeFor(causes, "spec.containers[0].livenessProbe").reason == "FieldValueRequired");
}

TEST_CASE("validate: service ports and types", "[api][validation]") {
  Json s = service();
  s["spec"]["ports"] = {{{"port", 80}}, {{"port", 80}, {"name", "b"}}, {{"port", 0}, {"name", "b"}},
                        {{"port", 90}, {"name", "d"}, {"targetPort", "Bad--name"}}};
  auto causes = validate(res("Service"), s, nullptr);
  CHECK(causeFor(causes, "spec.ports[0].name").reason == "FieldValueRequired");
  CHECK(causeFor(causes, "spec.ports[1]").reason == "FieldValueDuplicate");
  CHECK(causeFor(causes, "spec.ports[2].name").reason == "FieldValueDuplicate");
  CHECK(causeFor(causes, "spec.ports[2].port").message == "Invalid value: 0: must be between 1 and 65535, inclusive");
  CHECK(causeFor(causes, "spec.ports[3].targetPort").reason == "FieldValueInvalid");

  s = service();
  s["spec"]["ports"] = {{{"port", 53}, {"protocol", "UDP"}, {"name", "dns"}}, {{"port", 53}, {"protocol", "TCP"}, {"name", "dns-tcp"}}};
  CHECK(validate(res("Service"), s, nullptr).empty());  // same port, different protocols

  s = service();
  s["spec"]["type"] = "Magic";
  CHECK(causeFor(validate(res("Service"), s, nullptr), "spec.type").reason == "FieldValueNotSupported");
  s = service();
  s["spec"]["ports"] = Json::array();
  CHECK(causeFor(validate(res("Service"), s, nullptr), "spec.ports").reason == "FieldValueRequired");
  s["spec"]["clusterIP"] = "None";  // headless services may have no ports
  CHECK(validate(res("Service"), s, nullptr).empty());
  s = service();
  s["spec"]["type"] = "ExternalName";
  CHECK(causeFor(validate(res("Service"), s, nullptr), "spec.externalName").reason == "FieldValueRequired");
  s = service();
  s["spec"]["ports"][0]["nodePort"] = 30080;
  CHECK(causeFor(validate(res("Service"), s, nullptr), "spec.ports[0].nodePort").reason == "FieldValueForbidden");
  s["spec"]["type"] = "NodePort";
  CHECK(validate(res("Service"), s, nullptr).empty());
}

TEST_CASE("validate: deployment selector, template labels and replicas", "[api][validation]") {
  Json d = deployment();
  d["spec"]["template"]["metadata"]["labels"] = {{"app", "api"}};
  auto c = causeFor(validate(res("Deployment"), d, nullptr), "spec.template.metadata.labels");
  CHECK(c.reason == "FieldValueInvalid");
  CHECK_THAT(c.message, Catch::EndsWith("`selector` does not match template `labels`"));

  d = deployment();
  d["spec"].erase("selector");
  CHECK(causeFor(validate(res("Deployment"), d, nullptr), "spec.selector").reason == "FieldValueRequired");
  d["spec"]["selector"] = Json::object();
  CHECK_THAT(causeFor(validate(res("Deployment"), d, nullptr), "spec.selector").message, Catch::Contains("empty selector"));
  d["spec"]["selector"] = {{"matchExpressions", {{{"key", "app"}, {"operator", "Near"}}}}};
  CHECK(causeFor(validate(res("Deployment"), d, nullptr), "spec.selector.matchExpressions[0].operator").reason ==
        "FieldValueInvalid");

  d = deployment();
  d["spec"]["replicas"] = -1;
  c = causeFor(validate(res("Deployment"), d, nullptr), "spec.replicas");
  CHECK(c.message == "Invalid value: -1: must be greater than or equal to 0");
  d["spec"]["replicas"] = 0;
  CHECK(validate(res("Deployment"), d, nullptr).empty());

  d = deployment();
  d["spec"]["strategy"] = {{"type", "Recreate"}, {"rollingUpdate", {{"maxSurge", 1}}}};
  CHECK(causeFor(validate(res("Deployment"), d, nullptr), "spec.strategy.rollingUpdate").reason == "FieldValueForbidden");
  d["spec"]["strategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 0}, {"maxUnavailable", "0%"}}}};
  CHECK(hasCause(validate(res("Deployment"), d, nullptr), "spec.strategy.rollingUpdate.maxUnavailable"));

  Json rs = deployment();
  rs["kind"] = "ReplicaSet";
  rs["spec"]["template"]["metadata"]["labels"] = Json::object();
  CHECK(hasCause(validate(res("ReplicaSet"), rs, nullptr), "spec.template.metadata.labels"));
}

TEST_CASE("validate: configmap and secret keys", "[api][validation]") {
  Json cm = {{"metadata", {{"name", "cm2"}}}, {"data", {{"a b", "x"}, {"ok.key_1", "y"}}}, {"binaryData", {{"ok.key_1", "eQ=="}}}};
  auto causes = validate(res("ConfigMap"), cm, nullptr);
  auto c = causeFor(causes, "data[a b]");
  CHECK_THAT(c.message, Catch::StartsWith("Invalid value: \"a b\": a valid config key must consist of alphanumeric characters"));
  CHECK(hasCause(causes, "binaryData[ok.key_1]"));  // duplicate across data and binaryData
  CHECK_FALSE(hasCause(causes, "data[ok.key_1]"));

  Json sec = {{"metadata", {{"name", "s"}}}, {"type", "Opaque"}, {"data", {{"k", "not base64!"}}}};
  CHECK(hasCause(validate(res("Secret"), sec, nullptr), "data[k]"));
  sec["data"]["k"] = "aGVsbG8=";
  CHECK(validate(res("Secret"), sec, nullptr).empty());
  sec["type"] = "kubernetes.io/tls";
  CHECK(hasCause(validate(res("Secret"), sec, nullptr), "data[tls.crt]"));
}

TEST_CASE("validate: endpoints and endpointslices", "[api][validation]") {
  Json ep = Json::parse(R"({"metadata":{"name":"web"},"subsets":[{"addresses":[{"ip":"10.244.0.5"},{"ip":"300.1.1.1"}],
    "ports":[{"port":80,"name":"a"},{"port":0,"name":"b"}]}]})");
  auto causes = validate(res("Endpoints"), ep, nullptr);
  CHECK(hasCause(causes, "subsets[0].addresses[1].ip"));
  CHECK_FALSE(hasCause(causes, "subsets[0].addresses[0].ip"));
  CHECK(hasCause(causes, "subsets[0].ports[1].port"));

  Json es = Json::parse(R"({"metadata":{"name":"web-abc"},"addressType":"IPv5","endpoints":[{"addresses":[]}]})");
  causes = validate(res("EndpointSlice"), es, nullptr);
  CHECK(causeFor(causes, "addressType").reason == "FieldValueNotSupported");
  CHECK(causeFor(causes, "endpoints[0].addresses").reason == "FieldValueRequired");
}

// ------------------------------------------------------------------------------------------------
// Updates

TEST_CASE("validate update: pod spec is immutable except image and a few fields", "[api][validation]") {
  Json old = pod();
  applyDefaults(res("Pod"), old);
  Json upd = old;
  upd["spec"]["containers"][0]["image"] = "busybox:2";
  upd["spec"]["activeDeadlineSeconds"] = 100;
  upd["spec"]["tolerations"] = {{{"key", "k"}, {"operator", "Exists"}}};
  upd["spec"]["nodeName"] = "node-1";  // binding an unbound pod
  upd["metadata"]["labels"]["extra"] = "1";
  CHECK(dump(validate(res("Pod"), upd, &old)).empty());

  Json cmd = old;
  cmd["spec"]["containers"][0]["command"] = {"sleep", "1"};
  auto c = causeFor(validate(res("Pod"), cmd, &old), "spec");
  CHECK(c.reason == "FieldValueForbidden");
  CHECK_THAT(c.message, Catch::StartsWith("Forbidden: pod updates may not change fields other than `spec.containers[*].image`"));

  Json bound = upd;
  Json rebind = upd;
  rebind["spec"]["nodeName"] = "node-2";
  CHECK(hasCause(validate(res("Pod"), rebind, &bound), "spec"));
  Json removed = upd;
  removed["spec"].erase("tolerations");
  CHECK(hasCause(validate(res("Pod"), removed, &upd), "spec.tolerations"));
}

TEST_CASE("validate update: immutable fields of other kinds", "[api][validation]") {
  Json old = service();
  old["spec"]["clusterIP"] = "10.96.0.5";
  Json upd = old;
  upd["spec"]["clusterIP"] = "10.96.0.6";
  CHECK(causeFor(validate(res("Service"), upd, &old), "spec.clusterIPs[0]").message ==
        "Invalid value: \"10.96.0.6\": may not change once set");
  upd["spec"]["clusterIP"] = "10.96.0.5";
  upd["spec"]["ports"][0]["port"] = 81;
  CHECK(validate(res("Service"), upd, &old).empty());

  Json d = deployment(), d2 = deployment();
  d2["spec"]["selector"]["matchLabels"]["tier"] = "x";
  d2["spec"]["template"]["metadata"]["labels"]["tier"] = "x";
  CHECK(causeFor(validate(res("Deployment"), d2, &d), "spec.selector").message ==
        "Invalid value: {\"matchLabels\":{\"app\":\"web\",\"tier\":\"x\"}}: field is immutable");

  Json cm = {{"metadata", {{"name", "c"}, {"namespace", "default"}}}, {"immutable", true}, {"data", {{"a", "1"}}}};
  Json cm2 = cm;
  cm2["data"]["a"] = "2";
  CHECK(causeFor(validate(res("ConfigMap"), cm2, &cm), "data").message == "Forbidden: field is immutable when `immutable` is set");
  cm2 = cm;
  cm2["immutable"] = false;
  CHECK(hasCause(validate(res("ConfigMap"), cm2, &cm), "immutable"));
  cm2 = cm;
  cm2["metadata"]["labels"] = {{"a", "b"}};
  CHECK(validate(res("ConfigMap"), cm2, &cm).empty());
  cm2["metadata"]["namespace"] = "other";
  CHECK(hasCause(validate(res("ConfigMap"), cm2, &cm), "metadata.namespace"));
}

// ------------------------------------------------------------------------------------------------
// Unknown fields

TEST_CASE("unknownFields: reports paths, never real fields", "[api][validation]") {
  Json p = pod();
  p["spec"]["containers"][0]["foo"] = 1;
  p["spec"]["bar"] = true;
  p["metadata"]["nmae"] = "x";
  p["status"] = {{"anything", "goes"}};
  p["spec"]["containers"][0]["env"] = {{{"name", "A"}, {"valu", "1"}}};
  auto u = unknownFields(res("Pod"), p);
  std::sort(u.begin(), u.end());
  CHECK(u == std::vector<std::string>{".metadata.nmae", ".spec.bar", ".spec.containers[0].env[0].valu",
                                      ".spec.containers[0].foo"});

  Json d = deployment();
  d["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] = {{"httpGet", {{"path", "/"}, {"port", 80}, {"x", 1}}}};
  d["spec"]["strategy"] = {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxSurge", 1}}}, {"typo", 1}};
  u = unknownFields(res("Deployment"), d);
  std::sort(u.begin(), u.end());
  CHECK(u == std::vector<std::string>{".spec.strategy.typo", ".spec.template.spec.containers[0].readinessProbe.httpGet.x"});
}

TEST_CASE("unknownFields: a rich real-world manifest is clean", "[api][validation]") {
  Json d = Json::parse(R"({
    "apiVersion":"apps/v1","kind":"Deployment",
    "metadata":{"name":"web","namespace":"shop","labels":{"app":"web"},"annotations":{"a":"b"},
      "uid":"1","resourceVersion":"5","generation":2,"creationTimestamp":"2024-01-01T00:00:00Z",
      "managedFields":[{"manager":"kubectl","operation":"Apply","fieldsV1":{"f:spec":{}}}],
      "ownerReferences":[{"apiVersion":"v1","kind":"X","name":"x","uid":"u","controller":true,"blockOwnerDeletion":true}],
      "finalizers":["x/y"]},
    "spec":{"replicas":3,"revisionHistoryLimit":5,"progressDeadlineSeconds":300,"minReadySeconds":1,"paused":false,
      "selector":{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"tier","operator":"In","values":["a"]}]},
      "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":0}},
      "template":{"metadata":{"labels":{"app":"web"},"annotations":{"x":"y"},"creationTimestamp":null},
        "spec":{"serviceAccountName":"default","automountServiceAccountToken":false,"hostNetwork":false,
          "nodeSelector":{"kubernetes.io/os":"linux"},"priorityClassName":"high","runtimeClassName":"r",
          "affinity":{"podAntiAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[]}},
          "tolerations":[{"key":"k","operator":"Equal","value":"v","effect":"NoSchedule","tolerationSeconds":5}],
          "topologySpreadConstraints":[{"maxSkew":1,"topologyKey":"zone","whenUnsatisfiable":"DoNotSchedule"}],
          "securityContext":{"runAsUser":1000,"fsGroup":2000},
          "imagePullSecrets":[{"name":"reg"}],"dnsConfig":{"options":[{"name":"ndots","value":"2"}]},
          "volumes":[{"name":"cfg","configMap":{"name":"c","items":[{"key":"a","path":"b"}]}},{"name":"tmp","emptyDir":{"medium":"Memory"}}],
          "initContainers":[{"name":"init","image":"busybox","command":["true"],"restartPolicy":"Always"}],
          "containers":[{"name":"main","image":"nginx","command":["nginx"],"args":["-g","daemon off;"],"workingDir":"/",
            "ports":[{"name":"http","containerPort":80,"protocol":"TCP","hostPort":0}],
            "env":[{"name":"A","value":"1"},{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}],
            "envFrom":[{"configMapRef":{"name":"c"},"prefix":"C_"}],
            "resources":{"limits":{"cpu":"1"},"requests":{"memory":"64Mi"}},
            "volumeMounts":[{"name":"cfg","mountPath":"/etc/cfg","readOnly":true,"subPath":"x"}],
            "livenessProbe":{"httpGet":{"path":"/healthz","port":"http","httpHeaders":[{"name":"X","value":"y"}]},
              "initialDelaySeconds":3,"periodSeconds":5,"timeoutSeconds":1,"failureThreshold":3,"successThreshold":1},
            "readinessProbe":{"exec":{"command":["true"]}},"startupProbe":{"tcpSocket":{"port":80}},
            "lifecycle":{"preStop":{"exec":{"command":["sleep","1"]}}},
            "securityContext":{"allowPrivilegeEscalation":false,"capabilities":{"drop":["ALL"]}},
            "imagePullPolicy":"Always","terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File",
            "stdin":false,"tty":false}]}}},
    "status":{"replicas":3,"conditions":[{"type":"Available"}]}})");
  CHECK(unknownFields(res("Deployment"), d).empty());

  Json s = Json::parse(R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
    "spec":{"type":"NodePort","selector":{"app":"web"},"clusterIP":"10.96.0.3","clusterIPs":["10.96.0.3"],
      "ports":[{"name":"http","port":80,"targetPort":"http","nodePort":30080,"protocol":"TCP","appProtocol":"http"}],
      "sessionAffinity":"ClientIP","sessionAffinityConfig":{"clientIP":{"timeoutSeconds":60}},
      "externalTrafficPolicy":"Local","internalTrafficPolicy":"Cluster","ipFamilies":["IPv4"],"ipFamilyPolicy":"SingleStack",
      "publishNotReadyAddresses":true},"status":{"loadBalancer":{}}})");
  CHECK(unknownFields(res("Service"), s).empty());

  Json sec = Json::parse(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque",
    "data":{"a":"eA=="},"stringData":{"b":"y"},"immutable":true})");
  CHECK(unknownFields(res("Secret"), sec).empty());
  sec["dta"] = Json::object();
  CHECK(unknownFields(res("Secret"), sec) == std::vector<std::string>{".dta"});

  Json es = Json::parse(R"({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"w"},
    "addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"],"conditions":{"ready":true,"serving":true,"terminating":false},
    "nodeName":"n","targetRef":{"kind":"Pod","name":"p"}}],"ports":[{"name":"","port":80,"protocol":"TCP"}]})");
  CHECK(unknownFields(res("EndpointSlice"), es).empty());

  Json ev = Json::parse(R"({"apiVersion":"v1","kind":"Event","metadata":{"name":"e"},"involvedObject":{"kind":"Pod"},
    "reason":"Started","message":"m","source":{"component":"kubelet","host":"n"},"firstTimestamp":null,
    "lastTimestamp":null,"count":1,"type":"Normal","reportingComponent":"","reportingInstance":""})");
  CHECK(unknownFields(res("Event"), ev).empty());
}
