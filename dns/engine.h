#pragma once
// The DNS server's sockets and loops, over a ServiceIndex (no API server needed): a UDP thread
// (recvmmsg/sendmmsg batches, answers cluster names inline) and a second thread with an epoll loop
// for TCP clients and for forwarding everything else to the upstream resolvers (timeout, TCP retry
// on a truncated answer, a TTL cache, SERVFAIL on failure).
#include "dns/index.h"
#include "dns/socket_address.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace minikd::dns {

struct DnsConfig {
  /// "ip:port" to listen on, UDP and TCP (e.g. "10.244.0.1:53"). Nothing else is bound: not an
  /// open resolver. Port 0 picks one free port, the same for every address and both protocols.
  std::vector<std::string> listen;
  std::string cluster_domain = "cluster.local";
  /// "ip[:port]" of the resolvers for every other name; empty = the nameservers of `resolv_conf`.
  std::vector<std::string> upstreams;
  std::string resolv_conf = "/etc/resolv.conf";
  /// TTL of cluster records.
  uint32_t ttl = 5;
  /// How long one upstream gets to answer before the next one is tried (then SERVFAIL).
  std::chrono::milliseconds upstream_timeout{2000};
  size_t cache_entries = 10000;
  uint32_t cache_max_ttl = 300;
  /// The address `ns.dns.<domain>` answers; empty = the first listen address.
  std::string nameserver_ip;
};

/// Counters, readable from any thread.
struct DnsStats {
  std::atomic<uint64_t> udp_queries{0}, tcp_queries{0}, forwarded{0}, cache_hits{0}, servfail{0}, dropped{0};
};

/// The upstreams of `c` (its list, else its resolv.conf's nameservers), without our own listen
/// addresses (no forwarding loops). Throws std::runtime_error naming a bad entry.
std::vector<SocketAddress> resolveUpstreams(const DnsConfig& c);

class DnsEngine {
 public:
  /// Binds UDP and TCP on every listen address (IP_FREEBIND: the address may appear later).
  /// Throws std::system_error naming the address when a socket cannot be bound.
  DnsEngine(DnsConfig config, const ServiceIndex& index);
  ~DnsEngine();
  DnsEngine(const DnsEngine&) = delete;
  DnsEngine& operator=(const DnsEngine&) = delete;
  /// Serves until `st` is stopped: UDP on the calling thread, TCP and forwarding on a second one.
  void run(std::stop_token st);
  /// The bound port (of the first listen address).
  uint16_t port() const;
  const DnsStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minikd::dns
