#pragma once
// IPAM over one IPv4 CIDR (the pod CIDR): hands out addresses to owners (pod uids), never the same
// address to two owners. Pure and in memory: no I/O.
//
// Persistence is the runtime's job: it records each pod's address in the pod's status (podIP) and,
// when minikd starts, calls reserve(podIP, uid) for every pod in the store before allocating new
// addresses; it calls release() when a pod's sandbox is torn down.
#include "net/cidr.h"

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

namespace minikd::net {

/// Thrown by Ipam::allocate when every usable address is held.
class IpamExhausted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Address allocator over a CIDR. The network address, the broadcast address and the gateway are
/// never handed out (for /31 and /32 every address is usable except the gateway). Thread-safe.
class Ipam {
 public:
  /// `gateway`, if given, must lie inside `cidr`; it is never allocated.
  /// Throws std::invalid_argument if it does not.
  explicit Ipam(Cidr cidr, std::optional<Ipv4> gateway = std::nullopt);
  /// The pod CIDR of a gateway with a prefix, e.g. ("10.244.0.1", 16) -> 10.244.0.0/16 without .1.
  /// Throws std::invalid_argument if `gateway` is not an IPv4 address.
  static Ipam forGateway(const std::string& gateway, int prefix_len);

  /// The owner's address if it holds one already (so a retried allocate is idempotent), otherwise
  /// the next free address after the last one handed out, wrapping around the block (so a
  /// released address is reused only after the others). Throws IpamExhausted if none is free.
  std::string allocate(const std::string& owner);
  /// Marks `ip` as held by `owner` (addresses recorded in pods' status, at restart). True if it is
  /// now held by `owner` (it was free, or held by `owner` already); false if another owner holds it.
  /// Throws std::invalid_argument if `ip` is malformed or not an allocatable address of the CIDR.
  bool reserve(const std::string& ip, const std::string& owner);
  /// Frees `ip`. True if it was held. Malformed or foreign addresses are simply not held.
  bool release(const std::string& ip);
  /// Frees every address `owner` holds; returns how many.
  std::size_t releaseOwner(const std::string& owner);
  /// Who holds `ip`, if anyone.
  std::optional<std::string> holder(const std::string& ip) const;
  /// The (lowest) address `owner` holds, if any.
  std::optional<std::string> addressOf(const std::string& owner) const;

  /// Number of addresses held.
  std::size_t inUse() const;
  /// Number of addresses that can be handed out in total.
  std::size_t capacity() const;
  const Cidr& cidr() const { return cidr_; }

 private:
  bool allocatable(Ipv4 ip) const;
  Ipv4 firstHost() const;
  Ipv4 lastHost() const;
  void hold(Ipv4 ip, const std::string& owner);
  void unhold(Ipv4 ip);

  const Cidr cidr_;
  const std::optional<Ipv4> gateway_;
  mutable std::mutex mu_;
  std::map<Ipv4, std::string> holders_;
  std::map<std::string, std::set<Ipv4>> by_owner_;
  Ipv4 next_;  // where the next scan starts
};

}  // namespace minikd::net
