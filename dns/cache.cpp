#include "dns/cache.h"

#include <algorithm>
#include <cstring>

namespace minikd::dns {
namespace {

// The negative-caching TTL from the SOA in the authority section, if any.
std::optional<uint32_t> negativeTtl(std::span<const uint8_t> msg, const Message& m) {
  for (const auto& r : m.authority) {
    if (r.type != rrtype::kSoa) continue;
    size_t pos = r.rdata_offset;
    WireName scratch;
    if (readName(msg, pos, scratch) != ParseError::kNone || readName(msg, pos, scratch) != ParseError::kNone) continue;
    if (pos + 20 > size_t(r.rdata_offset) + r.rdata_length) continue;
    return std::min(r.ttl, readU32(msg.data() + pos + 16));
  }
  return std::nullopt;
}

}  // namespace

std::string ResponseCache::keyOf(const Query& q) {
  std::string k = lowercaseName(q.question.name);
  k.push_back(char(q.question.type >> 8));
  k.push_back(char(q.question.type));
  k.push_back(char(q.question.cls >> 8));
  k.push_back(char(q.question.cls));
  // Replies differ with EDNS (OPT present), DO and CD.
  k.push_back(char((q.edns ? 1 : 0) | (q.edns && q.edns->dnssec_ok ? 2 : 0) | (q.header.flags & kFlagCd ? 4 : 0)));
  return k;
}

bool ResponseCache::store(const Query& q, std::span<const uint8_t> reply, Clock::time_point now) {
  if (max_entries_ == 0) return false;
  Message m;
  if (parseMessage(reply, m) != ParseError::kNone) return false;
  if (m.header.flags & kFlagTc) return false;
  const uint16_t rc = rcodeOf(m.header.flags);
  if (rc != rcode::kNoError && rc != rcode::kNxDomain) return false;
  if (m.questions.size() != 1 || !namesEqual(m.questions[0].name, q.question.name)) return false;
  std::optional<uint32_t> ttl;
  if (rc == rcode::kNoError && !m.answers.empty()) {
    for (const auto& r : m.answers) ttl = std::min(ttl.value_or(r.ttl), r.ttl);
    for (const auto& r : m.authority) ttl = std::min(*ttl, r.ttl);
  } else {
    ttl = negativeTtl(reply, m);
  }
  if (!ttl || *ttl == 0) return false;
  if (entries_.size() >= max_entries_) evict(now);
  if (entries_.size() >= max_entries_) return false;
  Entry e;
  e.bytes.assign(reply.begin(), reply.end());
  for (const auto* section : {&m.answers, &m.authority, &m.additional})
    for (const auto& r : *section) {
      e.ttl_offsets.push_back(r.ttl_offset);
      e.ttls.push_back(r.ttl);
    }
  e.stored = now;
  e.expires = now + std::chrono::seconds(std::min(*ttl, max_ttl_));
  entries_[keyOf(q)] = std::move(e);
  return true;
}

size_t ResponseCache::lookup(const Query& q, std::span<uint8_t> out, Clock::time_point now) {
  auto it = entries_.find(keyOf(q));
  if (it == entries_.end()) return 0;
  const Entry& e = it->second;
  if (now >= e.expires) {
    entries_.erase(it);
    return 0;
  }
  if (e.bytes.size() > out.size()) return 0;
  std::memcpy(out.data(), e.bytes.data(), e.bytes.size());
  out[0] = uint8_t(q.header.id >> 8);
  out[1] = uint8_t(q.header.id);
  // Same name ignoring case, so the same length: the client gets its own spelling back.
  std::memcpy(out.data() + kHeaderSize, q.question.name.data(), q.question.name.size());
  const uint32_t age = uint32_t(std::chrono::duration_cast<std::chrono::seconds>(now - e.stored).count());
  for (size_t i = 0; i < e.ttl_offsets.size(); ++i) {
    const uint32_t t = e.ttls[i] > age ? e.ttls[i] - age : 0;
    uint8_t* p = out.data() + e.ttl_offsets[i];
    p[0] = uint8_t(t >> 24), p[1] = uint8_t(t >> 16), p[2] = uint8_t(t >> 8), p[3] = uint8_t(t);
  }
  return e.bytes.size();
}

// Drops expired entries; when none expired, drops the one that expires first.
void ResponseCache::evict(Clock::time_point now) {
  auto soonest = entries_.end();
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (now >= it->second.expires) {
      it = entries_.erase(it);
      continue;
    }
    if (soonest == entries_.end() || it->second.expires < soonest->second.expires) soonest = it;
    ++it;
  }
  if (entries_.size() >= max_entries_ && soonest != entries_.end()) entries_.erase(soonest);
}

}  // namespace minikd::dns
