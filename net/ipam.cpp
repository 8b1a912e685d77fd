#include "net/ipam.h"

namespace minikd::net {

Ipam::Ipam(Cidr cidr, std::optional<Ipv4> gateway) : cidr_(cidr), gateway_(gateway), next_(0) {
  if (gateway_ && !cidr_.contains(*gateway_)) {
    throw std::invalid_argument("gateway " + formatIpv4(*gateway_) + " is outside CIDR " + cidr_.str());
  }
  next_ = firstHost();
}

Ipam Ipam::forGateway(const std::string& gateway, int prefix_len) {
  auto gw = parseIpv4(gateway);
  if (!gw) throw std::invalid_argument("gateway \"" + gateway + "\" is not an IPv4 address");
  if (prefix_len < 0 || prefix_len > 32) {
    throw std::invalid_argument("prefix length " + std::to_string(prefix_len) + " is outside 0..32");
  }
  return Ipam(cidrOf(*gw, prefix_len), gw);
}

Ipv4 Ipam::firstHost() const { return cidr_.prefix_len >= 31 ? cidr_.network : cidr_.network + 1; }

Ipv4 Ipam::lastHost() const { return cidr_.prefix_len >= 31 ? cidr_.broadcast() : cidr_.broadcast() - 1; }

bool Ipam::allocatable(Ipv4 ip) const {
  if (!cidr_.contains(ip)) return false;
  if (gateway_ && ip == *gateway_) return false;
  return ip >= firstHost() && ip <= lastHost();
}

void Ipam::hold(Ipv4 ip, const std::string& owner) {
  holders_[ip] = owner;
  by_owner_[owner].insert(ip);
}

void Ipam::unhold(Ipv4 ip) {
  auto it = holders_.find(ip);
  if (it == holders_.end()) return;
  auto owner = by_owner_.find(it->second);
  if (owner != by_owner_.end()) {
    owner->second.erase(ip);
    if (owner->second.empty()) by_owner_.erase(owner);
  }
  holders_.erase(it);
}

std::string Ipam::allocate(const std::string& owner) {
  std::lock_guard lock(mu_);
  if (auto it = by_owner_.find(owner); it != by_owner_.end() && !it->second.empty()) {
    return formatIpv4(*it->second.begin());
  }
  const std::uint64_t span = std::uint64_t{lastHost()} - firstHost() + 1;
  Ipv4 ip = next_;
  for (std::uint64_t i = 0; i < span; ++i) {
    if (ip < firstHost() || ip > lastHost()) ip = firstHost();
    if (allocatable(ip) && !holders_.count(ip)) {
      hold(ip, owner);
      next_ = ip + 1;  // wraps at the end of the block on the next scan
      return formatIpv4(ip);
    }
    ++ip;
  }
  throw IpamExhausted("no free address in pod CIDR " + cidr_.str() + " for \"" + owner + "\" (" +
                      std::to_string(holders_.size()) + " in use)");
}

bool Ipam::reserve(const std::string& ip_text, const std::string& owner) {
  auto ip = parseIpv4(ip_text);
  if (!ip) throw std::invalid_argument("reserve \"" + ip_text + "\" for \"" + owner + "\": not an IPv4 address");
  if (!allocatable(*ip)) {
    throw std::invalid_argument("reserve " + ip_text + " for \"" + owner + "\": not an allocatable address of " +
                                cidr_.str());
  }
  std::lock_guard lock(mu_);
  auto it = holders_.find(*ip);
  if (it != holders_.end()) return it->second == owner;
  hold(*ip, owner);
  return true;
}

bool Ipam::release(const std::string& ip_text) {
  auto ip = parseIpv4(ip_text);
  if (!ip) return false;
  std::lock_guard lock(mu_);
  if (!holders_.count(*ip)) return false;
  unhold(*ip);
  return true;
}

std::size_t Ipam::releaseOwner(const std::string& owner) {
  std::lock_guard lock(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end()) return 0;
  auto ips = it->second;
  for (Ipv4 ip : ips) unhold(ip);
  return ips.size();
}

std::optional<std::string> Ipam::holder(const std::string& ip_text) const {
  auto ip = parseIpv4(ip_text);
  if (!ip) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = holders_.find(*ip);
  if (it == holders_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Ipam::addressOf(const std::string& owner) const {
  std::lock_guard lock(mu_);
  auto it = by_owner_.find(owner);
  if (it == by_owner_.end() || it->second.empty()) return std::nullopt;
  return formatIpv4(*it->second.begin());
}

std::size_t Ipam::inUse() const {
  std::lock_guard lock(mu_);
  return holders_.size();
}

std::size_t Ipam::capacity() const {
  std::uint64_t span = std::uint64_t{lastHost()} - firstHost() + 1;
  if (gateway_ && *gateway_ >= firstHost() && *gateway_ <= lastHost()) --span;
  return static_cast<std::size_t>(span);
}

}  // namespace minikd::net
