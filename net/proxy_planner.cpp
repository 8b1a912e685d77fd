#include "net/proxy_planner.h"

#include <algorithm>
#include <stdexcept>

namespace minikd::net {

namespace {

// Names of the base chains and shared maps.
constexpr const char* kServices = "services";
constexpr const char* kServiceIps = "service-ips";
constexpr const char* kServiceNodePorts = "service-nodeports";
constexpr const char* kNoEndpointServices = "no-endpoint-services";
constexpr const char* kNoEndpointNodePorts = "no-endpoint-nodeports";
constexpr const char* kMarkForMasquerade = "mark-for-masquerade";
constexpr const char* kMasquerading = "masquerading";
constexpr const char* kServiceChecks = "service-checks";
constexpr const char* kRejectService = "reject-service";
constexpr uint32_t kDefaultAffinityTimeout = 10800;

Verdict jumpTo(const std::string& chain) { return {VerdictKind::Jump, chain}; }
Verdict gotoChain(const std::string& chain) { return {VerdictKind::Goto, chain}; }

NftRule rule(std::vector<NftStatement> stmts) { return NftRule{std::move(stmts)}; }

NftChain chain(std::string name, std::vector<NftRule> rules, std::optional<NftBaseChain> base = std::nullopt) {
  return NftChain{std::move(name), std::move(base), std::move(rules)};
}

std::optional<L4Proto> parseProtocol(const nlohmann::json& obj) {
  std::string p = obj.value("protocol", std::string("TCP"));
  if (p == "TCP") return L4Proto::Tcp;
  if (p == "UDP") return L4Proto::Udp;
  if (p == "SCTP") return L4Proto::Sctp;
  return std::nullopt;
}

std::string portId(const ServicePortInfo& p) { return p.name.empty() ? std::to_string(p.port) : p.name; }

/// "ns/name/tcp/http": names a service port in chain names and slot keys.
std::string servicePortKey(const ServiceInfo& svc, const ServicePortInfo& p) {
  return svc.ns + "/" + svc.name + "/" + l4protoName(p.proto) + "/" + portId(p);
}

std::string endpointText(const EndpointTarget& ep) { return formatIpv4Addr(ep.ip) + ":" + std::to_string(ep.port); }

NftKey serviceKey(uint32_t ip, L4Proto proto, uint16_t port) {
  return {{NftKeyType::Ipv4Addr, ip}, {NftKeyType::InetProto, static_cast<uint32_t>(proto)}, {NftKeyType::InetService, port}};
}

NftKey nodePortKey(L4Proto proto, uint16_t port) {
  return {{NftKeyType::InetProto, static_cast<uint32_t>(proto)}, {NftKeyType::InetService, port}};
}

const std::vector<NftKeyType> kServiceKeyType = {NftKeyType::Ipv4Addr, NftKeyType::InetProto, NftKeyType::InetService};
const std::vector<NftKeyType> kNodePortKeyType = {NftKeyType::InetProto, NftKeyType::InetService};

Ipv4Prefix requirePrefix(const std::string& text, const char* what) {
  auto p = parseIpv4Prefix(text);
  if (!p) throw std::invalid_argument(std::string("proxy: invalid ") + what + " \"" + text + "\"");
  return *p;
}

}  // namespace

// ---- Parsing ---------------------------------------------------------------------------------------

std::optional<ServiceInfo> parseService(const nlohmann::json& svc) {
  const auto& spec = svc.value("spec", nlohmann::json::object());
  if (spec.value("type", std::string("ClusterIP")) == "ExternalName") return std::nullopt;
  auto ip = parseIpv4Prefix(spec.value("clusterIP", std::string()));
  if (!ip || ip->len != 32) return std::nullopt;  // headless ("None"), unset or IPv6
  ServiceInfo out;
  const auto& meta = svc.value("metadata", nlohmann::json::object());
  out.ns = meta.value("namespace", std::string("default"));
  out.name = meta.value("name", std::string());
  out.cluster_ip = ip->addr;
  std::string type = spec.value("type", std::string("ClusterIP"));
  bool node_ports = type == "NodePort" || type == "LoadBalancer";
  for (const auto& p : spec.value("ports", nlohmann::json::array())) {
    auto proto = parseProtocol(p);
    int port = p.value("port", 0);
    if (!proto || port <= 0 || port > 65535) continue;
    int node_port = node_ports ? p.value("nodePort", 0) : 0;
    out.ports.push_back({p.value("name", std::string()), *proto, static_cast<uint16_t>(port),
                         static_cast<uint16_t>(node_port > 0 && node_port <= 65535 ? node_port : 0)});
  }
  if (out.ports.empty()) return std::nullopt;
  if (spec.value("sessionAffinity", std::string()) == "ClientIP") {
    out.affinity_timeout = kDefaultAffinityTimeout;
    if (spec.contains("sessionAffinityConfig")) {
      auto t = spec["sessionAffinityConfig"].value("clientIP", nlohmann::json::object()).value("timeoutSeconds", 0);
      if (t > 0) out.affinity_timeout = static_cast<uint32_t>(t);
    }
  }
  return out;
}

std::optional<SliceInfo> parseSlice(const nlohmann::json& slice) {
  if (slice.value("addressType", std::string("IPv4")) != "IPv4") return std::nullopt;
  const auto& meta = slice.value("metadata", nlohmann::json::object());
  const auto& labels = meta.value("labels", nlohmann::json::object());
  auto it = labels.find("kubernetes.io/service-name");
  if (it == labels.end() || !it->is_string()) return std::nullopt;
  SliceInfo out;
  out.ns = meta.value("namespace", std::string("default"));
  out.name = meta.value("name", std::string());
  out.service = it->get<std::string>();
  auto ports = slice.value("ports", nlohmann::json::array());
  for (const auto& p : ports.is_array() ? ports : nlohmann::json::array()) {
    auto proto = parseProtocol(p);
    if (!proto || !p.contains("port") || !p["port"].is_number_integer()) continue;
    int port = p["port"].get<int>();
    if (port <= 0 || port > 65535) continue;
    std::string name = p.contains("name") && p["name"].is_string() ? p["name"].get<std::string>() : "";
    out.ports.push_back({name, *proto, static_cast<uint16_t>(port)});
  }
  auto eps = slice.value("endpoints", nlohmann::json::array());
  for (const auto& e : eps.is_array() ? eps : nlohmann::json::array()) {
    auto addrs = e.value("addresses", nlohmann::json::array());
    if (!addrs.is_array() || addrs.empty() || !addrs[0].is_string()) continue;
    auto ip = parseIpv4Prefix(addrs[0].get<std::string>());
    if (!ip || ip->len != 32) continue;
    const auto& cond = e.value("conditions", nlohmann::json::object());
    auto flag = [&](const char* k, bool dflt) {
      auto c = cond.find(k);
      return c == cond.end() || !c->is_boolean() ? dflt : c->get<bool>();
    };
    SliceEndpoint ep;
    ep.ip = ip->addr;
    ep.ready = flag("ready", true);
    ep.terminating = flag("terminating", false);
    ep.serving = flag("serving", ep.ready);
    out.endpoints.push_back(ep);
  }
  return out;
}

std::vector<EndpointTarget> selectEndpoints(const ServicePortInfo& port, const std::vector<SliceInfo>& slices) {
  std::vector<EndpointTarget> ready, terminating;
  for (const auto& s : slices) {
    auto sp = std::find_if(s.ports.begin(), s.ports.end(),
                           [&](const SlicePort& p) { return p.name == port.name && p.proto == port.proto; });
    if (sp == s.ports.end()) continue;
    for (const auto& e : s.endpoints) {
      if (e.ready && !e.terminating)
        ready.push_back({e.ip, sp->port});
      else if (e.serving && e.terminating)
        terminating.push_back({e.ip, sp->port});
    }
  }
  auto& out = ready.empty() ? terminating : ready;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- Slots -----------------------------------------------------------------------------------------

uint32_t SlotAllocator::slotFor(const std::string& key) {
  auto it = slots_.find(key);
  if (it != slots_.end()) return it->second;
  uint32_t slot;
  if (!free_.empty()) {
    slot = *free_.begin();
    free_.erase(free_.begin());
  } else {
    if (next_ >= UINT32_MAX / kSlotSize) throw std::length_error("proxy: out of endpoint-picks slots");
    slot = next_++;
  }
  slots_[key] = slot;
  return slot;
}

void SlotAllocator::release(const std::string& key) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return;
  free_.insert(it->second);
  slots_.erase(it);
}

// ---- Rules -----------------------------------------------------------------------------------------

ServiceRules planBaseRules(const ProxyConfig& config) {
  auto cidr = requirePrefix(config.service_cidr, "service CIDR");
  requirePrefix(config.pod_cidr, "pod CIDR");
  uint32_t bit = config.masquerade_bit;
  ServiceRules base;
  auto addSet = [&](const char* name, std::vector<NftKeyType> key) {
    base.sets[name] = NftSet{name, std::move(key), true, 0};
  };
  addSet(kServiceIps, kServiceKeyType);
  addSet(kServiceNodePorts, kNodePortKeyType);
  addSet(kNoEndpointServices, kServiceKeyType);
  addSet(kNoEndpointNodePorts, kNodePortKeyType);

  auto add = [&](NftChain c) { base.chains[c.name] = std::move(c); };
  add(chain("nat-prerouting", {rule({jumpTo(kServices)})}, NftBaseChain{"nat", NftHook::Prerouting, -100}));
  add(chain("nat-output", {rule({jumpTo(kServices)})}, NftBaseChain{"nat", NftHook::Output, -100}));
  add(chain("nat-postrouting", {rule({jumpTo(kMasquerading)})}, NftBaseChain{"nat", NftHook::Postrouting, 100}));
  add(chain(kServices, {rule({VmapLookup{VmapKey::DaddrProtoPort, kServiceIps}}),
                        rule({MatchFibLocal{false}, VmapLookup{VmapKey::ProtoPort, kServiceNodePorts}})}));
  add(chain(kMarkForMasquerade, {rule({SetMark{bit, false}})}));
  add(chain(kMasquerading, {rule({MatchMarkClear{bit}, Verdict{VerdictKind::Return, ""}}),
                            rule({SetMark{bit, true}}), rule({Masquerade{}})}));
  add(chain("filter-input", {rule({MatchFibLocal{false}, VmapLookup{VmapKey::ProtoPort, kNoEndpointNodePorts}})},
            NftBaseChain{"filter", NftHook::Input, -10}));
  add(chain("filter-forward", {rule({jumpTo(kServiceChecks)})}, NftBaseChain{"filter", NftHook::Forward, -10}));
  add(chain("filter-output", {rule({jumpTo(kServiceChecks)})}, NftBaseChain{"filter", NftHook::Output, -10}));
  // Anything still addressed to the service CIDR after DNAT is an unallocated address or port.
  add(chain(kServiceChecks, {rule({VmapLookup{VmapKey::DaddrProtoPort, kNoEndpointServices}}),
                             rule({MatchAddr{false, cidr, false}, gotoChain(kRejectService)})}));
  add(chain(kRejectService, {rule({MatchL4Proto{L4Proto::Tcp}, Reject{true}}), rule({Reject{false}})}));
  return base;
}

namespace {

/// Adds the chains and elements of one service port that has endpoints.
void planPortWithEndpoints(const ServiceInfo& svc, const ServicePortInfo& port,
                           const std::vector<EndpointTarget>& eps, const ProxyConfig& config, SlotAllocator& slots,
                           ServiceRules& out) {
  std::string key = servicePortKey(svc, port);
  std::string svc_chain = "svc-" + key;
  size_t n = std::min<size_t>(eps.size(), SlotAllocator::kSlotSize);
  NftChain sc = chain(svc_chain, {rule({MatchFibLocal{true}, jumpTo(kMarkForMasquerade)})});
  std::vector<NftRule> picks;
  for (size_t i = 0; i < n; ++i) {
    std::string ep_chain = "ep-" + key + "/" + endpointText(eps[i]);
    NftChain ec = chain(ep_chain, {rule({MatchAddr{true, {eps[i].ip, 32}, false}, jumpTo(kMarkForMasquerade)})});
    if (svc.affinity_timeout) {
      std::string set = "aff-" + key + "/" + endpointText(eps[i]) + "/" + std::to_string(svc.affinity_timeout);
      out.sets[set] = NftSet{set, {NftKeyType::Ipv4Addr}, false, svc.affinity_timeout};
      sc.rules.push_back(rule({MatchSaddrInSet{set}, gotoChain(ep_chain)}));
      ec.rules.push_back(rule({UpdateSaddrSet{set}}));
    }
    ec.rules.push_back(rule({MatchL4Proto{port.proto}, Dnat{eps[i].ip, eps[i].port}}));
    out.chains[ep_chain] = std::move(ec);
    // Endpoint i of n is taken with probability 1/(n-i) once 0..i-1 were passed: uniform overall.
    // Plain rules, no set: the kernel validates (walks) verdict maps from every chain that looks one
    // up, so a map shared by all services makes each commit quadratic, and anonymous per-service
    // maps make loading quadratic.
    if (i + 1 < n)
      picks.push_back(rule({MatchRandomZero{static_cast<uint32_t>(n - i)}, gotoChain(ep_chain)}));
    else
      picks.push_back(rule({gotoChain(ep_chain)}));
  }
  for (auto& r : picks) sc.rules.push_back(std::move(r));
  out.chains[svc_chain] = std::move(sc);
  out.elements[kServiceIps][serviceKey(svc.cluster_ip, port.proto, port.port)] = gotoChain(svc_chain);
  if (port.node_port) {
    std::string np_chain = "np-" + key;
    out.chains[np_chain] = chain(np_chain, {rule({jumpTo(kMarkForMasquerade)}), rule({gotoChain(svc_chain)})});
    out.elements[kServiceNodePorts][nodePortKey(port.proto, port.node_port)] = gotoChain(np_chain);
  }
}

}  // namespace

ServiceRules planServiceRules(const ServiceInfo& svc, const std::vector<SliceInfo>& slices, const ProxyConfig& config,
                              SlotAllocator& slots) {
  ServiceRules out;
  for (const auto& port : svc.ports) {
    auto eps = selectEndpoints(port, slices);
    if (!eps.empty()) {
      planPortWithEndpoints(svc, port, eps, config, slots, out);
      continue;
    }
    out.elements[kNoEndpointServices][serviceKey(svc.cluster_ip, port.proto, port.port)] = gotoChain(kRejectService);
    if (port.node_port)
      out.elements[kNoEndpointNodePorts][nodePortKey(port.proto, port.node_port)] = gotoChain(kRejectService);
  }
  return out;
}

// ---- Transactions ----------------------------------------------------------------------------------

namespace {

/// Operations grouped in the order that keeps every reference valid inside one batch.
struct Phases {
  std::vector<NftOp> add_sets, add_chains, fill_chains, delete_elements, add_elements, flush_old, delete_chains,
      delete_sets;
  std::map<std::string, std::vector<NftKey>> removed_keys;
  std::map<std::string, std::vector<NftElement>> added_elements;

  NftTransaction finish(const std::string& table) {
    for (auto& [set, keys] : removed_keys) delete_elements.push_back(DeleteElements{set, std::move(keys)});
    for (auto& [set, els] : added_elements) add_elements.push_back(AddElements{set, std::move(els)});
    NftTransaction tx{table, {}};
    for (auto* v : {&add_sets, &add_chains, &fill_chains, &delete_elements, &add_elements, &flush_old, &delete_chains,
                    &delete_sets})
      for (auto& op : *v) tx.ops.push_back(std::move(op));
    return tx;
  }
};

void fillChain(Phases& ph, const NftChain& c) {
  for (const auto& r : c.rules) ph.fill_chains.push_back(AddRule{c.name, r});
}

void diffChains(Phases& ph, const ServiceRules& before, const ServiceRules& after) {
  for (const auto& [name, c] : after.chains) {
    auto old = before.chains.find(name);
    if (old == before.chains.end()) {
      ph.add_chains.push_back(AddChain{name, c.base});
      fillChain(ph, c);
    } else if (old->second != c) {
      ph.fill_chains.push_back(FlushChain{name});
      fillChain(ph, c);
    }
  }
  for (const auto& [name, c] : before.chains) {
    if (after.chains.count(name)) continue;
    if (!c.rules.empty()) ph.flush_old.push_back(FlushChain{name});
    ph.delete_chains.push_back(DeleteChain{name});
  }
}

void diffSets(Phases& ph, const ServiceRules& before, const ServiceRules& after) {
  for (const auto& [name, s] : after.sets)
    if (!before.sets.count(name)) ph.add_sets.push_back(AddSet{s});
  for (const auto& [name, s] : before.sets)
    if (!after.sets.count(name)) ph.delete_sets.push_back(DeleteSet{name});
}

void diffElements(Phases& ph, const ServiceRules& before, const ServiceRules& after) {
  static const std::map<NftKey, std::optional<Verdict>> kNone;
  std::set<std::string> maps;
  for (auto& [m, _] : before.elements) maps.insert(m);
  for (auto& [m, _] : after.elements) maps.insert(m);
  for (const auto& m : maps) {
    auto b = before.elements.find(m), a = after.elements.find(m);
    const auto& old_els = b == before.elements.end() ? kNone : b->second;
    const auto& new_els = a == after.elements.end() ? kNone : a->second;
    for (const auto& [k, v] : old_els) {
      auto it = new_els.find(k);
      if (it == new_els.end() || it->second != v) ph.removed_keys[m].push_back(k);
    }
    for (const auto& [k, v] : new_els) {
      auto it = old_els.find(k);
      if (it == old_els.end() || it->second != v) ph.added_elements[m].push_back({k, v});
    }
  }
}

}  // namespace

NftTransaction planDeltaTransaction(const std::string& table, const std::vector<ServiceChange>& changes) {
  static const ServiceRules kEmpty;
  Phases ph;
  for (const auto& c : changes) {
    const ServiceRules& before = c.before ? *c.before : kEmpty;
    const ServiceRules& after = c.after ? *c.after : kEmpty;
    if (c.before == c.after || before == after) continue;
    diffSets(ph, before, after);
    diffChains(ph, before, after);
    diffElements(ph, before, after);
  }
  return ph.finish(table);
}

NftTransaction planFullTransaction(const std::string& table, const ServiceRules& base,
                                   const std::map<std::string, ServiceRulesPtr>& services) {
  // add + delete + add: an atomic replacement whether or not the table exists.
  NftTransaction tx{table, {AddTable{}, DeleteTable{}, AddTable{}}};
  Phases ph;
  auto all = [&](auto&& fn) {
    fn(base);
    for (const auto& [_, r] : services)
      if (r) fn(*r);
  };
  all([&](const ServiceRules& r) {
    for (const auto& [_, s] : r.sets) ph.add_sets.push_back(AddSet{s});
    for (const auto& [name, c] : r.chains) {
      ph.add_chains.push_back(AddChain{name, c.base});
      fillChain(ph, c);
    }
    for (const auto& [m, els] : r.elements)
      for (const auto& [k, v] : els) ph.added_elements[m].push_back({k, v});
  });
  NftTransaction rest = ph.finish(table);
  for (auto& op : rest.ops) tx.ops.push_back(std::move(op));
  return tx;
}

// ---- ProxyPlanner ----------------------------------------------------------------------------------

ProxyPlanner::ProxyPlanner(ProxyConfig config) : config_(std::move(config)), base_(planBaseRules(config_)) {}

ServiceRulesPtr ProxyPlanner::planOne(const std::string& key, const ProxySnapshot& snap) {
  auto it = snap.services.find(key);
  if (it == snap.services.end()) return nullptr;
  static const std::vector<SliceInfo> kNoSlices;
  auto sl = snap.slices.find(key);
  return std::make_shared<const ServiceRules>(
      planServiceRules(it->second, sl == snap.slices.end() ? kNoSlices : sl->second, config_, slots_));
}

namespace {
void releaseDroppedSlots(const ServiceRules* before, const ServiceRules* after, SlotAllocator& slots) {
  if (!before) return;
  for (const auto& k : before->slot_keys)
    if (!after || std::find(after->slot_keys.begin(), after->slot_keys.end(), k) == after->slot_keys.end())
      slots.release(k);
}
}  // namespace

NftTransaction ProxyPlanner::planFull(const ProxySnapshot& snap) {
  pending_.clear();
  pending_full_ = true;
  for (const auto& [key, _] : snap.services) pending_[key] = planOne(key, snap);
  for (const auto& [key, r] : applied_) {
    auto it = pending_.find(key);
    releaseDroppedSlots(r.get(), it == pending_.end() ? nullptr : it->second.get(), slots_);
  }
  return planFullTransaction(config_.table, base_, pending_);
}

NftTransaction ProxyPlanner::planChanges(const ProxySnapshot& snap, const std::set<std::string>& changed) {
  if (!has_applied_) throw std::logic_error("proxy: planChanges before a full sync was applied");
  pending_.clear();
  pending_full_ = false;
  std::vector<ServiceChange> changes;
  for (const auto& key : changed) {
    auto before_it = applied_.find(key);
    ServiceRulesPtr before = before_it == applied_.end() ? nullptr : before_it->second;
    ServiceRulesPtr after = planOne(key, snap);
    releaseDroppedSlots(before.get(), after.get(), slots_);
    changes.push_back({before, after});
    pending_[key] = after;
  }
  return planDeltaTransaction(config_.table, changes);
}

void ProxyPlanner::commit() {
  if (pending_full_) {
    applied_.clear();
    for (auto& [k, r] : pending_)
      if (r) applied_[k] = std::move(r);
  } else {
    for (auto& [k, r] : pending_) {
      if (r)
        applied_[k] = std::move(r);
      else
        applied_.erase(k);
    }
  }
  pending_.clear();
  pending_full_ = false;
  has_applied_ = true;
}

void ProxyPlanner::reset() {
  pending_.clear();
  pending_full_ = false;
  has_applied_ = false;
}

}  // namespace minikd::net
