#pragma once
// NftBackend for Linux: nf_tables netlink batches built with libnftnl and sent through libmnl
// (no `nft` subprocess). Optionally routes the service CIDR to the pod bridge (rtnetlink) so that
// service traffic has a route and never follows the default route off the host, and sets
// net.ipv4.conf.all.route_localnet=1 so that NodePorts answer on 127.0.0.1 (loopback DNAT).
#include "net/nft_backend.h"

#include <memory>
#include <mutex>
#include <string>

struct mnl_socket;

namespace minikd::net {

class NftBackendLinux : public NftBackend {
 public:
  struct Options {
    /// When both are set, apply() of a full sync (a transaction that adds the table) ensures the route
    /// `<service_cidr> dev <route_dev> scope link`, and removeTable() deletes it.
    std::string service_cidr;
    std::string route_dev;
    /// Writes 1 to /proc/sys/net/ipv4/conf/all/route_localnet at construction.
    bool route_localnet = true;
  };

  /// Opens the netlink sockets in the calling thread's network namespace; every later call acts on
  /// that namespace, from any thread. Throws OsError when a socket cannot be opened or the sysctl
  /// cannot be written.
  explicit NftBackendLinux(Options options);
  ~NftBackendLinux() override;
  NftBackendLinux(const NftBackendLinux&) = delete;
  NftBackendLinux& operator=(const NftBackendLinux&) = delete;

  /// Sends the transaction as one nfnetlink batch and waits for the kernel's verdict. Throws OsError
  /// naming the table and the first refused operation (e.g. `add rule ip minikd svc-…: No such file or
  /// directory`); the kernel then applied nothing. Thread-safe.
  void apply(const NftTransaction& tx) override;
  /// Deletes the table (missing is success) and the service-CIDR route when configured.
  void removeTable(const std::string& table) override;

 private:
  void ensureRoute(bool present);
  void sendBatch(const NftTransaction& tx);

  Options options_;
  std::mutex mu_;
  mnl_socket* nft_ = nullptr;
  mnl_socket* rt_ = nullptr;
  uint32_t seq_ = 1;
  uint32_t set_id_ = 1;
};

}  // namespace minikd::net
