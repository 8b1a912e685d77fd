// Server-side Tables: the columns and cells kube-apiserver prints, at a fixed "now".
#include "api/table.h"

#include <catch2/catch.hpp>

using namespace minikd::api;

namespace {

const ResourceInfo& res(const char* kind) {
  for (const auto& r : builtinResources())
    if (r.kind == kind) return r;
  throw std::runtime_error(std::string("no kind ") + kind);
}

// 2024-05-01T12:00:00Z
constexpr int64_t kNow = 1714564800;

Json table(const char* kind, const std::vector<Json>& objs, const std::string& include = "Metadata") {
  std::vector<ObjectPtr> items;
  for (const auto& o : objs) items.push_back(std::make_shared<const Json>(o));
  return toTable(res(kind), items, {{"resourceVersion", "42"}}, include, kNow);
}

std::vector<std::string> columnNames(const Json& t) {
  std::vector<std::string> out;
  for (const auto& c : t["columnDefinitions"]) out.push_back(c["name"]);
  return out;
}

Json cells(const char* kind, const Json& obj) { return table(kind, {obj})["rows"][0]["cells"]; }

Json runningPod() {
  return Json::parse(R"({"metadata":{"name":"web-1","namespace":"default","creationTimestamp":"2024-05-01T11:59:55Z",
      "labels":{"app":"web"}},
    "spec":{"nodeName":"node-1","containers":[{"name":"a"},{"name":"b"}]},
    "status":{"phase":"Running","podIP":"10.244.0.7","podIPs":[{"ip":"10.244.0.7"}],
      "conditions":[{"type":"Ready","status":"True"}],
      "containerStatuses":[
        {"name":"a","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2024-05-01T11:59:56Z"}}},
        {"name":"b","ready":true,"restartCount":0,"state":{"running":{"startedAt":"2024-05-01T11:59:56Z"}}}]}})");
}

}  // namespace

TEST_CASE("humanDuration matches kubectl", "[api][table]") {
  CHECK(humanDuration(-5) == "<invalid>");
  CHECK(humanDuration(-1) == "0s");
  CHECK(humanDuration(0) == "0s");
  CHECK(humanDuration(45) == "45s");
  CHECK(humanDuration(119) == "119s");
  CHECK(humanDuration(120) == "2m");
  CHECK(humanDuration(182) == "3m2s");
  CHECK(humanDuration(599) == "9m59s");
  CHECK(humanDuration(600) == "10m");
  CHECK(humanDuration(179 * 60 + 59) == "179m");
  CHECK(humanDuration(3 * 3600) == "3h");
  CHECK(humanDuration(5 * 3600 + 30 * 60) == "5h30m");
  CHECK(humanDuration(8 * 3600) == "8h");
  CHECK(humanDuration(47 * 3600 + 3599) == "47h");
  CHECK(humanDuration(48 * 3600) == "2d");
  CHECK(humanDuration(51 * 3600) == "2d3h");
  CHECK(humanDuration(8 * 86400) == "8d");
  CHECK(humanDuration(729 * 86400) == "729d");
  CHECK(humanDuration(731 * 86400) == "2y1d");
  CHECK(humanDuration(6 * 365 * 86400) == "6y");
  CHECK(humanDuration((8 * 365 - 1) * 86400LL) == "7y364d");
  CHECK(humanDuration(9 * 365 * 86400LL) == "9y");
}

TEST_CASE("table: envelope, column definitions and row objects", "[api][table]") {
  Json t = table("Pod", {runningPod()});
  CHECK(t["kind"] == "Table");
  CHECK(t["apiVersion"] == "meta.k8s.io/v1");
  CHECK(t["metadata"]["resourceVersion"] == "42");
  CHECK(columnNames(t) ==
        std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"});
  for (const auto& c : t["columnDefinitions"]) {
    for (const char* key : {"name", "type", "format", "description", "priority"}) CHECK(c.contains(key));
    CHECK(c["format"] == (c["name"] == "Name" ? "name" : ""));
  }
  CHECK(t["columnDefinitions"][4]["priority"] == 0);
  CHECK(t["columnDefinitions"][5]["priority"] == 1);
  const Json& row = t["rows"][0];
  CHECK(row["object"]["kind"] == "PartialObjectMetadata");
  CHECK(row["object"]["apiVersion"] == "meta.k8s.io/v1");
  CHECK(row["object"]["metadata"]["labels"]["app"] == "web");
  CHECK_FALSE(row["object"].contains("spec"));
  CHECK_FALSE(row.contains("conditions"));

  Json full = table("Pod", {runningPod()}, "Object")["rows"][0]["object"];
  CHECK(full["kind"] == "Pod");
  CHECK(full["apiVersion"] == "v1");
  CHECK(full["spec"]["nodeName"] == "node-1");
  CHECK_FALSE(table("Pod", {runningPod()}, "None")["rows"][0].contains("object"));
  CHECK(table("Pod", {})["rows"] == Json::array());
}

TEST_CASE("table: pod cells", "[api][table]") {
  CHECK(cells("Pod", runningPod()) ==
        Json::array({"web-1", "2/2", "Running", "0", "5s", "10.244.0.7", "node-1", "<none>", "<none>"}));

  Json pending = Json::parse(R"({"metadata":{"name":"p","creationTimestamp":"2024-05-01T11:56:58Z"},
      "spec":{"containers":[{"name":"a"}],"readinessGates":[{"conditionType":"x/ready"}]},
      "status":{"phase":"Pending","conditions":[{"type":"x/ready","status":"True"}],
        "containerStatuses":[{"name":"a","ready":false,"restartCount":0,"state":{"waiting":{"reason":"ContainerCreating"}}}]}})");
  CHECK(cells("Pod", pending) == Json::array({"p", "0/1", "ContainerCreating", "0", "3m2s", "<none>", "<none>", "<none>", "1/1"}));

  Json crash = runningPod();
  crash["status"]["containerStatuses"][1] = Json::parse(R"({"name":"b","ready":false,"restartCount":3,
      "state":{"waiting":{"reason":"CrashLoopBackOff"}},
      "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2024-05-01T11:59:50Z"}}})");
  Json c = cells("Pod", crash);
  CHECK(c[1] == "1/2");
  CHECK(c[2] == "CrashLoopBackOff");
  CHECK(c[3] == "3 (10s ago)");

  Json done = Json::parse(R"({"metadata":{"name":"job"},"spec":{"restartPolicy":"Never","containers":[{"name":"a"}]},
      "status":{"phase":"Succeeded","containerStatuses":[{"name":"a","ready":false,"restartCount":0,
        "state":{"terminated":{"exitCode":0,"reason":"Completed"}}}]}})");
  Json t = table("Pod", {done});
  CHECK(t["rows"][0]["cells"][2] == "Completed");
  CHECK(t["rows"][0]["cells"][4] == "<unknown>");
  CHECK(t["rows"][0]["conditions"] == Json::parse(R"([{"type":"Completed","status":"True","reason":"Succeeded",
      "message":"The pod has completed successfully."}])"));

  Json killed = done;
  killed["status"]["phase"] = "Failed";
  killed["status"]["containerStatuses"][0]["state"] = {{"terminated", {{"exitCode", 137}, {"signal", 9}}}};
  t = table("Pod", {killed});
  CHECK(t["rows"][0]["cells"][2] == "Signal:9");
  CHECK(t["rows"][0]["conditions"][0]["reason"] == "Failed");
  killed["status"]["containerStatuses"][0]["state"] = {{"terminated", {{"exitCode", 2}}}};
  CHECK(cells("Pod", killed)[2] == "ExitCode:2");

  Json deleting = runningPod();
  deleting["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z";
  CHECK(cells("Pod", deleting)[2] == "Terminating");
  done["metadata"]["deletionTimestamp"] = "2024-05-01T12:00:00Z";
  CHECK(cells("Pod", done)[2] == "Completed");
  deleting["status"]["reason"] = "NodeLost";
  CHECK(cells("Pod", deleting)[2] == "Unknown");

  // One container completed and one still running and ready.
  Json mixed = runningPod();
  mixed["status"]["containerStatuses"][0]["state"] = {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}};
  mixed["status"]["containerStatuses"][0]["ready"] = false;
  CHECK(cells("Pod", mixed)[2] == "Running");
  mixed["status"]["conditions"][0]["status"] = "False";
  CHECK(cells("Pod", mixed)[2] == "NotReady");

  Json gated = Json::parse(R"({"metadata":{"name":"g"},"spec":{"containers":[{"name":"a"}]},
      "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"SchedulingGated"}]}})");
  CHECK(cells("Pod", gated)[2] == "SchedulingGated");
}

TEST_CASE("table: pod init containers and sidecars", "[api][table]") {
  Json p = Json::parse(R"({"metadata":{"name":"i"},
      "spec":{"initContainers":[{"name":"i1"},{"name":"i2"}],"containers":[{"name":"a"}]},
      "status":{"phase":"Pending","initContainerStatuses":[
        {"name":"i1","restartCount":0,"state":{"terminated":{"exitCode":0}}},
        {"name":"i2","restartCount":2,"state":{"running":{}}}],
        "containerStatuses":[{"name":"a","restartCount":0,"state":{"waiting":{"reason":"PodInitializing"}}}]}})");
  Json c = cells("Pod", p);
  CHECK(c[2] == "Init:1/2");
  CHECK(c[3] == "2");
  p["status"]["initContainerStatuses"][1]["state"] = {{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}};
  CHECK(cells("Pod", p)[2] == "Init:Error");
  p["status"]["initContainerStatuses"][1]["state"] = {{"terminated", {{"exitCode", 3}}}};
  CHECK(cells("Pod", p)[2] == "Init:ExitCode:3");
  p["status"]["initContainerStatuses"][1]["state"] = {{"waiting", {{"reason", "CrashLoopBackOff"}}}};
  CHECK(cells("Pod", p)[2] == "Init:CrashLoopBackOff");

  // One container and two started sidecars, nothing ready yet: 0/3; ready sidecars count.
  Json s = Json::parse(R"({"metadata":{"name":"s"},
      "spec":{"initContainers":[{"name":"s1","restartPolicy":"Always"},{"name":"s2","restartPolicy":"Always"}],
        "containers":[{"name":"a"}]},
      "status":{"phase":"Running","conditions":[{"type":"Initialized","status":"True"}],
        "initContainerStatuses":[
          {"name":"s1","started":true,"ready":false,"restartCount":1,"state":{"running":{}}},
          {"name":"s2","started":true,"ready":false,"restartCount":0,"state":{"running":{}}}],
        "containerStatuses":[{"name":"a","ready":false,"restartCount":0,"state":{"running":{}}}]}})");
  c = cells("Pod", s);
  CHECK(c[1] == "0/3");
  CHECK(c[2] == "Running");
  CHECK(c[3] == "1");
  s["status"]["initContainerStatuses"][0]["ready"] = true;
  s["status"]["containerStatuses"][0]["ready"] = true;
  CHECK(cells("Pod", s)[1] == "2/3");
}

TEST_CASE("table: services", "[api][table]") {
  Json svc = Json::parse(R"({"metadata":{"name":"web","creationTimestamp":"2024-05-01T07:00:00Z"},
      "spec":{"type":"ClusterIP","clusterIP":"10.96.0.42","clusterIPs":["10.96.0.42"],"selector":{"tier":"f","app":"web"},
        "ports":[{"port":53,"protocol":"UDP"},{"port":53,"protocol":"TCP"},{"port":9153,"protocol":"TCP"}]}})");
  Json t = table("Service", {svc});
  CHECK(columnNames(t) ==
        std::vector<std::string>{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"});
  CHECK(t["rows"][0]["cells"] ==
        Json::array({"web", "ClusterIP", "10.96.0.42", "<none>", "53/UDP,53/TCP,9153/TCP", "5h", "app=web,tier=f"}));

  Json np = svc;
  np["spec"]["type"] = "NodePort";
  np["spec"]["ports"] = Json::parse(R"([{"port":80,"nodePort":30080,"protocol":"TCP"}])");
  np["spec"]["externalIPs"] = {"1.2.3.4", "5.6.7.8"};
  np["spec"].erase("selector");
  Json c = cells("Service", np);
  CHECK(c[3] == "1.2.3.4,5.6.7.8");
  CHECK(c[4] == "80:30080/TCP");
  CHECK(c[6] == "<none>");

  Json lb = svc;
  lb["spec"]["type"] = "LoadBalancer";
  CHECK(cells("Service", lb)[3] == "<pending>");
  lb["status"] = Json::parse(R"({"loadBalancer":{"ingress":[{"ip":"9.9.9.9"},{"hostname":"lb.example"},{"ip":"9.9.9.9"}]}})");
  lb["spec"]["externalIPs"] = {"1.1.1.1"};
  CHECK(cells("Service", lb)[3] == "9.9.9.9,lb.example,1.1.1.1");

  Json en = Json::parse(R"({"metadata":{"name":"ext"},"spec":{"type":"ExternalName","externalName":"example.com"}})");
  c = cells("Service", en);
  CHECK(c[2] == "<none>");
  CHECK(c[3] == "example.com");
  CHECK(c[4] == "<none>");

  Json headless = Json::parse(R"({"metadata":{"name":"h"},"spec":{"type":"ClusterIP","clusterIP":"None","clusterIPs":["None"]}})");
  CHECK(cells("Service", headless)[2] == "None");
}

TEST_CASE("table: endpoints and endpointslices", "[api][table]") {
  Json ep = Json::parse(R"({"metadata":{"name":"dns"},"subsets":[
      {"addresses":[{"ip":"10.1.0.20"},{"ip":"10.1.0.21"}],"notReadyAddresses":[{"ip":"10.1.0.99"}],
       "ports":[{"port":53,"protocol":"UDP"},{"port":53,"protocol":"TCP"},{"port":9153}]}]})");
  Json t = table("Endpoints", {ep});
  CHECK(columnNames(t) == std::vector<std::string>{"Name", "Endpoints", "Age"});
  CHECK(t["rows"][0]["cells"][1] == "10.1.0.20:53,10.1.0.21:53,10.1.0.20:53 + 3 more...");
  CHECK(cells("Endpoints", Json::parse(R"({"metadata":{"name":"e"}})"))[1] == "<none>");
  CHECK(cells("Endpoints", Json::parse(R"({"metadata":{"name":"e"},"subsets":[{"notReadyAddresses":[{"ip":"1.1.1.1"}],
      "ports":[{"port":80}]}]})"))[1] == "");
  CHECK(cells("Endpoints", Json::parse(R"({"metadata":{"name":"e"},"subsets":[{"addresses":[{"ip":"fd00::1"}],
      "ports":[{"port":80}]}]})"))[1] == "[fd00::1]:80");
  CHECK(cells("Endpoints", Json::parse(R"({"metadata":{"name":"e"},"subsets":[{"addresses":[{"ip":"1.1.1.1"}]}]})"))[1] ==
        "1.1.1.1");

  Json slice = Json::parse(R"({"metadata":{"name":"web-abc"},"addressType":"IPv4",
      "ports":[{"port":80},{"port":443},{"port":3000},{"name":"x"}],
      "endpoints":[{"addresses":["10.1.2.3"]},{"addresses":["10.2.3.4"],"conditions":{"ready":false}}]})");
  t = table("EndpointSlice", {slice});
  CHECK(columnNames(t) == std::vector<std::string>{"Name", "AddressType", "Ports", "Endpoints", "Age"});
  CHECK(t["rows"][0]["cells"][1] == "IPv4");
  CHECK(t["rows"][0]["cells"][2] == "80,443,3000 + 1 more...");
  CHECK(t["rows"][0]["cells"][3] == "10.1.2.3,10.2.3.4");
  Json empty = Json::parse(R"({"metadata":{"name":"e"},"addressType":"IPv4","ports":[{}]})");
  CHECK(cells("EndpointSlice", empty)[2] == "*");
  CHECK(cells("EndpointSlice", empty)[3] == "<unset>");
}

TEST_CASE("table: deployments and replicasets", "[api][table]") {
  Json d = Json::parse(R"({"metadata":{"name":"web","creationTimestamp":"2024-04-29T09:00:00Z"},
      "spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"},"matchExpressions":[{"key":"env","operator":"In","values":["b","a"]}]},
        "template":{"spec":{"containers":[{"name":"main","image":"nginx:1.25"},{"name":"side","image":"busybox"}]}}},
      "status":{"replicas":3,"readyReplicas":2,"updatedReplicas":3,"availableReplicas":2}})");
  Json t = table("Deployment", {d});
  CHECK(columnNames(t) ==
        std::vector<std::string>{"Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"});
  CHECK(t["rows"][0]["cells"] ==
        Json::array({"web", "2/3", 3, 2, "2d3h", "main,side", "nginx:1.25,busybox", "app=web,env in (a,b)"}));
  Json fresh = Json::parse(R"({"metadata":{"name":"new"},"spec":{"replicas":1,"selector":{}}})");
  Json c = cells("Deployment", fresh);
  CHECK(c[1] == "0/1");
  CHECK(c[2] == 0);
  CHECK(c[7] == "");
  fresh["spec"]["selector"] = {{"matchExpressions", {{{"key", "a"}, {"operator", "Bogus"}}}}};
  CHECK(cells("Deployment", fresh)[7] == "<invalid>");

  Json rs = d;
  t = table("ReplicaSet", {rs});
  CHECK(columnNames(t) ==
        std::vector<std::string>{"Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"});
  CHECK(t["columnDefinitions"][1]["type"] == "integer");
  CHECK(t["rows"][0]["cells"] ==
        Json::array({"web", 3, 3, 2, "2d3h", "main,side", "nginx:1.25,busybox", "app=web,env in (a,b)"}));
  rs["spec"]["selector"] = Json::object();
  CHECK(cells("ReplicaSet", rs)[7] == "<none>");
  rs["spec"]["selector"] = {{"matchLabels", {{"a", "bad value"}}}};
  CHECK(cells("ReplicaSet", rs)[7] == "<error>");
}

TEST_CASE("table: nodes, namespaces, configmaps, secrets", "[api][table]") {
  Json n = Json::parse(R"J({"metadata":{"name":"laptop","creationTimestamp":"2024-05-01T11:00:00Z",
      "labels":{"node-role.kubernetes.io/control-plane":"","node-role.kubernetes.io/master":"x","kubernetes.io/role":"node"}},
      "spec":{"unschedulable":true},
      "status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":"True"}],
        "addresses":[{"type":"Hostname","address":"laptop"},{"type":"InternalIP","address":"192.168.1.5"}],
        "nodeInfo":{"kubeletVersion":"v1.32.0-minikd","osImage":"Debian GNU/Linux 12 (bookworm)","kernelVersion":"6.1.0"}}})J");
  Json t = table("Node", {n});
  CHECK(columnNames(t) == std::vector<std::string>{"Name", "Status", "Roles", "Age", "Version", "Internal-IP",
                                                   "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"});
  CHECK(t["rows"][0]["cells"] == Json::array({"laptop", "Ready,SchedulingDisabled", "control-plane,master,node", "60m",
                                               "v1.32.0-minikd", "192.168.1.5", "<none>", "Debian GNU/Linux 12 (bookworm)",
                                               "6.1.0", "<unknown>"}));
  Json bare = Json::parse(R"({"metadata":{"name":"n2"},"status":{"conditions":[{"type":"Ready","status":"Unknown"}]}})");
  Json c = cells("Node", bare);
  CHECK(c[1] == "NotReady");
  CHECK(c[2] == "<none>");
  CHECK(c[4] == "");
  CHECK(cells("Node", Json::parse(R"({"metadata":{"name":"n3"}})"))[1] == "Unknown");

  CHECK(cells("Namespace", Json::parse(R"({"metadata":{"name":"default","creationTimestamp":"2024-05-01T11:59:00Z"},
      "status":{"phase":"Active"}})")) == Json::array({"default", "Active", "60s"}));
  CHECK(cells("Namespace", Json::parse(R"({"metadata":{"name":"x"}})"))[1] == "");
  CHECK(columnNames(table("ConfigMap", {})) == std::vector<std::string>{"Name", "Data", "Age"});
  CHECK(cells("ConfigMap", Json::parse(R"({"metadata":{"name":"c"},"data":{"a":"1","b":"2"},"binaryData":{"c":"eA=="}})"))[1] == 3);
  CHECK(columnNames(table("Secret", {})) == std::vector<std::string>{"Name", "Type", "Data", "Age"});
  CHECK(cells("Secret", Json::parse(R"({"metadata":{"name":"s"},"type":"Opaque","data":{"a":"eA=="}})")) ==
        Json::array({"s", "Opaque", 1, "<unknown>"}));
}

TEST_CASE("table: events", "[api][table]") {
  Json ev = Json::parse(R"({"metadata":{"name":"web-1.17a"},"involvedObject":{"kind":"Pod","name":"web-1",
      "fieldPath":"spec.containers{main}"},"reason":"Started","message":"  Started container main\n","type":"Normal",
      "source":{"component":"kubelet","host":"laptop"},"firstTimestamp":"2024-05-01T11:00:00Z",
      "lastTimestamp":"2024-05-01T11:58:00Z","count":4})");
  Json t = table("Event", {ev});
  CHECK(columnNames(t) == std::vector<std::string>{"Last Seen", "Type", "Reason", "Object", "Subobject", "Source",
                                                   "Message", "First Seen", "Count", "Name"});
  CHECK(t["columnDefinitions"][9]["format"] == "name");
  CHECK(t["columnDefinitions"][0]["format"] == "");
  CHECK(t["rows"][0]["cells"] == Json::array({"2m", "Normal", "Started", "pod/web-1", "spec.containers{main}",
                                              "kubelet, laptop", "Started container main", "60m", 4, "web-1.17a"}));
  Json modern = Json::parse(R"({"metadata":{"name":"e2"},"involvedObject":{"kind":"Node"},"reason":"R","type":"Warning",
      "eventTime":"2024-05-01T11:59:30.123456Z","reportingComponent":"minikd","reportingInstance":"",
      "firstTimestamp":null,"lastTimestamp":null})");
  Json c = cells("Event", modern);
  CHECK(c[0] == "30s");
  CHECK(c[3] == "node");
  CHECK(c[5] == "minikd");
  CHECK(c[7] == "30s");
  CHECK(c[8] == 1);
  modern["series"] = {{"count", 7}, {"lastObservedTime", "2024-05-01T11:59:50.000000Z"}};
  c = cells("Event", modern);
  CHECK(c[0] == "10s");
  CHECK(c[8] == 7);
  // Time zones are honoured.
  Json tz = ev;
  tz["lastTimestamp"] = "2024-05-01T13:59:00+02:00";
  CHECK(cells("Event", tz)[0] == "60s");
}
