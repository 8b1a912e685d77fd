#include "dns/forward_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <system_error>

namespace minikd::dns {
namespace {

enum Tag : uint32_t { kWake = 1, kListen, kClient, kUpstreamUdp, kUpstreamTcp };
constexpr size_t kMaxClients = 256;
constexpr size_t kMaxPending = 4096;
constexpr auto kClientIdle = std::chrono::seconds(10);

std::system_error osError(const std::string& what) { return std::system_error(errno, std::generic_category(), what); }

UniqueFd udpSocket(int family) {
  UniqueFd fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw osError("dns: create upstream UDP socket");
  return fd;
}

void setId(std::span<uint8_t> msg, uint16_t id) {
  msg[0] = uint8_t(id >> 8);
  msg[1] = uint8_t(id);
}

}  // namespace

ForwardLoop::ForwardLoop(Options options, const Resolver& resolver, const ServiceIndex& index,
                         std::vector<int> tcp_listeners, DnsStats& stats)
    : options_(std::move(options)),
      resolver_(resolver),
      index_(index),
      listeners_(std::move(tcp_listeners)),
      stats_(stats),
      handler_(resolver),
      cache_(options_.cache_entries, options_.cache_max_ttl),
      buf_(kMaxMessage + 2) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw osError("dns: epoll_create1");
  wake_.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_) throw osError("dns: eventfd");
  watch(wake_.get(), kWake, EPOLLIN);
  for (int fd : listeners_) watch(fd, kListen, EPOLLIN);
  for (const auto& u : options_.upstreams) {
    auto& sock = u.family() == AF_INET ? upstream_udp4_ : upstream_udp6_;
    if (sock) continue;
    sock = udpSocket(u.family());
    watch(sock.get(), kUpstreamUdp, EPOLLIN);
  }
}

void ForwardLoop::watch(int fd, uint32_t tag, uint32_t events, bool modify) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = uint64_t(tag) << 32 | uint32_t(fd);
  if (::epoll_ctl(epoll_.get(), modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0)
    throw osError("dns: epoll_ctl fd " + std::to_string(fd));
}

void ForwardLoop::submitUdp(std::span<const uint8_t> packet, const sockaddr* client, socklen_t len, int udp_fd) {
  Job job;
  job.packet.assign(packet.begin(), packet.end());
  job.origin.fd = udp_fd;
  std::memcpy(&job.origin.client.storage, client, std::min<size_t>(len, sizeof(sockaddr_storage)));
  job.origin.client.length = len;
  bool was_empty;
  {
    std::lock_guard lk(jobs_mu_);
    if (jobs_.size() >= kMaxPending) {
      stats_.dropped++;
      return;
    }
    was_empty = jobs_.empty();
    jobs_.push_back(std::move(job));
  }
  if (was_empty) {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  }
}

void ForwardLoop::run(std::stop_token st) {
  std::stop_callback cb(st, [this] {
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  });
  epoll_event events[64];
  while (!st.stop_requested()) {
    const int n = ::epoll_wait(epoll_.get(), events, 64, timeoutMs(Clock::now()));
    if (n < 0 && errno != EINTR) {
      std::cerr << "dns: epoll_wait: " << std::strerror(errno) << "\n";
      return;
    }
    for (int i = 0; i < n; ++i) {
      const uint32_t tag = uint32_t(events[i].data.u64 >> 32);
      const int fd = int(uint32_t(events[i].data.u64));
      switch (tag) {
        case kWake: {
          uint64_t v;
          [[maybe_unused]] auto r = ::read(wake_.get(), &v, sizeof v);
          drainJobs();
          break;
        }
        case kListen: onListen(fd); break;
        case kClient: onClient(fd, events[i].events); break;
        case kUpstreamUdp: onUpstreamUdp(fd); break;
        case kUpstreamTcp: onUpstreamTcp(fd, events[i].events); break;
      }
    }
    expire(Clock::now());
  }
  for (auto& [fd, _] : clients_) ::close(fd);
  for (auto& [fd, _] : upstream_tcp_) ::close(fd);
  clients_.clear();
  upstream_tcp_.clear();
}

void ForwardLoop::drainJobs() {
  std::vector<Job> jobs;
  {
    std::lock_guard lk(jobs_mu_);
    jobs.swap(jobs_);
  }
  Query q;
  for (auto& job : jobs) {
    if (parseQuery(job.packet, q) != ParseError::kNone) continue;  // checked by the UDP thread already
    startForward(job.origin, q, job.packet);
  }
}

void ForwardLoop::startForward(const Origin& origin, const Query& q, std::span<const uint8_t> packet) {
  const auto now = Clock::now();
  if (size_t n = cache_.lookup(q, buf_, now)) {
    stats_.cache_hits++;
    deliver(origin, q, std::span(buf_.data(), n));
    return;
  }
  if (options_.upstreams.empty() || pending_.size() >= kMaxPending) {
    stats_.servfail++;
    size_t n = writeError(q, true, rcode::kServFail, buf_);
    deliver(origin, q, std::span(buf_.data(), n));
    return;
  }
  uint16_t id;
  do id = uint16_t(rng_());
  while (pending_.count(id));
  Pending p{origin, q, std::vector<uint8_t>(packet.begin(), packet.end()), 0, now + options_.timeout, -1};
  setId(p.wire, id);
  sendUdp(p);  // a failed send is retried with the next upstream when the deadline passes
  pending_.emplace(id, std::move(p));
}

bool ForwardLoop::sendUdp(Pending& p) {
  const SocketAddress& up = options_.upstreams[p.upstream];
  const int fd = up.family() == AF_INET ? upstream_udp4_.get() : upstream_udp6_.get();
  return ::sendto(fd, p.wire.data(), p.wire.size(), 0, up.get(), up.length) == ssize_t(p.wire.size());
}

// A reply is taken only from the upstream asked, for the question asked (no spoofed answers).
bool ForwardLoop::acceptable(const Pending& p, std::span<const uint8_t> reply) const {
  Message m;
  if (parseMessage(reply, m) != ParseError::kNone) return false;
  if (!(m.header.flags & kFlagQr) || m.questions.size() != 1) return false;
  const Question& q = m.questions[0];
  return q.type == p.query.question.type && q.cls == p.query.question.cls && namesEqual(q.name, p.query.question.name);
}

void ForwardLoop::onUpstreamUdp(int fd) {
  while (true) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buf_.data(), buf_.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;
    if (size_t(n) < kHeaderSize) continue;
    const uint16_t id = readU16(buf_.data());
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.tcp_fd >= 0) continue;
    Pending& p = it->second;
    if (!options_.upstreams[p.upstream].sameAs(reinterpret_cast<sockaddr*>(&from), from_len)) continue;
    std::span<uint8_t> reply(buf_.data(), size_t(n));
    if (!acceptable(p, reply)) continue;
    if (readU16(buf_.data() + 2) & kFlagTc) {
      startTcp(id, p);
      continue;
    }
    complete(id, reply);
  }
}

void ForwardLoop::startTcp(uint16_t id, Pending& p) {
  const SocketAddress& up = options_.upstreams[p.upstream];
  UniqueFd fd(::socket(up.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd || (::connect(fd.get(), up.get(), up.length) != 0 && errno != EINPROGRESS)) {
    failAttempt(id);
    return;
  }
  UpstreamTcp c;
  c.id = id;
  c.out.push_back(uint8_t(p.wire.size() >> 8));
  c.out.push_back(uint8_t(p.wire.size()));
  c.out.insert(c.out.end(), p.wire.begin(), p.wire.end());
  p.tcp_fd = fd.get();
  p.deadline = Clock::now() + options_.timeout;
  watch(fd.get(), kUpstreamTcp, EPOLLOUT | EPOLLIN);
  upstream_tcp_.emplace(fd.release(), std::move(c));  // closed by closeUpstreamTcp
}

void ForwardLoop::onUpstreamTcp(int fd, uint32_t events) {
  auto it = upstream_tcp_.find(fd);
  if (it == upstream_tcp_.end()) return;
  UpstreamTcp& c = it->second;
  const uint16_t id = c.id;
  auto fail = [&] {
    closeUpstreamTcp(fd);
    failAttempt(id);
  };
  if (c.out_sent < c.out.size() && (events & EPOLLOUT)) {
    const ssize_t n = ::send(fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) return fail();
    if (n > 0) c.out_sent += size_t(n);
    if (c.out_sent == c.out.size()) watch(fd, kUpstreamTcp, EPOLLIN, true);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    uint8_t tmp[16384];
    bool eof = false;
    while (!eof) {
      const ssize_t n = ::recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
      if (n == 0) eof = true;  // the upstream may close right after its answer: check what arrived
      if (n < 0) {
        if (errno == EAGAIN) break;
        return fail();
      }
      if (n > 0) c.in.insert(c.in.end(), tmp, tmp + n);
      if (c.in.size() > kMaxMessage + 2) return fail();
    }
    const size_t len = c.in.size() >= 2 ? size_t(c.in[0]) << 8 | c.in[1] : 0;
    if (c.in.size() < 2 || c.in.size() < 2 + len) {
      if (eof) fail();
      return;
    }
    std::memcpy(buf_.data(), c.in.data() + 2, len);
    closeUpstreamTcp(fd);
    auto p = pending_.find(id);
    if (p == pending_.end()) return;
    std::span<uint8_t> reply(buf_.data(), len);
    if (len < kHeaderSize || readU16(reply.data()) != id || !acceptable(p->second, reply)) return failAttempt(id);
    complete(id, reply);
  }
}

void ForwardLoop::closeUpstreamTcp(int fd) {
  auto it = upstream_tcp_.find(fd);
  if (it == upstream_tcp_.end()) return;
  auto p = pending_.find(it->second.id);
  if (p != pending_.end() && p->second.tcp_fd == fd) p->second.tcp_fd = -1;
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  upstream_tcp_.erase(it);
}

void ForwardLoop::complete(uint16_t id, std::span<uint8_t> reply) {
  auto node = pending_.extract(id);
  if (!node) return;
  Pending& p = node.mapped();
  if (p.tcp_fd >= 0) closeUpstreamTcp(p.tcp_fd);
  cache_.store(p.query, reply, Clock::now());
  setId(reply, p.query.header.id);
  stats_.forwarded++;
  deliver(p.origin, p.query, reply);
}

// This upstream failed (timeout, refused, bad reply): the next one, or SERVFAIL after the last.
void ForwardLoop::failAttempt(uint16_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (p.tcp_fd >= 0) closeUpstreamTcp(p.tcp_fd);
  if (p.upstream + 1 < options_.upstreams.size()) {
    p.upstream++;
    p.deadline = Clock::now() + options_.timeout;
    sendUdp(p);
    return;
  }
  auto node = pending_.extract(it);
  stats_.servfail++;
  const size_t n = writeError(node.mapped().query, true, rcode::kServFail, buf_);
  deliver(node.mapped().origin, node.mapped().query, std::span(buf_.data(), n));
}

void ForwardLoop::deliver(const Origin& origin, const Query& q, std::span<uint8_t> reply) {
  if (!origin.tcp) {
    if (reply.size() > udpLimit(q)) {
      // Too big for this client over UDP: the bare question with TC, the client retries over TCP.
      Answer empty;
      empty.rcode = rcodeOf(readU16(reply.data() + 2));
      static thread_local uint8_t small[kMinUdpSize + 512];
      const size_t n = writeResponse(q, empty, std::span(small, sizeof small), sizeof small);
      small[2] |= kFlagTc >> 8;
      ::sendto(origin.fd, small, n, MSG_DONTWAIT, origin.client.get(), origin.client.length);
      return;
    }
    ::sendto(origin.fd, reply.data(), reply.size(), MSG_DONTWAIT, origin.client.get(), origin.client.length);
    return;
  }
  auto it = clients_.find(origin.fd);
  if (it == clients_.end() || it->second.serial != origin.serial) return;  // the client has gone
  TcpClient& c = it->second;
  c.out.push_back(uint8_t(reply.size() >> 8));
  c.out.push_back(uint8_t(reply.size()));
  c.out.insert(c.out.end(), reply.begin(), reply.end());
  flushClient(origin.fd, c);
}

void ForwardLoop::expire(Clock::time_point now) {
  std::vector<uint16_t> late;
  for (const auto& [id, p] : pending_)
    if (p.deadline <= now) late.push_back(id);
  for (uint16_t id : late) failAttempt(id);
  if (now - last_idle_check_ < std::chrono::seconds(1)) return;
  last_idle_check_ = now;
  std::vector<int> idle;
  for (const auto& [fd, c] : clients_)
    if (now - c.last_active > kClientIdle) idle.push_back(fd);
  for (int fd : idle) closeClient(fd);
}

int ForwardLoop::timeoutMs(Clock::time_point now) const {
  auto next = now + std::chrono::seconds(1);
  for (const auto& [_, p] : pending_) next = std::min(next, p.deadline);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
  return int(std::max<int64_t>(0, ms + 1));
}

void ForwardLoop::onListen(int fd) {
  while (true) {
    const int c = ::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    if (clients_.size() >= kMaxClients) {
      ::close(c);
      stats_.dropped++;
      continue;
    }
    TcpClient client;
    client.serial = next_serial_++;
    client.last_active = Clock::now();
    clients_.emplace(c, std::move(client));
    watch(c, kClient, EPOLLIN);
  }
}

void ForwardLoop::onClient(int fd, uint32_t events) {
  auto it = clients_.find(fd);
  if (it == clients_.end()) return;
  TcpClient& c = it->second;
  c.last_active = Clock::now();
  if (events & EPOLLOUT) flushClient(fd, c);
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  uint8_t tmp[16384];
  while (true) {
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return closeClient(fd);
    if (n < 0) break;
    c.in.insert(c.in.end(), tmp, tmp + n);
    if (c.in.size() > 2 * (kMaxMessage + 2)) return closeClient(fd);
  }
  processClient(fd, c);
}

// Answers every complete length-prefixed query in the client's buffer.
void ForwardLoop::processClient(int fd, TcpClient& c) {
  const uint64_t serial = c.serial;
  size_t used = 0;
  while (c.in.size() - used >= 2) {
    const size_t len = size_t(c.in[used]) << 8 | c.in[used + 1];
    if (len < kHeaderSize) return closeClient(fd);
    if (c.in.size() - used < 2 + len) break;
    std::vector<uint8_t> packet(c.in.begin() + long(used + 2), c.in.begin() + long(used + 2 + len));
    used += 2 + len;
    stats_.tcp_queries++;
    QueryHandler::Result r;
    {
      auto lock = index_.readLock();
      r = handler_.handle(packet, false, index_, std::span(buf_.data(), kMaxMessage));
    }
    if (r.action == QueryHandler::Action::kDrop) return closeClient(fd);
    if (r.action == QueryHandler::Action::kReply) {
      deliver(Origin{true, fd, serial, {}}, handler_.query(), std::span(buf_.data(), r.size));
    } else {
      const Query q = handler_.query();
      startForward(Origin{true, fd, serial, {}}, q, packet);
    }
    // deliver() may have closed the client on a write error.
    auto it = clients_.find(fd);
    if (it == clients_.end() || it->second.serial != serial) return;
  }
  c.in.erase(c.in.begin(), c.in.begin() + long(used));
}

void ForwardLoop::flushClient(int fd, TcpClient& c) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = ::send(fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN) return closeClient(fd);
      break;
    }
    c.out_sent += size_t(n);
  }
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
  }
  const bool want = !c.out.empty();
  if (want != c.want_write) {
    c.want_write = want;
    watch(fd, kClient, want ? EPOLLIN | EPOLLOUT : EPOLLIN, true);
  }
}

void ForwardLoop::closeClient(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  ::close(fd);
  clients_.erase(fd);
}

}  // namespace minikd::dns
