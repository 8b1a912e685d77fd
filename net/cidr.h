#pragma once
// IPv4 helpers: dotted-quad parsing and formatting, CIDR blocks. Pure, no I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace minikd::net {

/// An IPv4 address in host byte order (10.244.0.1 == 0x0af40001).
using Ipv4 = std::uint32_t;

/// Parses "a.b.c.d" (each 0..255, no leading '+', no spaces). std::nullopt if malformed.
std::optional<Ipv4> parseIpv4(std::string_view text);
/// Formats as "a.b.c.d".
std::string formatIpv4(Ipv4 ip);
/// The netmask for a prefix length 0..32 (24 -> 0xffffff00).
Ipv4 prefixMask(int prefix_len);

/// An IPv4 CIDR block; `network` has no host bits set.
struct Cidr {
  Ipv4 network = 0;
  int prefix_len = 32;

  Ipv4 mask() const { return prefixMask(prefix_len); }
  /// The last address of the block (the broadcast address for prefixes < 31).
  Ipv4 broadcast() const { return network | ~mask(); }
  /// Number of addresses in the block (2^(32-prefix)).
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix_len); }
  bool contains(Ipv4 ip) const { return (ip & mask()) == network; }
  /// "10.244.0.0/16"
  std::string str() const;
  bool operator==(const Cidr&) const = default;
};

/// Parses "a.b.c.d/len". Host bits are cleared ("10.244.0.1/16" -> 10.244.0.0/16).
/// std::nullopt if malformed or len is outside 0..32.
std::optional<Cidr> parseCidr(std::string_view text);
/// The block an address with a prefix length belongs to (10.244.0.1, 16 -> 10.244.0.0/16).
Cidr cidrOf(Ipv4 ip, int prefix_len);

}  // namespace minikd::net
