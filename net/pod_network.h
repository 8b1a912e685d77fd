#pragma once
// The pod network as the runtime sees it: a bridge on the host and, per pod, a named network
// namespace joined to it by a veth pair. The Linux implementation speaks rtnetlink through libmnl;
// tests/fakes has an in-memory fake.
#include <cstdint>
#include <string>
#include <vector>

namespace minikd::net {

struct NetworkConfig {
  std::string bridge = "minikd0";
  std::string gateway = "10.244.0.1";
  int prefix_len = 16;                 // the pod CIDR's prefix length
  std::string netns_prefix = "minikd-";  // /run/netns/<prefix><sandbox id>
  std::string veth_prefix = "mk";        // host-side veth names: <prefix><8 hex>
};

/// What a pod sandbox got: where its namespace is and its address.
struct Sandbox {
  std::string id;           // unique per pod (derived from the pod uid)
  std::string netns_name;   // "minikd-<id>", visible to `ip netns`
  std::string netns_path;   // "/run/netns/minikd-<id>"
  std::string host_veth;    // the bridge port
  std::string ip;           // the pod's IPv4 address
};

class PodNetwork {
 public:
  virtual ~PodNetwork() = default;
  /// Creates the bridge with the gateway address, up, and the sysctls the pod network needs
  /// (ip_forward, bridge netfilter). Idempotent. Throws OsError naming the link.
  virtual void ensureBridge() = 0;
  /// Creates the namespace, the veth pair (host end on the bridge, hairpin on; pod end `eth0` with
  /// `ip`/prefix, up), `lo` up and the default route via the gateway. Idempotent; on failure removes
  /// what it made and throws OsError naming the objects.
  virtual Sandbox ensureSandbox(const std::string& id, const std::string& ip) = 0;
  /// Removes the namespace and the veth pair. Missing objects are success.
  virtual void removeSandbox(const std::string& id) = 0;
  /// Sandbox ids of every namespace with our prefix (to clean up after a crash).
  virtual std::vector<std::string> listSandboxes() = 0;
  /// Removes every sandbox and the bridge.
  virtual void removeAll() = 0;
};

}  // namespace minikd::net
