#pragma once
// A small cache of upstream replies that honours their TTLs (RFC 2308 for negative answers).
// Not thread-safe: owned by the forwarding thread. Pure: time is passed in.
#include "dns/wire.h"

#include <chrono>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace minikd::dns {

class ResponseCache {
 public:
  using Clock = std::chrono::steady_clock;
  /// At most `max_entries` replies, each kept at most `max_ttl` seconds.
  ResponseCache(size_t max_entries, uint32_t max_ttl) : max_entries_(max_entries), max_ttl_(max_ttl) {}
  /// Stores the upstream reply to `q` when it is cacheable: NOERROR with answers (for the smallest
  /// TTL), or NXDOMAIN / NODATA with an SOA (for min(SOA TTL, SOA minimum)); never TC, SERVFAIL or a
  /// reply that does not parse. Returns true when stored.
  bool store(const Query& q, std::span<const uint8_t> reply, Clock::time_point now);
  /// Writes the cached reply for `q` into `out` with q's id and question (its case), the TTLs
  /// lowered by the time spent in the cache. Returns its size, 0 on a miss (expired entries are dropped).
  size_t lookup(const Query& q, std::span<uint8_t> out, Clock::time_point now);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::vector<uint8_t> bytes;
    std::vector<uint16_t> ttl_offsets;
    std::vector<uint32_t> ttls;
    Clock::time_point stored, expires;
  };
  static std::string keyOf(const Query& q);
  void evict(Clock::time_point now);

  size_t max_entries_;
  uint32_t max_ttl_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace minikd::dns
