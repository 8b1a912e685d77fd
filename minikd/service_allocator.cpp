#include "minikd/service_allocator.h"

#include "api/informer.h"

#include <stdexcept>

namespace minikd {

using api::Cause;
using api::Json;

std::optional<Ipv4> parseIpv4(const std::string& text) {
  Ipv4 out = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    if (i >= text.size() || !isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    size_t start = i;
    unsigned v = 0;
    while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) {
      v = v * 10 + (text[i] - '0');
      if (v > 255 || i - start >= 3) return std::nullopt;
      ++i;
    }
    if (i - start > 1 && text[start] == '0') return std::nullopt;  // no leading zeros (ambiguous octal)
    out = (out << 8) | v;
    ++parts;
    if (parts < 4) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
  }
  if (i != text.size()) return std::nullopt;
  return out;
}

std::string formatIpv4(Ipv4 ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." + std::to_string((ip >> 8) & 255) +
         "." + std::to_string(ip & 255);
}

Ipv4Cidr Ipv4Cidr::parse(const std::string& text) {
  auto slash = text.find('/');
  if (slash == std::string::npos) throw std::invalid_argument("CIDR \"" + text + "\": missing /prefix");
  auto ip = parseIpv4(text.substr(0, slash));
  std::string p = text.substr(slash + 1);
  if (!ip || p.empty() || p.size() > 2 || p.find_first_not_of("0123456789") != std::string::npos)
    throw std::invalid_argument("CIDR \"" + text + "\": not an IPv4 network");
  int prefix = std::stoi(p);
  if (prefix > 32) throw std::invalid_argument("CIDR \"" + text + "\": prefix longer than 32");
  Ipv4Cidr c;
  c.prefix = prefix;
  c.base = prefix == 0 ? 0 : (*ip & (~Ipv4{0} << (32 - prefix)));
  return c;
}

namespace {

constexpr uint64_t kKubernetesOffset = 1;
constexpr uint64_t kDnsOffset = 10;

std::string stringAt(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string typeOf(const Json& svc) {
  if (!svc.contains("spec") || !svc["spec"].is_object()) return "ClusterIP";
  std::string t = stringAt(svc["spec"], "type");
  return t.empty() ? "ClusterIP" : t;
}

/// The ClusterIP as written: spec.clusterIP, else spec.clusterIPs[0].
std::string requestedClusterIp(const Json& spec) {
  std::string ip = stringAt(spec, "clusterIP");
  if (!ip.empty()) return ip;
  auto it = spec.find("clusterIPs");
  if (it != spec.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) return (*it)[0].get<std::string>();
  return {};
}

bool needsNodePorts(const Json& svc) {
  std::string t = typeOf(svc);
  if (t == "NodePort") return true;
  if (t != "LoadBalancer") return false;
  const Json& spec = svc["spec"];
  auto it = spec.find("allocateLoadBalancerNodePorts");
  return it == spec.end() || !it->is_boolean() || it->get<bool>();
}

std::string protocolOf(const Json& port) {
  std::string p = stringAt(port, "protocol");
  return p.empty() ? "TCP" : p;
}

int intAt(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int>() : 0;
}

/// The nodePort the old object had for the port with the same port number and protocol, or 0.
int oldNodePort(const Json* old, const Json& port) {
  if (!old || !old->contains("spec") || !(*old)["spec"].contains("ports")) return 0;
  for (const auto& p : (*old)["spec"]["ports"])
    if (intAt(p, "port") == intAt(port, "port") && protocolOf(p) == protocolOf(port)) return intAt(p, "nodePort");
  return 0;
}

Cause invalidValue(const std::string& field, const std::string& value, const std::string& why) {
  return {"FieldValueInvalid", "Invalid value: " + value + ": " + why, field};
}

std::string quoteValue(const std::string& s) { return "\"" + s + "\""; }

void setClusterIp(Json& spec, const std::string& ip) {
  spec["clusterIP"] = ip;
  spec["clusterIPs"] = Json::array({ip});
}

bool hasSelector(const Json& spec) {
  auto it = spec.find("selector");
  return it != spec.end() && it->is_object() && !it->empty();
}

}  // namespace

ServiceAllocator::ServiceAllocator(api::Api& api, Options options)
    : api_(api), options_(std::move(options)), cidr_(Ipv4Cidr::parse(options_.service_cidr)) {
  if (options_.node_port_min <= 0 || options_.node_port_max > 65535 || options_.node_port_min > options_.node_port_max)
    throw std::invalid_argument("node port range " + std::to_string(options_.node_port_min) + "-" +
                                std::to_string(options_.node_port_max) + " is not valid");
  ip_cursor_ = kDnsOffset;
  port_cursor_ = options_.node_port_min - 1;
  std::lock_guard lk(mu_);
  relist();
}

void ServiceAllocator::install() {
  api_.addAdmission("services", [this](api::Operation op, Json& obj, const Json* old) { admit(op, obj, old); });
}

// Called with mu_ held. Rebuilds what is held from the stored Services and restarts the watch.
void ServiceAllocator::relist() {
  api::Filter f;
  f.resource = "services";
  auto res = api_.store().list(f);
  held_.clear();
  ip_owner_.clear();
  port_owner_.clear();
  for (const auto& o : res.items) {
    std::string key = api::keyOf(*o);
    setHolding(key, o.get());
    reservations_.erase(key);
  }
  watch_ = api_.store().watch(f, res.resource_version);
}

// Called with mu_ held. Applies the Service events since the last call (never blocks).
void ServiceAllocator::follow() {
  try {
    while (auto ev = watch_->next(std::chrono::milliseconds(0))) {
      std::string key = api::keyOf(*ev->object);
      setHolding(key, ev->type == api::EventType::Deleted ? nullptr : ev->object.get());
      auto it = reservations_.find(key);
      if (it != reservations_.end() && ev->rv > it->second.after_rv) reservations_.erase(it);
    }
  } catch (const api::ApiError& e) {
    if (e.code() != 410) throw;
    relist();
  }
}

void ServiceAllocator::setHolding(const std::string& key, const Json* svc) {
  if (auto it = held_.find(key); it != held_.end()) {
    if (it->second.ip) {
      auto o = ip_owner_.find(*it->second.ip);
      if (o != ip_owner_.end() && o->second == key) ip_owner_.erase(o);
    }
    for (int p : it->second.node_ports) {
      auto o = port_owner_.find(p);
      if (o != port_owner_.end() && o->second == key) port_owner_.erase(o);
    }
    held_.erase(it);
  }
  if (!svc || !svc->contains("spec") || !(*svc)["spec"].is_object()) return;
  const Json& spec = (*svc)["spec"];
  Holding h;
  if (auto ip = parseIpv4(requestedClusterIp(spec)); ip && cidr_.contains(*ip)) h.ip = *ip;
  if (auto it = spec.find("ports"); it != spec.end() && it->is_array())
    for (const auto& p : *it)
      if (int np = intAt(p, "nodePort"); np > 0) h.node_ports.insert(np);
  if (h.ip) ip_owner_[*h.ip] = key;
  for (int p : h.node_ports) port_owner_[p] = key;
  held_[key] = std::move(h);
}

bool ServiceAllocator::ipTaken(Ipv4 ip, const std::string& self) const {
  if (auto it = ip_owner_.find(ip); it != ip_owner_.end() && it->second != self) return true;
  for (const auto& [key, r] : reservations_)
    if (key != self && r.holding.ip == ip) return true;
  return false;
}

bool ServiceAllocator::portTaken(int port, const std::string& self) const {
  if (auto it = port_owner_.find(port); it != port_owner_.end() && it->second != self) return true;
  for (const auto& [key, r] : reservations_)
    if (key != self && r.holding.node_ports.count(port)) return true;
  return false;
}

Ipv4 ServiceAllocator::nextFreeIp(const std::string& key) {
  // Usable offsets are 1 .. size-2 (no network, no broadcast); 1 and 10 only when asked for.
  uint64_t size = cidr_.size();
  if (size >= 4) {
    uint64_t usable = size - 2;
    for (uint64_t i = 0; i < usable; ++i) {
      uint64_t off = (ip_cursor_ + i) % usable + 1;
      if (off == kKubernetesOffset || off == kDnsOffset) continue;
      if (ipTaken(cidr_.nth(off), key)) continue;
      ip_cursor_ = off;
      return cidr_.nth(off);
    }
  }
  throw api::internalError("failed to allocate a serviceIP: range is full");
}

int ServiceAllocator::nextFreePort(const std::string& key, const std::set<int>& also_taken) {
  int lo = options_.node_port_min, n = options_.node_port_max - lo + 1;
  for (int i = 1; i <= n; ++i) {
    int port = lo + (port_cursor_ - lo + i) % n;
    if (also_taken.count(port) || portTaken(port, key)) continue;
    port_cursor_ = port;
    return port;
  }
  throw api::internalError("failed to allocate a nodePort: range is full");
}

void ServiceAllocator::assignClusterIp(Json& svc, const Json* old, const std::string& key,
                                       Holding& out) {
  Json& spec = svc["spec"];
  std::string ip = requestedClusterIp(spec);
  std::string listed = spec.contains("clusterIPs") && spec["clusterIPs"].is_array() && !spec["clusterIPs"].empty() &&
                               spec["clusterIPs"][0].is_string()
                           ? spec["clusterIPs"][0].get<std::string>()
                           : std::string();
  if (!listed.empty() && listed != ip)
    throw api::invalid("Service", api::nameOf(svc),
                       {invalidValue("spec.clusterIPs[0]", quoteValue(listed), "must match `clusterIP` when both are specified")});
  std::string old_ip = old && old->contains("spec") && typeOf(*old) != "ExternalName"
                           ? requestedClusterIp((*old)["spec"])
                           : std::string();

  if (typeOf(svc) == "ExternalName") {
    // Turning a Service into ExternalName drops its address; asking for a new one is an error.
    if (!ip.empty() && ip != old_ip)
      throw api::invalid("Service", api::nameOf(svc),
                         {invalidValue("spec.clusterIP", quoteValue(ip), "may not be set for ExternalName services")});
    spec.erase("clusterIP");
    spec.erase("clusterIPs");
    return;
  }
  if (!old_ip.empty()) {
    if (ip.empty()) ip = old_ip;
    if (ip != old_ip)
      throw api::invalid("Service", api::nameOf(svc), {invalidValue("spec.clusterIP", quoteValue(ip), "field is immutable")});
    setClusterIp(spec, ip);
    if (auto parsed = parseIpv4(ip); parsed && cidr_.contains(*parsed)) out.ip = parsed;
    return;
  }
  if (ip == "None") {
    setClusterIp(spec, ip);
    return;
  }
  if (ip.empty()) {
    out.ip = nextFreeIp(key);
    setClusterIp(spec, formatIpv4(*out.ip));
    return;
  }
  auto parsed = parseIpv4(ip);
  if (!parsed)
    throw api::invalid("Service", api::nameOf(svc),
                       {invalidValue("spec.clusterIP", quoteValue(ip), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")});
  uint64_t off = static_cast<uint64_t>(*parsed - cidr_.base);
  if (!cidr_.contains(*parsed) || off == 0 || off + 1 >= cidr_.size())
    throw api::invalid("Service", api::nameOf(svc),
                       {invalidValue("spec.clusterIP", quoteValue(ip),
                                     "provided IP is not in the valid range. The range of valid IPs is " + cidr_.toString())});
  if (ipTaken(*parsed, key))
    throw api::invalid("Service", api::nameOf(svc),
                       {invalidValue("spec.clusterIP", quoteValue(ip), "provided IP is already allocated")});
  out.ip = parsed;
  setClusterIp(spec, ip);
}

void ServiceAllocator::assignNodePorts(Json& svc, const Json* old, const std::string& key, Holding& out) {
  Json& spec = svc["spec"];
  if (!spec.contains("ports") || !spec["ports"].is_array()) return;
  Json& ports = spec["ports"];
  bool needs = needsNodePorts(svc);
  bool old_needed = old && needsNodePorts(*old);
  std::string type = typeOf(svc);
  std::vector<Cause> causes;
  std::set<std::pair<int, std::string>> seen;

  for (size_t i = 0; i < ports.size(); ++i) {
    Json& p = ports[i];
    std::string field = "spec.ports[" + std::to_string(i) + "].nodePort";
    int np = intAt(p, "nodePort");
    int kept = old_needed ? oldNodePort(old, p) : 0;
    if (!needs && type != "LoadBalancer") {
      // A type change away from NodePort drops the ports it had; a new one is refused.
      if (np != 0 && np != kept)
        causes.push_back({"FieldValueForbidden", "Forbidden: may not be used when `type` is '" + type + "'", field});
      p.erase("nodePort");
      continue;
    }
    if (np == 0 && needs) np = kept;
    if (np == 0) continue;
    if (!seen.insert({np, protocolOf(p)}).second) {
      causes.push_back({"FieldValueDuplicate", "Duplicate value: " + std::to_string(np), field});
      continue;
    }
    if (np < options_.node_port_min || np > options_.node_port_max) {
      causes.push_back(invalidValue(field, std::to_string(np),
                                    "provided port is not in the valid range. The range of valid ports is " +
                                        std::to_string(options_.node_port_min) + "-" +
                                        std::to_string(options_.node_port_max)));
      continue;
    }
    if (portTaken(np, key)) {
      causes.push_back(invalidValue(field, std::to_string(np), "provided port is already allocated"));
      continue;
    }
    p["nodePort"] = np;
    out.node_ports.insert(np);
  }
  if (!causes.empty()) throw api::invalid("Service", api::nameOf(svc), causes);
  if (!needs) return;
  for (auto& p : ports)
    if (intAt(p, "nodePort") == 0) {
      int np = nextFreePort(key, out.node_ports);
      p["nodePort"] = np;
      out.node_ports.insert(np);
    }
}

void ServiceAllocator::admit(api::Operation op, Json& svc, const Json* old) {
  if (!svc.contains("spec") || !svc["spec"].is_object()) svc["spec"] = Json::object();
  std::string key = api::keyOf(svc);
  std::lock_guard lk(mu_);
  follow();
  auto now = std::chrono::steady_clock::now();
  for (auto it = reservations_.begin(); it != reservations_.end();)
    it = it->second.expires < now ? reservations_.erase(it) : std::next(it);

  Holding h;
  assignClusterIp(svc, old, key, h);
  assignNodePorts(svc, old, key, h);

  Json& spec = svc["spec"];
  std::string type = typeOf(svc);
  if (type != "ExternalName") {
    if (!spec.contains("ipFamilies") && old && (*old)["spec"].contains("ipFamilies"))
      spec["ipFamilies"] = (*old)["spec"]["ipFamilies"];
    if (!spec.contains("ipFamilies")) spec["ipFamilies"] = Json::array({"IPv4"});
    if (!spec.contains("ipFamilyPolicy") && old && (*old)["spec"].contains("ipFamilyPolicy"))
      spec["ipFamilyPolicy"] = (*old)["spec"]["ipFamilyPolicy"];
    if (!spec.contains("ipFamilyPolicy"))
      spec["ipFamilyPolicy"] = stringAt(spec, "clusterIP") == "None" && !hasSelector(spec) ? "RequireDualStack" : "SingleStack";
  } else {
    spec.erase("ipFamilies");
    spec.erase("ipFamilyPolicy");
  }
  if (!svc.contains("status") || !svc["status"].is_object()) svc["status"] = Json::object();
  if (type == "LoadBalancer")
    svc["status"]["loadBalancer"] = {{"ingress", Json::array({{{"ip", options_.load_balancer_ip}}})}};
  else
    svc["status"]["loadBalancer"] = Json::object();

  // A create of a name that exists will fail with 409 after this hook: nothing to hold for it.
  if (op == api::Operation::Create && held_.count(key)) return;
  reservations_[key] = Reservation{std::move(h), watch_->cursor(), now + options_.reservation_ttl};
}

}  // namespace minikd
