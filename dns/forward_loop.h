#pragma once
// The second server thread: TCP clients and forwarding to upstream resolvers (UDP, with a TCP retry
// when the answer is truncated), with a reply cache. Internal to the engine.
#include "dns/cache.h"
#include "dns/engine.h"
#include "dns/resolver.h"
#include "dns/unique_fd.h"

#include <mutex>
#include <random>
#include <span>
#include <unordered_map>

namespace minikd::dns {

class ForwardLoop {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    std::vector<SocketAddress> upstreams;
    std::chrono::milliseconds timeout{2000};
    size_t cache_entries = 10000;
    uint32_t cache_max_ttl = 300;
  };
  /// `tcp_listeners` are listening sockets (not owned). Throws std::system_error when epoll fails.
  ForwardLoop(Options options, const Resolver& resolver, const ServiceIndex& index, std::vector<int> tcp_listeners,
              DnsStats& stats);
  /// Queues a UDP query (already parsed and valid) for forwarding; the reply is sent from `udp_fd`.
  /// Thread-safe.
  void submitUdp(std::span<const uint8_t> packet, const sockaddr* client, socklen_t len, int udp_fd);
  /// Runs until `st` is stopped.
  void run(std::stop_token st);

 private:
  struct Origin {
    bool tcp = false;
    int fd = -1;            // the UDP listening socket, or the TCP client connection
    uint64_t serial = 0;    // TCP: which connection on that fd
    SocketAddress client;   // UDP
  };
  struct Job {
    std::vector<uint8_t> packet;
    Origin origin;
  };
  struct Pending {
    Origin origin;
    Query query;                // the client's
    std::vector<uint8_t> wire;  // as sent upstream (our id)
    size_t upstream = 0;
    Clock::time_point deadline;
    int tcp_fd = -1;            // the upstream TCP connection of a retry
  };
  struct TcpClient {
    uint64_t serial = 0;
    std::vector<uint8_t> in, out;
    size_t out_sent = 0;
    Clock::time_point last_active;
    bool want_write = false;
  };
  struct UpstreamTcp {
    uint16_t id = 0;
    std::vector<uint8_t> out, in;
    size_t out_sent = 0;
  };

  void watch(int fd, uint32_t tag, uint32_t events, bool modify = false);
  void drainJobs();
  void startForward(const Origin& origin, const Query& q, std::span<const uint8_t> packet);
  bool sendUdp(Pending& p);
  void onUpstreamUdp(int fd);
  void startTcp(uint16_t id, Pending& p);
  void onUpstreamTcp(int fd, uint32_t events);
  void closeUpstreamTcp(int fd);
  bool acceptable(const Pending& p, std::span<const uint8_t> reply) const;
  void complete(uint16_t id, std::span<uint8_t> reply);
  void failAttempt(uint16_t id);
  void deliver(const Origin& origin, const Query& q, std::span<uint8_t> reply);
  void expire(Clock::time_point now);
  int timeoutMs(Clock::time_point now) const;
  void onListen(int fd);
  void onClient(int fd, uint32_t events);
  void processClient(int fd, TcpClient& c);
  void flushClient(int fd, TcpClient& c);
  void closeClient(int fd);

  Options options_;
  const Resolver& resolver_;
  const ServiceIndex& index_;
  std::vector<int> listeners_;
  DnsStats& stats_;
  QueryHandler handler_;
  ResponseCache cache_;
  UniqueFd epoll_, wake_;
  UniqueFd upstream_udp4_, upstream_udp6_;
  std::mutex jobs_mu_;
  std::vector<Job> jobs_;
  std::unordered_map<uint16_t, Pending> pending_;
  std::unordered_map<int, TcpClient> clients_;
  std::unordered_map<int, UpstreamTcp> upstream_tcp_;
  uint64_t next_serial_ = 1;
  std::mt19937 rng_{std::random_device{}()};
  std::vector<uint8_t> buf_;
  Clock::time_point last_idle_check_{};
};

}  // namespace minikd::dns
