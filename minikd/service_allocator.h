#pragma once
// ClusterIP and NodePort allocation for Services: an admission hook on "services". What is in use is
// derived from the Services in the store (followed through a store watch) plus a short-lived
// reservation per in-flight write, so a failed create never leaks an address and a delete frees it at
// once. The allocation is persisted by being in the objects themselves.
#include "api/api.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

namespace minikd {

/// An IPv4 address as a host-order integer.
using Ipv4 = uint32_t;

/// Parses dotted-quad IPv4 ("10.96.0.1"); nullopt when it is not one.
std::optional<Ipv4> parseIpv4(const std::string& text);
/// "10.96.0.1".
std::string formatIpv4(Ipv4 ip);

/// An IPv4 network such as 10.96.0.0/16.
struct Ipv4Cidr {
  Ipv4 base = 0;     // the network address
  int prefix = 32;

  /// Parses "a.b.c.d/n" (host bits are cleared). Throws std::invalid_argument naming the text.
  static Ipv4Cidr parse(const std::string& text);
  /// Number of addresses in the network (2^(32-prefix)).
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  bool contains(Ipv4 ip) const { return (ip - base) < size() && ip >= base; }
  /// The address at `offset` from the network address (nth(1) = 10.96.0.1).
  Ipv4 nth(uint64_t offset) const { return static_cast<Ipv4>(base + offset); }
  std::string toString() const { return formatIpv4(base) + "/" + std::to_string(prefix); }
};

class ServiceAllocator {
 public:
  struct Options {
    /// The ClusterIP range. Offset 0 (network) and the broadcast address are never used; offsets 1
    /// (`kubernetes`) and 10 (`kube-dns`) are only given to a Service that asks for them.
    std::string service_cidr = "10.96.0.0/16";
    int node_port_min = 30000;
    int node_port_max = 32767;
    /// What a LoadBalancer Service reports in status.loadBalancer.ingress[0].ip (the host).
    std::string load_balancer_ip = "127.0.0.1";
    /// How long an address handed to a write that never reached the store stays reserved.
    std::chrono::milliseconds reservation_ttl{10000};
  };

  /// Reads the Services already stored. Throws std::invalid_argument on a bad CIDR or port range.
  ServiceAllocator(api::Api& api, Options options);
  ServiceAllocator(const ServiceAllocator&) = delete;
  ServiceAllocator& operator=(const ServiceAllocator&) = delete;

  /// Registers admit() as the admission hook of "services". The allocator must outlive `api`'s use.
  void install();

  /// The hook: allocates or checks spec.clusterIP/clusterIPs and nodePorts, fills ipFamilies and
  /// ipFamilyPolicy, and sets status.loadBalancer. Throws ApiError 422 (cause on the field) for a
  /// taken or out-of-range request or a changed clusterIP, 500 when the range is full. Thread-safe.
  void admit(api::Operation op, api::Json& svc, const api::Json* old);

  const Ipv4Cidr& cidr() const { return cidr_; }

 private:
  /// What one Service (or one in-flight write) holds.
  struct Holding {
    std::optional<Ipv4> ip;
    std::set<int> node_ports;
  };
  struct Reservation {
    Holding holding;
    int64_t after_rv = 0;  // dropped at the first event for its key after this resourceVersion
    std::chrono::steady_clock::time_point expires;
  };

  void follow();
  void relist();
  void setHolding(const std::string& key, const api::Json* svc);
  bool ipTaken(Ipv4 ip, const std::string& self) const;
  bool portTaken(int port, const std::string& self) const;
  void assignClusterIp(api::Json& svc, const api::Json* old, const std::string& key, Holding& out);
  void assignNodePorts(api::Json& svc, const api::Json* old, const std::string& key, Holding& out);
  Ipv4 nextFreeIp(const std::string& key);
  int nextFreePort(const std::string& key, const std::set<int>& also_taken);

  api::Api& api_;
  Options options_;
  Ipv4Cidr cidr_;
  std::mutex mu_;
  std::unique_ptr<api::Watch> watch_;
  std::unordered_map<std::string, Holding> held_;        // by "ns/name", as stored
  std::unordered_map<Ipv4, std::string> ip_owner_;
  std::unordered_map<int, std::string> port_owner_;
  std::map<std::string, Reservation> reservations_;      // by "ns/name"
  uint64_t ip_cursor_ = 0;
  int port_cursor_ = 0;
};

}  // namespace minikd
