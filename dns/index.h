#pragma once
// The read-only view of the cluster that the resolver answers from (like CoreDNS's ServiceList /
// EpIndex), and ServiceIndex, the thread-safe in-memory implementation that the informers feed.
// No API types here: the index is filled with plain records (see index_json.h for the conversion).
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace minikd::dns {

/// An IPv4 or IPv6 address in network byte order.
struct IpAddr {
  uint8_t family = 0;  // 4 or 6; 0 = none
  std::array<uint8_t, 16> bytes{};
  /// Parses "10.96.0.1" or "fd00::1"; nullopt otherwise.
  static std::optional<IpAddr> parse(std::string_view text);
  static IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  std::string toString() const;
  bool operator==(const IpAddr& o) const = default;
};

struct IpAddrHash {
  size_t operator()(const IpAddr& ip) const;
};

/// A port of a service or an endpoint slice.
struct PortRecord {
  std::string name;      // "" for an unnamed port (no SRV record)
  std::string protocol;  // "TCP", "UDP", "SCTP"
  uint16_t port = 0;
};

/// One endpoint address of a slice.
struct EndpointRecord {
  IpAddr ip;
  std::string hostname;  // endpoints[].hostname; empty → the dashed IP ("10-244-0-5") names it
  bool ready = true;
};

/// One EndpointSlice: its ports and addresses.
struct EndpointSetRecord {
  std::vector<PortRecord> ports;
  std::vector<EndpointRecord> endpoints;
};

enum class ServiceKind { kClusterIp, kHeadless, kExternalName };

/// A service with everything DNS needs; names are lowercase as Kubernetes requires.
struct ServiceRecord {
  std::string ns, name;
  ServiceKind kind = ServiceKind::kClusterIp;
  std::vector<IpAddr> cluster_ips;
  std::string external_name;  // ExternalName target ("db.example.com")
  std::vector<PortRecord> ports;
  std::map<std::string, EndpointSetRecord> slices;  // by slice name
};

/// A pod, for `a-b-c-d.<ns>.pod` and PTR records.
struct PodRecord {
  std::string ns, name;
  std::vector<IpAddr> ips;
};

/// What the resolver reads. Implementations return pointers that stay valid while the caller holds
/// whatever read lock the implementation documents (ServiceIndex: readLock()).
class ClusterIndex {
 public:
  virtual ~ClusterIndex() = default;
  /// The service `name` in `ns` (both lowercase), or nullptr.
  virtual const ServiceRecord* findService(std::string_view ns, std::string_view name) const = 0;
  /// True when `ns` holds at least one service or pod (so `<ns>.svc` exists as a name).
  virtual bool hasNamespace(std::string_view ns) const = 0;
  /// True when a pod in `ns` has address `ip`.
  virtual bool hasPodIp(std::string_view ns, const IpAddr& ip) const = 0;
  /// The name a PTR for `ip` answers (text, relative to the cluster domain, e.g. "web.default.svc"),
  /// preferring ClusterIPs, then headless endpoints, then pods; nullopt when `ip` is unknown.
  virtual std::optional<std::string> reverseName(const IpAddr& ip) const = 0;
};

/// The in-memory index. Writers (informer threads) take the lock themselves; readers hold
/// readLock() for as long as they use returned pointers.
class ServiceIndex : public ClusterIndex {
 public:
  std::shared_lock<std::shared_mutex> readLock() const { return std::shared_lock(mu_); }

  /// Adds or replaces a service (keeps its endpoint slices).
  void upsertService(ServiceRecord svc);
  void removeService(std::string_view ns, std::string_view name);
  /// Adds or replaces the slice `slice` of service `service` in `ns` (kept even before the service exists).
  void upsertSlice(std::string_view ns, std::string_view service, std::string_view slice, EndpointSetRecord set);
  void removeSlice(std::string_view ns, std::string_view service, std::string_view slice);
  void upsertPod(PodRecord pod);
  void removePod(std::string_view ns, std::string_view name);
  size_t serviceCount() const;

  const ServiceRecord* findService(std::string_view ns, std::string_view name) const override;
  bool hasNamespace(std::string_view ns) const override;
  bool hasPodIp(std::string_view ns, const IpAddr& ip) const override;
  std::optional<std::string> reverseName(const IpAddr& ip) const override;

 private:
  struct Entry {
    std::optional<ServiceRecord> service;  // unset while only slices are known
    std::map<std::string, EndpointSetRecord> slices;
    ServiceRecord merged;                  // service + slices, what readers see
  };
  void countNamespace(const std::string& ns, int delta);
  void indexIps(const ServiceRecord& svc, int delta);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Entry> services_;  // "ns/name"
  std::unordered_map<std::string, PodRecord> pods_;  // "ns/name"
  std::unordered_map<std::string, int> namespaces_;  // ns → number of services and pods
  std::unordered_multimap<IpAddr, std::string, IpAddrHash> cluster_ip_names_;   // → "svc.ns.svc"
  std::unordered_multimap<IpAddr, std::string, IpAddrHash> endpoint_names_;     // → "host.svc.ns.svc"
  std::unordered_multimap<IpAddr, std::string, IpAddrHash> pod_ips_;            // → ns
};

/// "10.244.0.5" → "10-244-0-5" (and fd00::5 → "fd00--5"), the label naming an address.
std::string dashedIp(const IpAddr& ip);

}  // namespace minikd::dns
