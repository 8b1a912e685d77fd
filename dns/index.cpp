#include "dns/index.h"

#include <arpa/inet.h>

#include <cstring>
#include <mutex>

namespace minikd::dns {
namespace {

std::string keyOf(std::string_view ns, std::string_view name) {
  std::string k;
  k.reserve(ns.size() + name.size() + 1);
  k.append(ns).push_back('/');
  k.append(name);
  return k;
}

void eraseValue(std::unordered_multimap<IpAddr, std::string, IpAddrHash>& m, const IpAddr& ip, const std::string& v) {
  auto [b, e] = m.equal_range(ip);
  for (auto it = b; it != e; ++it) {
    if (it->second == v) {
      m.erase(it);
      return;
    }
  }
}

}  // namespace

std::optional<IpAddr> IpAddr::parse(std::string_view text) {
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  IpAddr ip;
  if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
    ip.family = 4;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) {
    ip.family = 6;
    return ip;
  }
  return std::nullopt;
}

IpAddr IpAddr::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  IpAddr ip;
  ip.family = 4;
  ip.bytes[0] = a, ip.bytes[1] = b, ip.bytes[2] = c, ip.bytes[3] = d;
  return ip;
}

std::string IpAddr::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family == 4) inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
  if (family == 6) inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

size_t IpAddrHash::operator()(const IpAddr& ip) const {
  size_t h = ip.family;
  for (uint8_t b : ip.bytes) h = h * 131 + b;
  return h;
}

std::string dashedIp(const IpAddr& ip) {
  std::string s = ip.toString();
  for (auto& c : s)
    if (c == '.' || c == ':') c = '-';
  return s;
}

void ServiceIndex::countNamespace(const std::string& ns, int delta) {
  auto& n = namespaces_[ns];
  n += delta;
  if (n <= 0) namespaces_.erase(ns);
}

void ServiceIndex::indexIps(const ServiceRecord& svc, int delta) {
  const std::string base = svc.name + "." + svc.ns + ".svc";
  for (const auto& ip : svc.cluster_ips) {
    if (delta > 0) cluster_ip_names_.emplace(ip, base);
    else eraseValue(cluster_ip_names_, ip, base);
  }
  if (svc.kind != ServiceKind::kHeadless) return;
  for (const auto& [_, set] : svc.slices) {
    for (const auto& ep : set.endpoints) {
      if (ep.hostname.empty()) continue;  // only named endpoints get a PTR (as CoreDNS)
      const std::string name = ep.hostname + "." + base;
      if (delta > 0) endpoint_names_.emplace(ep.ip, name);
      else eraseValue(endpoint_names_, ep.ip, name);
    }
  }
}

void ServiceIndex::upsertService(ServiceRecord svc) {
  std::unique_lock lk(mu_);
  const std::string key = keyOf(svc.ns, svc.name);
  auto& e = services_[key];
  if (!e.service) countNamespace(svc.ns, +1);
  else indexIps(e.merged, -1);
  e.service = std::move(svc);
  e.merged = *e.service;
  e.merged.slices = e.slices;
  indexIps(e.merged, +1);
}

void ServiceIndex::removeService(std::string_view ns, std::string_view name) {
  std::unique_lock lk(mu_);
  auto it = services_.find(keyOf(ns, name));
  if (it == services_.end() || !it->second.service) return;
  indexIps(it->second.merged, -1);
  countNamespace(std::string(ns), -1);
  it->second.service.reset();
  it->second.merged = ServiceRecord{};
  if (it->second.slices.empty()) services_.erase(it);
}

void ServiceIndex::upsertSlice(std::string_view ns, std::string_view service, std::string_view slice,
                               EndpointSetRecord set) {
  std::unique_lock lk(mu_);
  auto& e = services_[keyOf(ns, service)];
  if (e.service) indexIps(e.merged, -1);
  e.slices[std::string(slice)] = std::move(set);
  if (!e.service) return;
  e.merged.slices = e.slices;
  indexIps(e.merged, +1);
}

void ServiceIndex::removeSlice(std::string_view ns, std::string_view service, std::string_view slice) {
  std::unique_lock lk(mu_);
  auto it = services_.find(keyOf(ns, service));
  if (it == services_.end()) return;
  auto& e = it->second;
  if (e.service) indexIps(e.merged, -1);
  e.slices.erase(std::string(slice));
  if (!e.service) {
    if (e.slices.empty()) services_.erase(it);
    return;
  }
  e.merged.slices = e.slices;
  indexIps(e.merged, +1);
}

void ServiceIndex::upsertPod(PodRecord pod) {
  std::unique_lock lk(mu_);
  const std::string key = keyOf(pod.ns, pod.name);
  auto it = pods_.find(key);
  if (it != pods_.end()) {
    for (const auto& ip : it->second.ips) eraseValue(pod_ips_, ip, it->second.ns);
  } else {
    countNamespace(pod.ns, +1);
  }
  for (const auto& ip : pod.ips) pod_ips_.emplace(ip, pod.ns);
  pods_[key] = std::move(pod);
}

void ServiceIndex::removePod(std::string_view ns, std::string_view name) {
  std::unique_lock lk(mu_);
  auto it = pods_.find(keyOf(ns, name));
  if (it == pods_.end()) return;
  for (const auto& ip : it->second.ips) eraseValue(pod_ips_, ip, it->second.ns);
  countNamespace(it->second.ns, -1);
  pods_.erase(it);
}

size_t ServiceIndex::serviceCount() const {
  std::shared_lock lk(mu_);
  size_t n = 0;
  for (const auto& [_, e] : services_) n += e.service ? 1 : 0;
  return n;
}

const ServiceRecord* ServiceIndex::findService(std::string_view ns, std::string_view name) const {
  thread_local std::string key;  // reused: no allocation per lookup
  key.assign(ns).push_back('/');
  key.append(name);
  auto it = services_.find(key);
  if (it == services_.end() || !it->second.service) return nullptr;
  return &it->second.merged;
}

bool ServiceIndex::hasNamespace(std::string_view ns) const {
  thread_local std::string key;
  key.assign(ns);
  return namespaces_.count(key) > 0;
}

bool ServiceIndex::hasPodIp(std::string_view ns, const IpAddr& ip) const {
  auto [b, e] = pod_ips_.equal_range(ip);
  for (auto it = b; it != e; ++it)
    if (it->second == ns) return true;
  return false;
}

std::optional<std::string> ServiceIndex::reverseName(const IpAddr& ip) const {
  if (auto it = cluster_ip_names_.find(ip); it != cluster_ip_names_.end()) return it->second;
  if (auto it = endpoint_names_.find(ip); it != endpoint_names_.end()) return it->second;
  if (auto it = pod_ips_.find(ip); it != pod_ips_.end()) return dashedIp(ip) + "." + it->second + ".pod";
  return std::nullopt;
}

}  // namespace minikd::dns
