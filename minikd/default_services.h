#pragma once
// The Services every cluster has from the start: `kubernetes` in default (the API) and `kube-dns` in
// kube-system (the cluster DNS), each with hand-made Endpoints (mirrored into EndpointSlices by the
// EndpointSlice controller). Neither has a selector, so the Endpoints controller leaves them alone.
#include "api/api.h"

#include <string>

namespace minikd {

struct DefaultServicesOptions {
  /// The service CIDR: `kubernetes` gets its 1st address (10.96.0.1), `kube-dns` its 10th (10.96.0.10).
  std::string service_cidr = "10.96.0.0/16";
  /// Where pods reach the API server (the host's bridge gateway address) and its port; `kubernetes`
  /// port 443 (named https) targets this port.
  std::string api_ip = "10.244.0.1";
  int api_port = 6443;
  /// Where the DNS server listens; `kube-dns` 53/UDP (dns) and 53/TCP (dns-tcp) target it.
  std::string dns_ip = "10.244.0.1";
  int dns_port = 53;
};

/// Creates the namespaces default and kube-system, the Services `kubernetes` and `kube-dns` if they
/// are missing (an existing Service is kept as it is), and makes their Endpoints point at the
/// addresses in `o` (updated when they differ). Needs the ServiceAllocator hook installed first (it
/// checks the requested ClusterIPs). Throws ApiError when a write fails (e.g. 422 when a user Service
/// already holds 10.96.0.1).
void ensureDefaultServices(api::Api& api, const DefaultServicesOptions& o);

/// The Service and Endpoints objects ensureDefaultServices() writes (exposed for tests).
api::Json kubernetesService(const DefaultServicesOptions& o);
api::Json kubernetesEndpoints(const DefaultServicesOptions& o);
api::Json kubeDnsService(const DefaultServicesOptions& o);
api::Json kubeDnsEndpoints(const DefaultServicesOptions& o);

}  // namespace minikd
