#include "dns/index_json.h"

namespace minikd::dns {
namespace {

using nlohmann::json;

std::string str(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& field(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

std::vector<PortRecord> portsFromJson(const json& ports) {
  std::vector<PortRecord> out;
  if (!ports.is_array()) return out;
  for (const auto& p : ports) {
    if (!p.is_object()) continue;
    const auto& port = field(p, "port");
    if (!port.is_number_integer()) continue;
    const int64_t v = port.get<int64_t>();
    if (v <= 0 || v > 65535) continue;
    std::string proto = str(p, "protocol");
    out.push_back({str(p, "name"), proto.empty() ? "TCP" : proto, uint16_t(v)});
  }
  return out;
}

}  // namespace

ServiceRecord serviceFromJson(const json& svc) {
  ServiceRecord r;
  const auto& meta = field(svc, "metadata");
  const auto& spec = field(svc, "spec");
  r.ns = str(meta, "namespace");
  r.name = str(meta, "name");
  if (r.ns.empty()) r.ns = "default";
  r.ports = portsFromJson(field(spec, "ports"));
  if (str(spec, "type") == "ExternalName") {
    r.kind = ServiceKind::kExternalName;
    r.external_name = str(spec, "externalName");
    return r;
  }
  std::vector<std::string> ips;
  if (const auto& list = field(spec, "clusterIPs"); list.is_array())
    for (const auto& ip : list)
      if (ip.is_string()) ips.push_back(ip.get<std::string>());
  if (ips.empty() && spec.is_object()) ips.push_back(str(spec, "clusterIP"));
  if (ips.empty() || ips.front() == "None") {
    r.kind = ServiceKind::kHeadless;
    return r;
  }
  for (const auto& text : ips)
    if (auto ip = IpAddr::parse(text)) r.cluster_ips.push_back(*ip);
  return r;
}

std::optional<std::string> sliceServiceName(const json& slice) {
  const auto& labels = field(field(slice, "metadata"), "labels");
  std::string name = labels.is_object() ? str(labels, "kubernetes.io/service-name") : "";
  if (name.empty()) return std::nullopt;
  return name;
}

EndpointSetRecord endpointSetFromJson(const json& slice) {
  EndpointSetRecord set;
  set.ports = portsFromJson(field(slice, "ports"));
  const auto& eps = field(slice, "endpoints");
  if (!eps.is_array()) return set;
  for (const auto& ep : eps) {
    const auto& ready = field(field(ep, "conditions"), "ready");
    const bool is_ready = !ready.is_boolean() || ready.get<bool>();
    const std::string hostname = ep.is_object() ? str(ep, "hostname") : "";
    const auto& addrs = field(ep, "addresses");
    if (!addrs.is_array()) continue;
    for (const auto& a : addrs) {
      if (!a.is_string()) continue;
      if (auto ip = IpAddr::parse(a.get<std::string>())) set.endpoints.push_back({*ip, hostname, is_ready});
    }
  }
  return set;
}

PodRecord podFromJson(const json& pod) {
  PodRecord r;
  const auto& meta = field(pod, "metadata");
  const auto& status = field(pod, "status");
  r.ns = str(meta, "namespace");
  r.name = str(meta, "name");
  if (r.ns.empty()) r.ns = "default";
  const auto& host_network = field(field(pod, "spec"), "hostNetwork");
  if (host_network.is_boolean() && host_network.get<bool>()) return r;
  const std::string phase = status.is_object() ? str(status, "phase") : "";
  if (phase == "Succeeded" || phase == "Failed") return r;
  if (const auto& list = field(status, "podIPs"); list.is_array()) {
    for (const auto& e : list)
      if (e.is_object())
        if (auto ip = IpAddr::parse(str(e, "ip"))) r.ips.push_back(*ip);
  }
  if (r.ips.empty() && status.is_object())
    if (auto ip = IpAddr::parse(str(status, "podIP"))) r.ips.push_back(*ip);
  return r;
}

}  // namespace minikd::dns
