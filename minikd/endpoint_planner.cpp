#include "minikd/endpoint_planner.h"

#include "minikd/service_allocator.h"

#include <algorithm>
#include <map>
#include <set>

namespace minikd {

using api::Json;

namespace {

const Json& field(const Json& obj, const char* key) {
  static const Json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::string str(const Json& obj, const char* key) {
  const Json& v = field(obj, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::string protocolOf(const Json& port) {
  std::string p = str(port, "protocol");
  return p.empty() ? "TCP" : p;
}

const Json& meta(const Json& obj) { return field(obj, "metadata"); }
const Json& spec(const Json& obj) { return field(obj, "spec"); }

std::string podIp(const Json& pod) { return str(field(pod, "status"), "podIP"); }

bool publishNotReady(const Json& svc) {
  const Json& v = field(spec(svc), "publishNotReadyAddresses");
  return v.is_boolean() && v.get<bool>();
}

bool isHeadless(const Json& svc) { return str(spec(svc), "clusterIP") == "None"; }

Json targetRefOf(const Json& pod) {
  return {{"kind", "Pod"},
          {"namespace", str(meta(pod), "namespace")},
          {"name", str(meta(pod), "name")},
          {"uid", str(meta(pod), "uid")}};
}

/// spec.hostname when the pod asks to be named under this Service (spec.subdomain == its name).
std::string hostnameFor(const Json& pod, const Json& svc) {
  std::string host = str(spec(pod), "hostname");
  if (host.empty() || str(spec(pod), "subdomain") != str(meta(svc), "name")) return {};
  if (str(meta(pod), "namespace") != str(meta(svc), "namespace")) return {};
  return host;
}

/// Endpoints/slice port for a resolved Service port. `always_name` gives slices their "" name.
Json endpointPort(const Json& svc_port, int port, bool always_name) {
  Json p = Json::object();
  std::string name = str(svc_port, "name");
  if (!name.empty() || always_name) p["name"] = name;
  p["port"] = port;
  p["protocol"] = protocolOf(svc_port);
  if (svc_port.contains("appProtocol")) p["appProtocol"] = svc_port["appProtocol"];
  return p;
}

/// The pods of `svc`'s namespace its selector matches, sorted by name.
std::vector<const Json*> selectedPods(const Json& svc, const std::vector<api::ObjectPtr>& pods) {
  auto sel = serviceSelector(svc);
  std::string ns = str(meta(svc), "namespace");
  std::vector<const Json*> out;
  for (const auto& p : pods)
    if (p && str(meta(*p), "namespace") == ns && sel.matches(field(meta(*p), "labels"))) out.push_back(p.get());
  std::sort(out.begin(), out.end(),
            [](const Json* a, const Json* b) { return str(meta(*a), "name") < str(meta(*b), "name"); });
  return out;
}

/// The resolved ports of `svc` on `pod`, in the Service's port order.
Json resolvedPorts(const Json& svc, const Json& pod, bool always_name) {
  Json out = Json::array();
  const Json& ports = field(spec(svc), "ports");
  if (!ports.is_array()) return out;
  for (const auto& sp : ports)
    if (auto port = resolveTargetPort(sp, pod)) out.push_back(endpointPort(sp, *port, always_name));
  return out;
}

bool addressLess(const Json& a, const Json& b) {
  auto ka = std::make_pair(parseIpv4(str(a, "ip")).value_or(0), str(field(a, "targetRef"), "name"));
  auto kb = std::make_pair(parseIpv4(str(b, "ip")).value_or(0), str(field(b, "targetRef"), "name"));
  return ka < kb;
}

bool sliceEndpointLess(const Json& a, const Json& b) {
  std::string ia = a["addresses"].empty() ? "" : a["addresses"][0].get<std::string>();
  std::string ib = b["addresses"].empty() ? "" : b["addresses"][0].get<std::string>();
  auto ka = std::make_pair(parseIpv4(ia).value_or(0), str(field(a, "targetRef"), "name"));
  auto kb = std::make_pair(parseIpv4(ib).value_or(0), str(field(b, "targetRef"), "name"));
  return ka < kb;
}

/// Splits groups (ports → endpoints) into slices of at most kMaxEndpointsPerSlice endpoints.
std::vector<SliceContent> chunk(std::map<std::string, std::pair<Json, std::vector<Json>>>& groups) {
  std::vector<SliceContent> out;
  for (auto& [key, g] : groups) {
    auto& eps = g.second;
    std::sort(eps.begin(), eps.end(), sliceEndpointLess);
    for (size_t i = 0; i < eps.size(); i += kMaxEndpointsPerSlice) {
      SliceContent c;
      c.ports = g.first;
      for (size_t j = i; j < std::min(eps.size(), i + kMaxEndpointsPerSlice); ++j) c.endpoints.push_back(eps[j]);
      out.push_back(std::move(c));
    }
  }
  if (out.empty()) out.push_back(SliceContent{});
  return out;
}

}  // namespace

bool isPodReady(const Json& pod) {
  const Json& conds = field(field(pod, "status"), "conditions");
  if (!conds.is_array()) return false;
  for (const auto& c : conds)
    if (str(c, "type") == "Ready") return str(c, "status") == "True";
  return false;
}

bool isPodTerminating(const Json& pod) { return !field(meta(pod), "deletionTimestamp").is_null(); }

bool shouldPodBeInEndpoints(const Json& pod, bool include_terminating) {
  if (podIp(pod).empty()) return false;
  if (!include_terminating && isPodTerminating(pod)) return false;
  std::string phase = str(field(pod, "status"), "phase");
  std::string restart = str(spec(pod), "restartPolicy");
  if (restart == "Never") return phase != "Failed" && phase != "Succeeded";
  if (restart == "OnFailure") return phase != "Succeeded";
  return true;
}

std::optional<int> resolveTargetPort(const Json& service_port, const Json& pod) {
  const Json& tp = field(service_port, "targetPort");
  if (tp.is_number_integer() && tp.get<int>() > 0) return tp.get<int>();
  if (tp.is_string() && !tp.get<std::string>().empty()) {
    const std::string& name = tp.get_ref<const std::string&>();
    if (name.find_first_not_of("0123456789") == std::string::npos) return std::stoi(name);
    std::string proto = protocolOf(service_port);
    const Json& containers = field(spec(pod), "containers");
    if (!containers.is_array()) return std::nullopt;
    for (const auto& c : containers) {
      const Json& ports = field(c, "ports");
      if (!ports.is_array()) continue;
      for (const auto& p : ports)
        if (str(p, "name") == name && protocolOf(p) == proto && field(p, "containerPort").is_number_integer())
          return p["containerPort"].get<int>();
    }
    return std::nullopt;
  }
  const Json& port = field(service_port, "port");
  if (port.is_number_integer()) return port.get<int>();
  return std::nullopt;
}

bool serviceHasSelector(const Json& svc) {
  const Json& sel = field(spec(svc), "selector");
  return sel.is_object() && !sel.empty();
}

api::LabelSelector serviceSelector(const Json& svc) {
  if (!serviceHasSelector(svc)) return api::LabelSelector::nothing();
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : spec(svc)["selector"].items())
    if (v.is_string()) m[k] = v.get<std::string>();
  return api::LabelSelector::fromMap(m);
}

Json podEndpointFingerprint(const Json& pod) {
  Json ports = Json::array();
  const Json& containers = field(spec(pod), "containers");
  if (containers.is_array())
    for (const auto& c : containers) ports.push_back(field(c, "ports"));
  return {{"labels", field(meta(pod), "labels")},
          {"uid", field(meta(pod), "uid")},
          {"deleting", isPodTerminating(pod)},
          {"ip", podIp(pod)},
          {"ready", isPodReady(pod)},
          {"phase", field(field(pod, "status"), "phase")},
          {"restart", field(spec(pod), "restartPolicy")},
          {"node", field(spec(pod), "nodeName")},
          {"hostname", field(spec(pod), "hostname")},
          {"subdomain", field(spec(pod), "subdomain")},
          {"ports", ports}};
}

Json planEndpoints(const Json& svc, const std::vector<api::ObjectPtr>& pods) {
  bool tolerate = publishNotReady(svc);
  bool no_ports = !field(spec(svc), "ports").is_array() || spec(svc)["ports"].empty();
  // Address → (ready, ports); then addresses with the same port set share a subset.
  struct Entry {
    Json address;
    bool ready;
    Json ports;
  };
  std::vector<Entry> entries;
  for (const Json* pod : selectedPods(svc, pods)) {
    if (!shouldPodBeInEndpoints(*pod, tolerate)) continue;
    Json addr = {{"ip", podIp(*pod)}, {"targetRef", targetRefOf(*pod)}};
    std::string node = str(spec(*pod), "nodeName");
    if (!node.empty()) addr["nodeName"] = node;
    if (auto host = hostnameFor(*pod, svc); !host.empty()) addr["hostname"] = host;
    Json ports = resolvedPorts(svc, *pod, false);
    if (ports.empty() && !(no_ports && isHeadless(svc))) continue;
    std::sort(ports.begin(), ports.end(), [](const Json& a, const Json& b) { return a.dump() < b.dump(); });
    entries.push_back({std::move(addr), tolerate || isPodReady(*pod), std::move(ports)});
  }
  std::map<std::string, Json> subsets;  // by port set
  for (auto& e : entries) {
    Json& s = subsets[e.ports.dump()];
    if (s.is_null()) s = {{"ports", e.ports}};
    s[e.ready ? "addresses" : "notReadyAddresses"].push_back(std::move(e.address));
  }
  Json out_subsets = Json::array();
  for (auto& [k, s] : subsets) {
    for (const char* which : {"addresses", "notReadyAddresses"})
      if (s.contains(which)) std::sort(s[which].begin(), s[which].end(), addressLess);
    if (s["ports"].empty()) s.erase("ports");
    out_subsets.push_back(std::move(s));
  }

  Json labels = field(meta(svc), "labels").is_object() ? meta(svc)["labels"] : Json::object();
  labels[kEndpointsManagedByLabel] = kEndpointsControllerName;
  if (isHeadless(svc)) labels[kHeadlessLabel] = "";
  Json ep = {{"apiVersion", "v1"},
             {"kind", "Endpoints"},
             {"metadata", {{"name", str(meta(svc), "name")}, {"namespace", str(meta(svc), "namespace")}, {"labels", labels}}}};
  if (!out_subsets.empty()) ep["subsets"] = std::move(out_subsets);
  return ep;
}

std::vector<SliceContent> planSlices(const Json& svc, const std::vector<api::ObjectPtr>& pods) {
  bool tolerate = publishNotReady(svc);
  std::map<std::string, std::pair<Json, std::vector<Json>>> groups;  // ports → endpoints
  for (const Json* pod : selectedPods(svc, pods)) {
    if (!shouldPodBeInEndpoints(*pod, true)) continue;
    bool serving = isPodReady(*pod);
    bool terminating = isPodTerminating(*pod);
    bool ready = tolerate || (serving && !terminating);
    Json ep = {{"addresses", Json::array({podIp(*pod)})},
               {"conditions", {{"ready", ready}, {"serving", serving}, {"terminating", terminating}}},
               {"targetRef", targetRefOf(*pod)}};
    std::string node = str(spec(*pod), "nodeName");
    if (!node.empty()) ep["nodeName"] = node;
    if (auto host = hostnameFor(*pod, svc); !host.empty()) ep["hostname"] = host;
    Json ports = resolvedPorts(svc, *pod, true);
    auto& g = groups[ports.dump()];
    g.first = ports;
    g.second.push_back(std::move(ep));
  }
  return chunk(groups);
}

std::vector<SliceContent> planMirroredSlices(const Json& endpoints) {
  std::map<std::string, std::pair<Json, std::vector<Json>>> groups;
  std::map<std::string, std::set<std::string>> seen;  // per group: addresses already added
  const Json& subsets = field(endpoints, "subsets");
  if (!subsets.is_array()) return chunk(groups);
  for (const auto& s : subsets) {
    Json ports = Json::array();
    if (field(s, "ports").is_array())
      for (const auto& p : s["ports"]) {
        if (!field(p, "port").is_number_integer()) continue;
        ports.push_back(endpointPort(p, p["port"].get<int>(), true));
      }
    std::string key = ports.dump();
    auto& g = groups[key];
    g.first = ports;
    for (const char* which : {"addresses", "notReadyAddresses"}) {
      const Json& addrs = field(s, which);
      if (!addrs.is_array()) continue;
      bool ready = std::string(which) == "addresses";
      for (const auto& a : addrs) {
        std::string ip = str(a, "ip");
        if (!parseIpv4(ip) || !seen[key].insert(ip).second) continue;
        Json ep = {{"addresses", Json::array({ip})},
                   {"conditions", {{"ready", ready}, {"serving", ready}, {"terminating", false}}}};
        for (const char* k : {"targetRef", "nodeName", "hostname"})
          if (a.contains(k) && !a[k].is_null()) ep[k] = a[k];
        g.second.push_back(std::move(ep));
      }
    }
  }
  return chunk(groups);
}

Json controllerRef(const Json& obj) {
  return {{"apiVersion", str(obj, "apiVersion").empty() ? "v1" : str(obj, "apiVersion")},
          {"kind", str(obj, "kind")},
          {"name", str(meta(obj), "name")},
          {"uid", str(meta(obj), "uid")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

Json buildSlice(const std::string& ns, const std::string& service, const SliceContent& content, const Json& labels,
                const Json& owner) {
  // generateName leaves room for a 5-character suffix within the 63 of a label-safe name.
  std::string prefix = service.substr(0, std::min<size_t>(service.size(), 57)) + "-";
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"generateName", prefix},
            {"namespace", ns},
            {"labels", labels},
            {"ownerReferences", Json::array({owner})}}},
          {"addressType", "IPv4"},
          {"ports", content.ports},
          {"endpoints", content.endpoints}};
}

}  // namespace minikd
