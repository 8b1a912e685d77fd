#pragma once
// The cluster DNS server as `minikd up` runs it: a ServiceIndex fed from the API by informers,
// served by a DnsEngine on the cluster addresses.
#include "dns/engine.h"
#include "dns/index.h"

#include <memory>
#include <stop_token>

namespace minikd::api {
class Api;
}

namespace minikd::dns {

class ClusterFeed;

class DnsServer {
 public:
  /// Binds the listen addresses now (throws std::system_error naming the address on failure, and
  /// std::runtime_error for a bad address or upstream). `api` must outlive the server.
  DnsServer(api::Api& api, DnsConfig config);
  ~DnsServer();
  /// Lists services, endpointslices and pods (the index is complete before the first answer), then
  /// follows their watches and serves until `st` is stopped. Blocks; threads: UDP (the caller),
  /// TCP + forwarding, and one per informer.
  void run(std::stop_token st);
  uint16_t port() const { return engine_->port(); }
  const DnsStats& stats() const { return engine_->stats(); }
  /// The index the server answers from (read it under readLock()).
  const ServiceIndex& index() const { return index_; }

 private:
  ServiceIndex index_;
  std::unique_ptr<ClusterFeed> feed_;
  std::unique_ptr<DnsEngine> engine_;
};

}  // namespace minikd::dns
