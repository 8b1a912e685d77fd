#pragma once
// IPv4/IPv6 socket addresses as text ("10.244.0.1:53", "[fd00::a]:53", "127.0.0.53") and the
// upstream list from resolv.conf.
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace minikd::dns {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  /// Parses "ip", "ip:port", "[ipv6]:port" or a bare IPv6 address; `default_port` when none is given.
  static std::optional<SocketAddress> parse(std::string_view text, uint16_t default_port);
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  /// "10.244.0.1:53" / "[fd00::a]:53".
  std::string toString() const;
  /// Same family, address and port as `other`.
  bool sameAs(const sockaddr* other, socklen_t len) const;
};

/// The `nameserver` addresses of a resolv.conf text, in order.
std::vector<std::string> nameserversFromResolvConf(std::string_view text);

}  // namespace minikd::dns
