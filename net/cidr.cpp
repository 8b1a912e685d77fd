#include "net/cidr.h"

#include <charconv>

namespace minikd::net {

std::optional<Ipv4> parseIpv4(std::string_view text) {
  Ipv4 ip = 0;
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (p == end || *p != '.') return std::nullopt;
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return std::nullopt;
    unsigned octet = 0;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc() || octet > 255 || next - p > 3) return std::nullopt;
    p = next;
    ip = (ip << 8) | octet;
  }
  if (p != end) return std::nullopt;
  return ip;
}

std::string formatIpv4(Ipv4 ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 0xff) + "." +
         std::to_string((ip >> 8) & 0xff) + "." + std::to_string(ip & 0xff);
}

Ipv4 prefixMask(int prefix_len) {
  if (prefix_len <= 0) return 0;
  if (prefix_len >= 32) return 0xffffffffu;
  return ~((Ipv4{1} << (32 - prefix_len)) - 1);
}

std::string Cidr::str() const { return formatIpv4(network) + "/" + std::to_string(prefix_len); }

std::optional<Cidr> parseCidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto ip = parseIpv4(text.substr(0, slash));
  if (!ip) return std::nullopt;
  auto len_text = text.substr(slash + 1);
  int len = -1;
  auto [next, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (len_text.empty() || ec != std::errc() || next != len_text.data() + len_text.size()) return std::nullopt;
  if (len < 0 || len > 32) return std::nullopt;
  return cidrOf(*ip, len);
}

Cidr cidrOf(Ipv4 ip, int prefix_len) { return Cidr{ip & prefixMask(prefix_len), prefix_len}; }

}  // namespace minikd::net
