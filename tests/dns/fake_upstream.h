#pragma once
// A fake upstream resolver on a loopback address (UDP and TCP, the same port), for the forwarding
// tests. Answers by name:
//   slow.example.com  never answers
//   big.example.com   TXT, 40 strings of 100 bytes: over UDP only the question with TC set
//   nx.example.com    NXDOMAIN with an SOA (TTL 60, minimum 60)
//   anything else     A 192.0.2.1, TTL 60
#include "dns/unique_fd.h"
#include "dns/wire.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace minikd::dns::testing {

class FakeUpstream {
 public:
  explicit FakeUpstream(const std::string& ip) : ip_(ip) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    udp_.reset(::socket(AF_INET, SOCK_DGRAM, 0));
    if (::bind(udp_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("fake upstream: bind UDP " + ip);
    socklen_t len = sizeof a;
    ::getsockname(udp_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    tcp_.reset(::socket(AF_INET, SOCK_STREAM, 0));
    const int one = 1;
    ::setsockopt(tcp_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(tcp_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(tcp_.get(), 16) != 0)
      throw std::runtime_error("fake upstream: bind TCP " + ip);
    thread_ = std::jthread([this](std::stop_token st) { loop(st); });
  }
  std::string address() const { return ip_ + ":" + std::to_string(port_); }
  std::atomic<int> udp_queries{0}, tcp_queries{0};

 private:
  size_t answer(const uint8_t* q, size_t n, bool tcp, uint8_t* out, size_t cap) {
    Query query;
    if (parseQuery(std::span(q, n), query) != ParseError::kNone) return 0;
    const std::string name = nameToText(lowercaseName(query.question.name));
    if (name == "slow.example.com.") return 0;
    Writer w(out, cap);
    const bool big = name == "big.example.com.", nx = name == "nx.example.com.";
    const bool truncate = big && !tcp;
    uint16_t flags = kFlagQr | kFlagRd | kFlagRa | (nx ? rcode::kNxDomain : 0) | (truncate ? kFlagTc : 0);
    putHeader(w, Header{query.header.id, flags, 1, uint16_t(truncate || nx ? 0 : big ? 40 : 1), uint16_t(nx ? 1 : 0), 0});
    w.putName(query.question.name);
    w.putU16(query.question.type);
    w.putU16(query.question.cls);
    if (truncate) return w.size();
    if (nx) {
      w.putName(*nameFromText("example.com"));
      w.putU16(rrtype::kSoa), w.putU16(kClassIn), w.putU32(60);
      const size_t at = w.size();
      w.putU16(0);
      w.putName(*nameFromText("ns.example.com"));
      w.putName(*nameFromText("root.example.com"));
      for (uint32_t v : {1u, 2u, 3u, 4u, 60u}) w.putU32(v);
      w.setU16At(at, uint16_t(w.size() - at - 2));
      return w.size();
    }
    for (int i = 0; i < (big ? 40 : 1); ++i) {
      w.putName(query.question.name);
      w.putU16(big ? rrtype::kTxt : rrtype::kA), w.putU16(kClassIn), w.putU32(60);
      if (big) {
        w.putU16(101), w.putU8(100);
        const std::string s(100, char('a' + i % 26));
        w.putBytes(s.data(), s.size());
      } else {
        const uint8_t ip[] = {192, 0, 2, 1};
        w.putU16(4), w.putBytes(ip, 4);
      }
    }
    return w.ok() ? w.size() : 0;
  }

  void serveTcp(int fd) {
    pollfd p{fd, POLLIN, 0};
    std::vector<uint8_t> in;
    uint8_t buf[4096];
    while (::poll(&p, 1, 1000) > 0) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.insert(in.end(), buf, buf + n);
      if (in.size() >= 2 && in.size() >= 2 + size_t(in[0] << 8 | in[1])) break;
    }
    if (in.size() < 2) return;
    tcp_queries++;
    std::vector<uint8_t> out(65537);
    size_t len = answer(in.data() + 2, size_t(in[0] << 8 | in[1]), true, out.data() + 2, out.size() - 2);
    if (!len) return;
    out[0] = uint8_t(len >> 8), out[1] = uint8_t(len);
    [[maybe_unused]] auto s = ::send(fd, out.data(), len + 2, MSG_NOSIGNAL);
  }

  void loop(std::stop_token st) {
    std::vector<uint8_t> in(4096), out(65535);
    while (!st.stop_requested()) {
      pollfd fds[2] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        ssize_t n = ::recvfrom(udp_.get(), in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n > 0) {
          udp_queries++;
          size_t r = answer(in.data(), size_t(n), false, out.data(), 512);
          if (r) ::sendto(udp_.get(), out.data(), r, 0, reinterpret_cast<sockaddr*>(&from), len);
        }
      }
      if (fds[1].revents & POLLIN) {
        UniqueFd c(::accept(tcp_.get(), nullptr, nullptr));
        if (c) serveTcp(c.get());
      }
    }
  }

  std::string ip_;
  uint16_t port_ = 0;
  UniqueFd udp_, tcp_;
  std::jthread thread_;
};

/// Sends one UDP packet to ip:port and waits up to `timeout` for the reply.
inline std::optional<std::vector<uint8_t>> exchange(const std::string& to, uint16_t port, const std::vector<uint8_t>& packet,
                                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, to.c_str(), &a.sin_addr);
  timeval tv{long(timeout.count() / 1000), long(timeout.count() % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::sendto(fd.get(), packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
  std::vector<uint8_t> buf(65535);
  ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
  if (n <= 0) return std::nullopt;
  buf.resize(size_t(n));
  return buf;
}

/// The loopback addresses of one test run: 127.53.<pid-derived>.<host>, so that parallel runs do not meet.
inline std::string loopback(int host) {
  return "127.53." + std::to_string(::getpid() % 250 + 1) + "." + std::to_string(host);
}

/// Runs dig against `server` and returns its output.
inline std::string dig(const std::string& ip, uint16_t port, const std::string& args) {
  const std::string cmd = "dig @" + ip + " -p " + std::to_string(port) + " +tries=1 +time=3 " + args + " 2>&1";
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    ::pclose(f);
  }
  return out;
}

/// What dig printed: the status, the header flags and each section's records (whitespace collapsed).
struct DigResult {
  std::string status, flags;
  std::vector<std::string> answer, authority, additional;
  std::string raw;
};

inline DigResult parseDig(const std::string& out) {
  DigResult r;
  r.raw = out;
  auto after = [&](const std::string& key, char end) {
    size_t p = out.find(key);
    if (p == std::string::npos) return std::string();
    p += key.size();
    return out.substr(p, out.find(end, p) - p);
  };
  r.status = after("status: ", ',');
  r.flags = after(";; flags: ", ';');
  std::vector<std::string>* section = nullptr;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.rfind(";; ANSWER SECTION:", 0) == 0) section = &r.answer;
    else if (line.rfind(";; AUTHORITY SECTION:", 0) == 0) section = &r.authority;
    else if (line.rfind(";; ADDITIONAL SECTION:", 0) == 0) section = &r.additional;
    else if (line.empty()) section = nullptr;
    else if (section && line[0] != ';') {
      std::string collapsed;
      for (char c : line) {
        if (c == '\t' || c == ' ') {
          if (!collapsed.empty() && collapsed.back() != ' ') collapsed += ' ';
        } else {
          collapsed += c;
        }
      }
      section->push_back(collapsed);
    }
  }
  return r;
}

}  // namespace minikd::dns::testing
