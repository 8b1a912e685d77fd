#pragma once
// The service proxy's planner: from Services and EndpointSlices to nftables rules, as values (no I/O).
//
// Layout of the table (shaped like kube-proxy's nftables mode, but with no anonymous per-service sets,
// so the kernel's cost of loading it stays linear in the number of services):
//
//   nat-prerouting / nat-output  ─ jump services
//   services:  ip daddr . meta l4proto . th dport vmap @service-ips        → goto svc-<port>
//              fib daddr type local meta l4proto . th dport vmap @service-nodeports → goto np-<port>
//   np-<port>: mark for masquerade, goto svc-<port>
//   svc-<port>: fib saddr type local → mark (host → ClusterIP);  [ip saddr @aff-… goto ep-…]
//              rule i: numgen random mod (N-i) == 0 goto ep-i (last: goto) — no sets at all
//   ep-<port>-<ip:port>: ip saddr <ip> → mark (hairpin); [update @aff-…]; dnat to ip:port
//   nat-postrouting ─ jump masquerading (marked packets: masquerade fully-random)
//   filter-input/forward/output: services without ready endpoints (@no-endpoint-*) → reject at once;
//              anything else to the service CIDR → reject (never leaves the host).
//
// ProxyPlanner keeps the rules last applied, per service, and plans either a full resync or a delta
// transaction holding only what changed (changed chains flushed and refilled, map elements added or
// removed, chains and sets of removed ports deleted after their references are gone).
#include "net/nft.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace minikd::net {

/// The proxy's settings. `table` is the one nftables table (family ip) minikd owns.
struct ProxyConfig {
  std::string table = "minikd";
  std::string service_cidr = "10.96.0.0/16";
  std::string pod_cidr = "10.244.0.0/16";
  std::string bridge = "minikd0";        // the pod bridge (the backend routes the service CIDR to it)
  std::vector<std::string> node_ips;     // informational; NodePorts match `fib daddr type local`
  uint32_t masquerade_bit = 0x4000;      // the packet-mark bit asking for masquerade (kube-proxy's)
  // The Proxier's runner (not used by the planner):
  std::chrono::milliseconds min_sync_interval{0};   // at most one sync per interval (changes coalesce)
  std::chrono::milliseconds retry_initial{100};     // back-off after a failed sync, doubling ...
  std::chrono::milliseconds retry_max{10000};       // ... up to this
};

/// One port of a Service.
struct ServicePortInfo {
  std::string name;  // may be empty for a single-port service
  L4Proto proto = L4Proto::Tcp;
  uint16_t port = 0;
  uint16_t node_port = 0;  // 0 = none
  bool operator==(const ServicePortInfo&) const = default;
};

/// What the proxy needs of a Service with an IPv4 ClusterIP.
struct ServiceInfo {
  std::string ns, name;
  uint32_t cluster_ip = 0;
  std::vector<ServicePortInfo> ports;
  uint32_t affinity_timeout = 0;  // sessionAffinity ClientIP timeout in seconds; 0 = no affinity
  bool operator==(const ServiceInfo&) const = default;
};

struct SliceEndpoint {
  uint32_t ip = 0;
  bool ready = true, serving = true, terminating = false;
  bool operator==(const SliceEndpoint&) const = default;
};
struct SlicePort {
  std::string name;
  L4Proto proto = L4Proto::Tcp;
  uint16_t port = 0;
  bool operator==(const SlicePort&) const = default;
};
/// What the proxy needs of an EndpointSlice (discovery.k8s.io/v1, addressType IPv4).
struct SliceInfo {
  std::string ns, name, service;  // service: the kubernetes.io/service-name label
  std::vector<SlicePort> ports;
  std::vector<SliceEndpoint> endpoints;
  bool operator==(const SliceInfo&) const = default;
};

/// The Service's proxy view; nullopt for headless (clusterIP None), ExternalName, a missing or
/// non-IPv4 ClusterIP, or no TCP/UDP/SCTP port.
std::optional<ServiceInfo> parseService(const nlohmann::json& svc);
/// The slice's proxy view; nullopt without the service-name label or when not IPv4.
std::optional<SliceInfo> parseSlice(const nlohmann::json& slice);

/// An endpoint chosen for a service port: address and target port.
struct EndpointTarget {
  uint32_t ip = 0;
  uint16_t port = 0;
  auto operator<=>(const EndpointTarget&) const = default;
};
/// The endpoints that get traffic for `port` of a service: the ready ones from every slice whose port
/// of the same name and protocol has a number; when none is ready, the serving terminating ones
/// (kube-proxy's fallback). Sorted, without duplicates.
std::vector<EndpointTarget> selectEndpoints(const ServicePortInfo& port, const std::vector<SliceInfo>& slices);

/// Desired state: services and their slices, both keyed by "ns/service".
struct ProxySnapshot {
  std::map<std::string, ServiceInfo> services;
  std::map<std::string, std::vector<SliceInfo>> slices;
};

/// Everything one service contributes to the table.
struct ServiceRules {
  std::map<std::string, NftChain> chains;
  std::map<std::string, NftSet> sets;
  /// Elements of the shared maps, by map name.
  std::map<std::string, std::map<NftKey, std::optional<Verdict>>> elements;
  /// Service-port keys ("ns/name/proto/port") that hold an endpoint-picks slot.
  std::vector<std::string> slot_keys;
  bool operator==(const ServiceRules&) const = default;
};
using ServiceRulesPtr = std::shared_ptr<const ServiceRules>;

/// The base chains and shared maps (independent of services).
ServiceRules planBaseRules(const ProxyConfig& config);

/// Endpoint-picks slots: each service port gets a block of kSlotSize keys in the shared map.
class SlotAllocator {
 public:
  static constexpr uint32_t kSlotSize = 4096;  // at most this many endpoints per service port
  /// The slot of `key`, allocating the lowest free one for a new key.
  uint32_t slotFor(const std::string& key);
  void release(const std::string& key);
  size_t size() const { return slots_.size(); }

 private:
  std::map<std::string, uint32_t> slots_;
  std::set<uint32_t> free_;
  uint32_t next_ = 1;
};

/// The rules of one service given its slices. Pure apart from allocating slots for new ports.
ServiceRules planServiceRules(const ServiceInfo& svc, const std::vector<SliceInfo>& slices, const ProxyConfig& config,
                              SlotAllocator& slots);

/// A service's rules before and after a change (null = absent).
struct ServiceChange {
  ServiceRulesPtr before, after;
};
/// The transaction that replaces the whole table with `base` + `services`.
NftTransaction planFullTransaction(const std::string& table, const ServiceRules& base,
                                   const std::map<std::string, ServiceRulesPtr>& services);
/// The transaction taking the kernel from each change's `before` to its `after`, holding only the
/// difference, ordered so that nothing is deleted while still referenced.
NftTransaction planDeltaTransaction(const std::string& table, const std::vector<ServiceChange>& changes);

/// Keeps the rules last applied and plans full or delta transactions. No I/O; not thread-safe.
class ProxyPlanner {
 public:
  explicit ProxyPlanner(ProxyConfig config);
  const ProxyConfig& config() const { return config_; }

  /// The transaction that rebuilds the whole table for `snap`. Pending until commit().
  NftTransaction planFull(const ProxySnapshot& snap);
  /// The delta for the services named in `changed` ("ns/name"), whose current state is in `snap`
  /// (a key missing from snap.services means deleted). Pending until commit(). Requires a committed
  /// full plan (hasApplied()).
  NftTransaction planChanges(const ProxySnapshot& snap, const std::set<std::string>& changed);
  /// The last planned transaction was applied: it becomes the known kernel state.
  void commit();
  /// The last planned transaction failed: forget the kernel state (the next plan must be full).
  void reset();
  bool hasApplied() const { return has_applied_; }
  /// The number of services with rules in the applied state.
  size_t appliedServices() const { return applied_.size(); }

 private:
  ServiceRulesPtr planOne(const std::string& key, const ProxySnapshot& snap);

  ProxyConfig config_;
  ServiceRules base_;
  SlotAllocator slots_;
  bool has_applied_ = false;
  std::map<std::string, ServiceRulesPtr> applied_;
  bool pending_full_ = false;
  std::map<std::string, ServiceRulesPtr> pending_;  // full: the whole state; delta: changed keys (null = gone)
};

}  // namespace minikd::net
