#include "dns/engine.h"

#include "dns/forward_loop.h"
#include "dns/resolver.h"
#include "dns/unique_fd.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>
#include <thread>

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

namespace minikd::dns {
namespace {

constexpr int kBatch = 64;
constexpr size_t kMaxQuery = 4096;  // larger UDP queries are dropped (MSG_TRUNC)

std::system_error osError(const std::string& what) { return std::system_error(errno, std::generic_category(), what); }

// A socket bound to `addr` (IP_FREEBIND: the bridge address may not exist yet).
UniqueFd bindSocket(const SocketAddress& addr, int type) {
  const char* proto = type == SOCK_DGRAM ? "UDP" : "TCP";
  UniqueFd fd(::socket(addr.family(), type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw osError(std::string("dns: create ") + proto + " socket for " + addr.toString());
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (addr.family() == AF_INET) ::setsockopt(fd.get(), IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  else {
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (type == SOCK_DGRAM) {
    const int size = 4 << 20;  // absorbs bursts; the kernel caps it at rmem_max / wmem_max
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
  if (::bind(fd.get(), addr.get(), addr.length) != 0)
    throw osError(std::string("dns: bind ") + proto + " " + addr.toString());
  if (type == SOCK_STREAM && ::listen(fd.get(), 128) != 0) throw osError("dns: listen TCP " + addr.toString());
  return fd;
}

uint16_t boundPort(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  SocketAddress a;
  a.storage = ss;
  a.length = len;
  return a.port();
}

}  // namespace

std::vector<SocketAddress> resolveUpstreams(const DnsConfig& c) {
  std::vector<std::string> texts = c.upstreams;
  if (texts.empty()) {
    std::ifstream in(c.resolv_conf);
    std::stringstream ss;
    ss << in.rdbuf();
    texts = nameserversFromResolvConf(ss.str());
  }
  std::vector<SocketAddress> out;
  for (const auto& t : texts) {
    auto a = SocketAddress::parse(t, 53);
    if (!a) throw std::runtime_error("dns: bad upstream address \"" + t + "\"");
    bool self = false;
    for (const auto& l : c.listen)
      if (auto la = SocketAddress::parse(l, 53); la && la->sameAs(a->get(), a->length)) self = true;
    if (!self) out.push_back(*a);
  }
  return out;
}

struct DnsEngine::Impl {
  DnsConfig config;
  const ServiceIndex& index;
  Resolver resolver;
  std::vector<UniqueFd> udp, tcp;
  uint16_t port = 0;
  DnsStats stats;
  std::unique_ptr<ForwardLoop> forward;

  Impl(DnsConfig c, const ServiceIndex& idx) : config(std::move(c)), index(idx), resolver(resolverConfig(config)) {}

  static ResolverConfig resolverConfig(const DnsConfig& c) {
    ResolverConfig r;
    r.cluster_domain = c.cluster_domain;
    r.ttl = c.ttl;
    std::string ns = c.nameserver_ip;
    if (ns.empty() && !c.listen.empty())
      if (auto a = SocketAddress::parse(c.listen.front(), 53)) {
        ns = a->toString();
        ns = ns.substr(0, ns.rfind(':'));
        if (!ns.empty() && ns.front() == '[') ns = ns.substr(1, ns.size() - 2);
      }
    r.nameserver_ip = IpAddr::parse(ns);
    return r;
  }

  void bindAll();
  void udpLoop(std::stop_token st);
  void udpLoopSingle(std::stop_token st);
  static void prepareReceive(std::vector<uint8_t>& inbuf, std::vector<sockaddr_storage>& addrs, std::vector<mmsghdr>& in,
                             std::vector<iovec>& iov_in);
  void serveBatch(int fd, mmsghdr* in, int got, uint8_t* inbuf, sockaddr_storage* addrs, QueryHandler& handler,
                  std::vector<uint8_t>& outbuf, mmsghdr* out, iovec* iov_out);
};

void DnsEngine::Impl::bindAll() {
  std::vector<SocketAddress> addrs;
  for (const auto& l : config.listen) {
    auto a = SocketAddress::parse(l, 53);
    if (!a) throw std::runtime_error("dns: bad listen address \"" + l + "\"");
    addrs.push_back(*a);
  }
  if (addrs.empty()) throw std::runtime_error("dns: no listen address");
  const bool pick = addrs.front().port() == 0;
  // With port 0, the first UDP socket picks a port that every other socket must then get too.
  for (int attempt = 0;; ++attempt) {
    try {
      udp.clear();
      tcp.clear();
      for (auto& a : addrs) {
        if (pick && port != 0) a.setPort(port);
        udp.push_back(bindSocket(a, SOCK_DGRAM));
        if (pick && port == 0) {
          port = boundPort(udp.back().get());
          a.setPort(port);
        }
        tcp.push_back(bindSocket(a, SOCK_STREAM));
      }
      port = addrs.front().port();
      return;
    } catch (const std::system_error& e) {
      if (!pick || e.code() != std::errc::address_in_use || attempt >= 20) throw;
      port = 0;
      for (auto& a : addrs) a.setPort(0);
    }
  }
}

void DnsEngine::Impl::serveBatch(int fd, mmsghdr* in, int got, uint8_t* inbuf, sockaddr_storage* addrs,
                                 QueryHandler& handler, std::vector<uint8_t>& outbuf, mmsghdr* out, iovec* iov_out) {
  int k = 0;
  {
    auto lock = index.readLock();
    for (int i = 0; i < got; ++i) {
      stats.udp_queries++;
      if (in[i].msg_hdr.msg_flags & MSG_TRUNC) {
        stats.dropped++;
        continue;
      }
      std::span<const uint8_t> packet(inbuf + size_t(i) * kMaxQuery, in[i].msg_len);
      std::span<uint8_t> reply(outbuf.data() + size_t(k) * kMaxUdpSize, kMaxUdpSize);
      const auto r = handler.handle(packet, true, index, reply);
      if (r.action == QueryHandler::Action::kDrop) {
        stats.dropped++;
      } else if (r.action == QueryHandler::Action::kForward) {
        forward->submitUdp(packet, reinterpret_cast<sockaddr*>(&addrs[i]), in[i].msg_hdr.msg_namelen, fd);
      } else {
        iov_out[k] = {reply.data(), r.size};
        out[k].msg_hdr = {};
        out[k].msg_hdr.msg_name = &addrs[i];
        out[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
        out[k].msg_hdr.msg_iov = &iov_out[k];
        out[k].msg_hdr.msg_iovlen = 1;
        ++k;
      }
    }
  }
  for (int sent = 0; sent < k;) {
    const int n = ::sendmmsg(fd, out + sent, unsigned(k - sent), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      stats.dropped += uint64_t(k - sent);  // send buffer full: the client retries
      break;
    }
    sent += n;
  }
}

// One listening socket (the usual case): a blocking recvmmsg that returns as soon as one packet is
// there (MSG_WAITFORONE), two system calls per batch instead of three. A receive timeout bounds how
// long a stop request waits.
void DnsEngine::Impl::udpLoopSingle(std::stop_token st) {
  const int fd = udp.front().get();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // sends elsewhere pass MSG_DONTWAIT
  timeval tv{0, 200 * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<uint8_t> inbuf(size_t(kBatch) * kMaxQuery), outbuf(size_t(kBatch) * kMaxUdpSize);
  std::vector<sockaddr_storage> addrs(kBatch);
  std::vector<mmsghdr> in(kBatch), out(kBatch);
  std::vector<iovec> iov_in(kBatch), iov_out(kBatch);
  QueryHandler handler(resolver);
  while (!st.stop_requested()) {
    prepareReceive(inbuf, addrs, in, iov_in);
    const int got = ::recvmmsg(fd, in.data(), kBatch, MSG_WAITFORONE, nullptr);
    if (got <= 0) continue;  // timeout (check the stop token) or EINTR
    serveBatch(fd, in.data(), got, inbuf.data(), addrs.data(), handler, outbuf, out.data(), iov_out.data());
  }
}

void DnsEngine::Impl::prepareReceive(std::vector<uint8_t>& inbuf, std::vector<sockaddr_storage>& addrs,
                                     std::vector<mmsghdr>& in, std::vector<iovec>& iov_in) {
  for (int i = 0; i < kBatch; ++i) {
    iov_in[i] = {inbuf.data() + size_t(i) * kMaxQuery, kMaxQuery};
    in[i].msg_hdr = {};
    in[i].msg_hdr.msg_name = &addrs[i];
    in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    in[i].msg_hdr.msg_iov = &iov_in[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
}

void DnsEngine::Impl::udpLoop(std::stop_token st) {
  if (udp.size() == 1) return udpLoopSingle(st);
  UniqueFd ep(::epoll_create1(EPOLL_CLOEXEC));
  UniqueFd stop_fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!ep || !stop_fd) throw osError("dns: epoll/eventfd for the UDP loop");
  auto add = [&](int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw osError("dns: epoll_ctl");
  };
  add(stop_fd.get());
  for (auto& u : udp) add(u.get());
  std::stop_callback cb(st, [&] {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd.get(), &one, sizeof one);
  });

  std::vector<uint8_t> inbuf(size_t(kBatch) * kMaxQuery), outbuf(size_t(kBatch) * kMaxUdpSize);
  std::vector<sockaddr_storage> addrs(kBatch);
  std::vector<mmsghdr> in(kBatch), out(kBatch);
  std::vector<iovec> iov_in(kBatch), iov_out(kBatch);
  QueryHandler handler(resolver);
  epoll_event events[16];
  while (!st.stop_requested()) {
    const int n = ::epoll_wait(ep.get(), events, 16, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw osError("dns: epoll_wait");
    }
    for (int e = 0; e < n; ++e) {
      const int fd = events[e].data.fd;
      if (fd == stop_fd.get()) continue;
      while (true) {
        prepareReceive(inbuf, addrs, in, iov_in);
        const int got = ::recvmmsg(fd, in.data(), kBatch, MSG_DONTWAIT, nullptr);
        if (got <= 0) break;
        serveBatch(fd, in.data(), got, inbuf.data(), addrs.data(), handler, outbuf, out.data(), iov_out.data());
        if (got < kBatch) break;
      }
    }
  }
}

DnsEngine::DnsEngine(DnsConfig config, const ServiceIndex& index) : impl_(std::make_unique<Impl>(std::move(config), index)) {
  impl_->bindAll();
  ForwardLoop::Options fo;
  fo.upstreams = resolveUpstreams(impl_->config);
  fo.timeout = impl_->config.upstream_timeout;
  fo.cache_entries = impl_->config.cache_entries;
  fo.cache_max_ttl = impl_->config.cache_max_ttl;
  std::vector<int> listeners;
  for (auto& t : impl_->tcp) listeners.push_back(t.get());
  impl_->forward = std::make_unique<ForwardLoop>(std::move(fo), impl_->resolver, index, listeners, impl_->stats);
}

DnsEngine::~DnsEngine() = default;

void DnsEngine::run(std::stop_token st) {
  std::jthread second([this](std::stop_token s) { impl_->forward->run(s); });
  std::stop_callback cb(st, [&] { second.request_stop(); });
  try {
    impl_->udpLoop(st);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
  }
  second.request_stop();
}

uint16_t DnsEngine::port() const { return impl_->port; }
const DnsStats& DnsEngine::stats() const { return impl_->stats; }

}  // namespace minikd::dns
