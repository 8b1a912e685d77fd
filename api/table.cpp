// Server-side Tables with the columns kube-apiserver prints (pkg/printers/internalversion), as
// summarised in shared/kubectl-table-columns.md. The server always prints the wide form; kubectl
// hides priority-1 columns unless -o wide.
#include "api/table.h"

#include "api/selector.h"
#include "api/text.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <optional>
#include <set>

namespace minikd::api {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers

std::string str(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const Json& child(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

int64_t integer(const Json& j, const char* key) {
  const Json& v = child(j, key);
  return v.is_number() ? v.get<int64_t>() : 0;
}

size_t sizeOf(const Json& j) { return j.is_object() || j.is_array() ? j.size() : 0; }

std::string joinStrings(const std::vector<std::string>& parts, const char* sep = ",") {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

/// Seconds since the epoch of an RFC 3339 time ("2024-05-01T10:00:00Z", "…00.123456Z", "…+02:00").
std::optional<int64_t> parseTime(const std::string& s) {
  auto t = parseRfc3339(s);
  if (!t) return std::nullopt;
  return std::chrono::floor<std::chrono::seconds>(t->time_since_epoch()).count();
}

/// translateTimestampSince: "<unknown>" for a zero (absent) time.
std::string ageOf(const Json& ts, int64_t now) {
  if (!ts.is_string() || ts.get<std::string>().empty()) return "<unknown>";
  auto t = parseTime(ts.get<std::string>());
  if (!t) return "<unknown>";
  return humanDuration(now - *t);
}

Json column(const char* name, const char* type, const char* description, int priority = 0, const char* format = "") {
  return {{"name", name}, {"type", type}, {"format", format}, {"description", description}, {"priority", priority}};
}

const char* kNameDoc =
    "Name must be unique within a namespace. Is required when creating resources, although some resources may "
    "allow a client to request the generation of an appropriate name automatically. Name is primarily intended "
    "for creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const char* kAgeDoc =
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. "
    "It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

Json nameColumn() { return column("Name", "string", kNameDoc, 0, "name"); }
Json ageColumn() { return column("Age", "string", kAgeDoc); }

std::string nameOfObj(const Json& obj) { return str(child(obj, "metadata"), "name"); }
std::string ageOfObj(const Json& obj, int64_t now) { return ageOf(child(child(obj, "metadata"), "creationTimestamp"), now); }

/// A label selector's string form with requirements sorted by key, as labels.Selector.String() prints it.
std::string selectorString(const LabelSelector& sel) {
  std::vector<Requirement> reqs = sel.requirements();
  std::stable_sort(reqs.begin(), reqs.end(), [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
  std::vector<std::string> parts;
  for (auto& r : reqs) {
    std::sort(r.values.begin(), r.values.end());  // a sets.String prints sorted
    auto set = [&] { return "(" + joinStrings(r.values) + ")"; };
    switch (r.op) {
      case Requirement::Op::Equals: parts.push_back(r.key + "=" + r.values.at(0)); break;
      case Requirement::Op::NotEquals: parts.push_back(r.key + "!=" + r.values.at(0)); break;
      case Requirement::Op::In: parts.push_back(r.key + " in " + set()); break;
      case Requirement::Op::NotIn: parts.push_back(r.key + " notin " + set()); break;
      case Requirement::Op::Exists: parts.push_back(r.key); break;
      case Requirement::Op::DoesNotExist: parts.push_back("!" + r.key); break;
    }
  }
  return joinStrings(parts);
}

/// The Selector cell of a workload: "" or "<none>" when empty, `invalid` when it cannot be parsed.
std::string workloadSelector(const Json& sel, const char* empty, const char* invalid) {
  try {
    auto s = LabelSelector::fromJson(sel);
    if (s.requirements().empty()) return empty;
    return selectorString(s);
  } catch (const std::exception&) {
    return invalid;
  }
}

/// Container names and images of a pod template (the wide workload columns).
std::pair<std::string, std::string> containersAndImages(const Json& obj) {
  std::vector<std::string> names, images;
  const Json& cs = child(child(child(child(obj, "spec"), "template"), "spec"), "containers");
  if (cs.is_array())
    for (const auto& c : cs) {
      names.push_back(str(c, "name"));
      images.push_back(str(c, "image"));
    }
  return {joinStrings(names), joinStrings(images)};
}

// ---------------------------------------------------------------------------------------------
// Pod

struct PodRow {
  Json cells;
  Json conditions;  // null unless Succeeded/Failed
};

bool isSidecar(const Json& spec, const std::string& name) {
  const Json& ics = child(spec, "initContainers");
  if (!ics.is_array()) return false;
  for (const auto& c : ics)
    if (str(c, "name") == name) return str(c, "restartPolicy") == "Always";
  return false;
}

bool conditionTrue(const Json& status, const char* type) {
  const Json& conds = child(status, "conditions");
  if (!conds.is_array()) return false;
  for (const auto& c : conds)
    if (str(c, "type") == type) return str(c, "status") == "True";
  return false;
}

std::string exitReason(const Json& terminated, const char* prefix) {
  int64_t signal = integer(terminated, "signal");
  if (signal != 0) return std::string(prefix) + "Signal:" + std::to_string(signal);
  return std::string(prefix) + "ExitCode:" + std::to_string(integer(terminated, "exitCode"));
}

/// Tracks the latest lastState.terminated.finishedAt of counted containers.
void noteRestart(const Json& cs, std::optional<int64_t>& latest) {
  const Json& finished = child(child(child(cs, "lastState"), "terminated"), "finishedAt");
  if (!finished.is_string()) return;
  auto t = parseTime(finished.get<std::string>());
  if (t && (!latest || *t > *latest)) latest = t;
}

PodRow podRow(const Json& pod, int64_t now) {
  const Json& spec = child(pod, "spec");
  const Json& status = child(pod, "status");
  std::string phase = str(status, "phase");
  std::string reason = str(status, "reason").empty() ? phase : str(status, "reason");
  if (child(status, "conditions").is_array())
    for (const auto& c : child(status, "conditions"))
      if (str(c, "type") == "PodScheduled" && str(c, "reason") == "SchedulingGated") reason = "SchedulingGated";

  size_t total = sizeOf(child(spec, "containers"));
  size_t init_count = sizeOf(child(spec, "initContainers"));
  if (child(spec, "initContainers").is_array())
    for (const auto& c : child(spec, "initContainers"))
      if (str(c, "restartPolicy") == "Always") ++total;

  int64_t restarts = 0, sidecar_restarts = 0;
  size_t ready = 0;
  std::optional<int64_t> last_restart, last_sidecar_restart;
  bool initializing = false;
  const Json& ics = child(status, "initContainerStatuses");
  for (size_t i = 0; ics.is_array() && i < ics.size(); ++i) {
    const Json& cs = ics[i];
    restarts += integer(cs, "restartCount");
    noteRestart(cs, last_restart);
    bool sidecar = isSidecar(spec, str(cs, "name"));
    if (sidecar) {
      sidecar_restarts += integer(cs, "restartCount");
      noteRestart(cs, last_sidecar_restart);
    }
    const Json& state = child(cs, "state");
    const Json& terminated = child(state, "terminated");
    const Json& waiting = child(state, "waiting");
    if (terminated.is_object() && integer(terminated, "exitCode") == 0) continue;
    if (sidecar && child(cs, "started") == true) {
      if (child(cs, "ready") == true) ++ready;
      continue;
    }
    if (terminated.is_object())
      reason = str(terminated, "reason").empty() ? exitReason(terminated, "Init:") : "Init:" + str(terminated, "reason");
    else if (waiting.is_object() && !str(waiting, "reason").empty() && str(waiting, "reason") != "PodInitializing")
      reason = "Init:" + str(waiting, "reason");
    else
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(init_count);
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(status, "Initialized")) {
    restarts = sidecar_restarts;
    last_restart = last_sidecar_restart;
    bool has_running = false;
    const Json& css = child(status, "containerStatuses");
    for (size_t k = css.is_array() ? css.size() : 0; k-- > 0;) {
      const Json& cs = css[k];
      restarts += integer(cs, "restartCount");
      noteRestart(cs, last_restart);
      const Json& state = child(cs, "state");
      const Json& terminated = child(state, "terminated");
      const Json& waiting = child(state, "waiting");
      if (waiting.is_object() && !str(waiting, "reason").empty()) reason = str(waiting, "reason");
      else if (terminated.is_object() && !str(terminated, "reason").empty()) reason = str(terminated, "reason");
      else if (terminated.is_object()) reason = exitReason(terminated, "");
      else if (child(cs, "ready") == true && child(state, "running").is_object()) {
        has_running = true;
        ++ready;
      }
    }
    if (reason == "Completed" && has_running) reason = conditionTrue(status, "Ready") ? "Running" : "NotReady";
  }

  bool deleting = !child(child(pod, "metadata"), "deletionTimestamp").is_null();
  if (deleting && str(status, "reason") == "NodeLost") reason = "Unknown";
  else if (deleting && phase != "Succeeded" && phase != "Failed") reason = "Terminating";

  std::string restarts_cell = std::to_string(restarts);
  if (restarts != 0 && last_restart) restarts_cell += " (" + humanDuration(now - *last_restart) + " ago)";

  std::string ip;
  if (child(status, "podIPs").is_array() && !child(status, "podIPs").empty()) ip = str(child(status, "podIPs")[0], "ip");
  if (ip.empty()) ip = str(status, "podIP");
  auto orNone = [](std::string s) { return s.empty() ? std::string("<none>") : s; };
  std::string gates = "<none>";
  if (child(spec, "readinessGates").is_array() && !child(spec, "readinessGates").empty()) {
    size_t true_count = 0;
    for (const auto& g : child(spec, "readinessGates"))
      if (conditionTrue(status, str(g, "conditionType").c_str())) ++true_count;
    gates = std::to_string(true_count) + "/" + std::to_string(child(spec, "readinessGates").size());
  }

  PodRow row;
  row.cells = {nameOfObj(pod),
               std::to_string(ready) + "/" + std::to_string(total),
               reason,
               restarts_cell,
               ageOfObj(pod, now),
               orNone(ip),
               orNone(str(spec, "nodeName")),
               orNone(str(status, "nominatedNodeName")),
               gates};
  if (phase == "Succeeded")
    row.conditions = Json::array({{{"type", "Completed"}, {"status", "True"}, {"reason", "Succeeded"},
                                   {"message", "The pod has completed successfully."}}});
  if (phase == "Failed")
    row.conditions = Json::array(
        {{{"type", "Completed"}, {"status", "True"}, {"reason", "Failed"}, {"message", "The pod failed."}}});
  return row;
}

Json podColumns() {
  return Json::array({nameColumn(),
                      column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
                      column("Status", "string", "The aggregate status of the containers in this pod."),
                      column("Restarts", "string",
                             "The number of times the containers in this pod have been restarted and when the last "
                             "container in this pod has restarted."),
                      ageColumn(),
                      column("IP", "string",
                             "podIP address allocated to the pod. Routable at least within the cluster. Empty if not "
                             "yet allocated.",
                             1),
                      column("Node", "string",
                             "NodeName indicates in which node this pod is scheduled. If empty, this pod is a "
                             "candidate for preemption on the next scheduling cycle.",
                             1),
                      column("Nominated Node", "string",
                             "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
                             "cannot be scheduled right away as preemption victims receive their graceful "
                             "termination periods.",
                             1),
                      column("Readiness Gates", "string",
                             "If specified, all readiness gates will be evaluated for pod readiness.", 1)});
}

// ---------------------------------------------------------------------------------------------
// Service, Endpoints, EndpointSlice

std::string serviceExternalIP(const Json& svc) {
  const Json& spec = child(svc, "spec");
  std::string type = str(spec, "type");
  std::vector<std::string> external;
  if (child(spec, "externalIPs").is_array())
    for (const auto& ip : child(spec, "externalIPs"))
      if (ip.is_string()) external.push_back(ip);
  if (type == "ClusterIP" || type == "NodePort") return external.empty() ? "<none>" : joinStrings(external);
  if (type == "ExternalName") return str(spec, "externalName");
  if (type != "LoadBalancer") return "<unknown>";
  std::set<std::string> ingress;
  const Json& ing = child(child(child(svc, "status"), "loadBalancer"), "ingress");
  if (ing.is_array())
    for (const auto& i : ing) {
      std::string v = str(i, "ip").empty() ? str(i, "hostname") : str(i, "ip");
      if (!v.empty()) ingress.insert(v);
    }
  std::vector<std::string> all(ingress.begin(), ingress.end());
  all.insert(all.end(), external.begin(), external.end());
  return all.empty() ? "<pending>" : joinStrings(all);
}

std::string servicePorts(const Json& spec) {
  std::vector<std::string> parts;
  const Json& ports = child(spec, "ports");
  if (ports.is_array())
    for (const auto& p : ports) {
      std::string proto = str(p, "protocol").empty() ? "TCP" : str(p, "protocol");
      std::string s = std::to_string(integer(p, "port"));
      if (integer(p, "nodePort") > 0) s += ":" + std::to_string(integer(p, "nodePort"));
      parts.push_back(s + "/" + proto);
    }
  return parts.empty() ? "<none>" : joinStrings(parts);
}

/// labels.FormatLabels: sorted k=v pairs, "<none>" when empty.
std::string formatLabels(const Json& labels) {
  std::vector<std::string> parts;
  if (labels.is_object())
    for (auto& [k, v] : labels.items()) parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  return parts.empty() ? "<none>" : joinStrings(parts);
}

Json serviceCells(const Json& svc, int64_t now) {
  const Json& spec = child(svc, "spec");
  std::string cluster_ip = "<none>";
  if (child(spec, "clusterIPs").is_array() && !child(spec, "clusterIPs").empty() && child(spec, "clusterIPs")[0].is_string())
    cluster_ip = child(spec, "clusterIPs")[0];
  else if (!str(spec, "clusterIP").empty())
    cluster_ip = str(spec, "clusterIP");
  return {nameOfObj(svc), str(spec, "type"), cluster_ip, serviceExternalIP(svc), servicePorts(spec), ageOfObj(svc, now),
          formatLabels(child(spec, "selector"))};
}

std::string joinHostPort(const std::string& ip, int64_t port) {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

/// At most 3 entries, then " + K more...".
struct LimitedList {
  std::vector<std::string> list;
  bool more = false;
  size_t count = 0;
  void add(const std::string& s) {
    ++count;
    if (list.size() < 3) list.push_back(s);
    else more = true;
  }
  std::string str(const char* empty) const {
    std::string ret = joinStrings(list);
    if (more) return ret + " + " + std::to_string(count - 3) + " more...";
    return ret.empty() ? empty : ret;
  }
};

std::string formatEndpoints(const Json& ep) {
  const Json& subsets = child(ep, "subsets");
  if (!subsets.is_array() || subsets.empty()) return "<none>";
  LimitedList out;
  for (const auto& ss : subsets) {
    const Json& addrs = child(ss, "addresses");
    const Json& ports = child(ss, "ports");
    if (!addrs.is_array()) continue;
    if (!ports.is_array() || ports.empty()) {
      for (const auto& a : addrs) out.add(str(a, "ip"));
      continue;
    }
    for (const auto& p : ports)
      for (const auto& a : addrs) out.add(joinHostPort(str(a, "ip"), integer(p, "port")));
  }
  return out.str("");
}

std::string sliceEndpoints(const Json& slice) {
  LimitedList out;
  if (child(slice, "endpoints").is_array())
    for (const auto& ep : child(slice, "endpoints"))
      if (child(ep, "addresses").is_array())
        for (const auto& a : child(ep, "addresses"))
          if (a.is_string()) out.add(a);
  return out.str("<unset>");
}

std::string slicePorts(const Json& slice) {
  LimitedList out;
  if (child(slice, "ports").is_array())
    for (const auto& p : child(slice, "ports")) {
      if (child(p, "port").is_number()) out.add(std::to_string(integer(p, "port")));
      else if (child(p, "name").is_string()) out.add(str(p, "name"));
      else out.add("*");
    }
  return out.str("<unset>");
}

// ---------------------------------------------------------------------------------------------
// Node, Event

std::string nodeStatus(const Json& node) {
  std::string status = "Unknown";
  const Json& conds = child(child(node, "status"), "conditions");
  if (conds.is_array())
    for (const auto& c : conds)
      if (str(c, "type") == "Ready") status = str(c, "status") == "True" ? "Ready" : "NotReady";
  if (child(child(node, "spec"), "unschedulable") == true) status += ",SchedulingDisabled";
  return status;
}

std::string nodeRoles(const Json& node) {
  std::set<std::string> roles;
  const Json& labels = child(child(node, "metadata"), "labels");
  const std::string prefix = "node-role.kubernetes.io/";
  if (labels.is_object())
    for (auto& [k, v] : labels.items()) {
      if (k.rfind(prefix, 0) == 0 && k.size() > prefix.size()) roles.insert(k.substr(prefix.size()));
      else if (k == "kubernetes.io/role" && v.is_string() && !v.get<std::string>().empty()) roles.insert(v.get<std::string>());
    }
  return roles.empty() ? "<none>" : joinStrings(std::vector<std::string>(roles.begin(), roles.end()));
}

std::string nodeAddress(const Json& node, const char* type) {
  const Json& addrs = child(child(node, "status"), "addresses");
  if (addrs.is_array())
    for (const auto& a : addrs)
      if (str(a, "type") == type) return str(a, "address");
  return "<none>";
}

Json nodeCells(const Json& node, int64_t now) {
  const Json& info = child(child(node, "status"), "nodeInfo");
  auto orUnknown = [&](const char* key) { return str(info, key).empty() ? std::string("<unknown>") : str(info, key); };
  return {nameOfObj(node),        nodeStatus(node),          nodeRoles(node),
          ageOfObj(node, now),    str(info, "kubeletVersion"), nodeAddress(node, "InternalIP"),
          nodeAddress(node, "ExternalIP"), orUnknown("osImage"), orUnknown("kernelVersion"),
          orUnknown("containerRuntimeVersion")};
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

Json eventCells(const Json& ev, int64_t now) {
  std::string first = child(ev, "firstTimestamp").is_string() ? ageOf(child(ev, "firstTimestamp"), now)
                                                              : ageOf(child(ev, "eventTime"), now);
  std::string last = child(ev, "lastTimestamp").is_string() ? ageOf(child(ev, "lastTimestamp"), now) : first;
  int64_t count = integer(ev, "count");
  if (child(ev, "series").is_object()) {
    last = ageOf(child(child(ev, "series"), "lastObservedTime"), now);
    count = integer(child(ev, "series"), "count");
  } else if (count == 0) {
    count = 1;
  }
  const Json& io = child(ev, "involvedObject");
  std::string kind = str(io, "kind");
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string target = str(io, "name").empty() ? kind : kind + "/" + str(io, "name");
  const Json& src = child(ev, "source");
  std::string component = str(src, "component").empty() ? str(ev, "reportingComponent") : str(src, "component");
  std::string host = str(src, "host").empty() ? str(ev, "reportingInstance") : str(src, "host");
  std::string source = host.empty() ? component : component + ", " + host;
  return {last, str(ev, "type"), str(ev, "reason"), target, str(io, "fieldPath"), source, trim(str(ev, "message")),
          first, count, nameOfObj(ev)};
}

// ---------------------------------------------------------------------------------------------
// Per kind: columns and cells

struct Printer {
  Json columns;
  std::function<Json(const Json&, int64_t)> cells;
};

Printer printerFor(const ResourceInfo& r) {
  const std::string& k = r.kind;
  if (k == "Service")
    return {Json::array({nameColumn(),
                         column("Type", "string", "type determines how the Service is exposed. Defaults to ClusterIP."),
                         column("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
                         column("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
                         column("Port(s)", "string", "The list of ports that are exposed by this service."),
                         ageColumn(),
                         column("Selector", "string", "Route service traffic to pods with label keys and values matching this selector.", 1)}),
            serviceCells};
  if (k == "Endpoints")
    return {Json::array({nameColumn(),
                         column("Endpoints", "string", "The set of all endpoints is the union of all subsets."),
                         ageColumn()}),
            [](const Json& o, int64_t now) { return Json{nameOfObj(o), formatEndpoints(o), ageOfObj(o, now)}; }};
  if (k == "EndpointSlice")
    return {Json::array({nameColumn(),
                         column("AddressType", "string", "addressType specifies the type of address carried by this EndpointSlice."),
                         column("Ports", "string", "ports specifies the list of network ports exposed by each endpoint in this slice."),
                         column("Endpoints", "string", "endpoints is a list of unique endpoints in this slice."),
                         ageColumn()}),
            [](const Json& o, int64_t now) {
              return Json{nameOfObj(o), str(o, "addressType"), slicePorts(o), sliceEndpoints(o), ageOfObj(o, now)};
            }};
  if (k == "Deployment")
    return {Json::array({nameColumn(), column("Ready", "string", "Number of the pod with ready state"),
                         column("Up-to-date", "string", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
                         column("Available", "string", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
                         ageColumn(),
                         column("Containers", "string", "Names of each container in the template.", 1),
                         column("Images", "string", "Images referenced by each container in the template.", 1),
                         column("Selector", "string", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.", 1)}),
            [](const Json& o, int64_t now) {
              const Json& spec = child(o, "spec");
              const Json& st = child(o, "status");
              auto [names, images] = containersAndImages(o);
              return Json{nameOfObj(o),
                          std::to_string(integer(st, "readyReplicas")) + "/" + std::to_string(integer(spec, "replicas")),
                          integer(st, "updatedReplicas"), integer(st, "availableReplicas"), ageOfObj(o, now), names, images,
                          workloadSelector(child(spec, "selector"), "", "<invalid>")};
            }};
  if (k == "ReplicaSet")
    return {Json::array({nameColumn(),
                         column("Desired", "integer", "Replicas is the number of desired pods."),
                         column("Current", "integer", "Replicas is the most recently observed number of replicas."),
                         column("Ready", "integer", "readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition."),
                         ageColumn(),
                         column("Containers", "string", "Names of each container in the template.", 1),
                         column("Images", "string", "Images referenced by each container in the template.", 1),
                         column("Selector", "string", "Selector is a label query over pods that should match the replica count.", 1)}),
            [](const Json& o, int64_t now) {
              const Json& spec = child(o, "spec");
              const Json& st = child(o, "status");
              auto [names, images] = containersAndImages(o);
              return Json{nameOfObj(o), integer(spec, "replicas"), integer(st, "replicas"), integer(st, "readyReplicas"),
                          ageOfObj(o, now), names, images, workloadSelector(child(spec, "selector"), "<none>", "<error>")};
            }};
  if (k == "Node")
    return {Json::array({nameColumn(), column("Status", "string", "The status of the node"),
                         column("Roles", "string", "The roles of the node"), ageColumn(),
                         column("Version", "string", "Kubelet Version reported by the node."),
                         column("Internal-IP", "string", "List of addresses reachable to the node.", 1),
                         column("External-IP", "string", "List of addresses reachable to the node.", 1),
                         column("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
                         column("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
                         column("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1)}),
            nodeCells};
  if (k == "Namespace")
    return {Json::array({nameColumn(), column("Status", "string", "The status of the namespace"), ageColumn()}),
            [](const Json& o, int64_t now) { return Json{nameOfObj(o), str(child(o, "status"), "phase"), ageOfObj(o, now)}; }};
  if (k == "ConfigMap")
    return {Json::array({nameColumn(), column("Data", "string", "Data contains the configuration data."), ageColumn()}),
            [](const Json& o, int64_t now) {
              return Json{nameOfObj(o), int64_t(sizeOf(child(o, "data")) + sizeOf(child(o, "binaryData"))), ageOfObj(o, now)};
            }};
  if (k == "Secret")
    return {Json::array({nameColumn(), column("Type", "string", "Used to facilitate programmatic handling of secret data."),
                         column("Data", "string", "Data contains the secret data."), ageColumn()}),
            [](const Json& o, int64_t now) {
              return Json{nameOfObj(o), str(o, "type"), int64_t(sizeOf(child(o, "data"))), ageOfObj(o, now)};
            }};
  if (k == "Event")
    return {Json::array({column("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
                         column("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
                         column("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
                         column("Object", "string", "The object that this event is about."),
                         column("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].", 1),
                         column("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
                         column("Message", "string", "A human-readable description of the status of this operation."),
                         column("First Seen", "string", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", 1),
                         column("Count", "string", "The number of times this event has occurred.", 1),
                         column("Name", "string", kNameDoc, 1, "name")}),
            eventCells};
  // Any other kind: the apiserver's default convertor.
  return {Json::array({nameColumn(), column("Created At", "date", kAgeDoc)}),
          [](const Json& o, int64_t) { return Json{nameOfObj(o), child(child(o, "metadata"), "creationTimestamp")}; }};
}

Json rowObject(const ResourceInfo& r, const Json& obj, const std::string& include_object) {
  if (include_object == "Object") {
    Json full = obj;
    if (!full.contains("kind")) full["kind"] = r.kind;
    if (!full.contains("apiVersion")) full["apiVersion"] = r.apiVersion();
    return full;
  }
  return {{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", obj.contains("metadata") ? obj["metadata"] : Json::object()}};
}

}  // namespace

std::string humanDuration(int64_t seconds) {
  auto s = [](int64_t n) { return std::to_string(n); };
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return s(seconds) + "s";
  int64_t minutes = seconds / 60;
  if (minutes < 10) return seconds % 60 == 0 ? s(minutes) + "m" : s(minutes) + "m" + s(seconds % 60) + "s";
  if (minutes < 180) return s(minutes) + "m";
  int64_t hours = seconds / 3600;
  if (hours < 8) return minutes % 60 == 0 ? s(hours) + "h" : s(hours) + "h" + s(minutes % 60) + "m";
  if (hours < 48) return s(hours) + "h";
  if (hours < 24 * 8) return hours % 24 == 0 ? s(hours / 24) + "d" : s(hours / 24) + "d" + s(hours % 24) + "h";
  if (hours < 24 * 365 * 2) return s(hours / 24) + "d";
  int64_t years = hours / 24 / 365;
  if (hours < 24 * 365 * 8) {
    int64_t days = (hours / 24) % 365;
    return days == 0 ? s(years) + "y" : s(years) + "y" + s(days) + "d";
  }
  return s(years) + "y";
}

Json toTable(const ResourceInfo& r, const std::vector<ObjectPtr>& items, const Json& list_metadata,
             const std::string& include_object, int64_t now) {
  Json rows = Json::array();
  Printer printer = r.kind == "Pod" ? Printer{podColumns(), nullptr} : printerFor(r);
  for (const auto& item : items) {
    if (!item) continue;
    Json row;
    if (r.kind == "Pod") {
      PodRow pr = podRow(*item, now);
      row["cells"] = std::move(pr.cells);
      if (!pr.conditions.is_null()) row["conditions"] = std::move(pr.conditions);
    } else {
      row["cells"] = printer.cells(*item, now);
    }
    if (include_object != "None") row["object"] = rowObject(r, *item, include_object);
    rows.push_back(std::move(row));
  }
  return {{"kind", "Table"},
          {"apiVersion", "meta.k8s.io/v1"},
          {"metadata", list_metadata.is_object() ? list_metadata : Json::object()},
          {"columnDefinitions", std::move(printer.columns)},
          {"rows", std::move(rows)}};
}

Json toTable(const ResourceInfo& r, const std::vector<ObjectPtr>& items, const Json& list_metadata,
             const std::string& include_object) {
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return toTable(r, items, list_metadata, include_object, now);
}

}  // namespace minikd::api
