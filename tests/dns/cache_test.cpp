// The forwarding cache: TTLs honoured and aged, negative answers by the SOA, never SERVFAIL or TC.
#include "dns/cache.h"

#include <catch2/catch.hpp>

#include "dns/dns_test_util.h"

using namespace minikd::dns;
using namespace minikd::dns::testing;
using namespace std::chrono_literals;

namespace {

/// An upstream reply to `q` with rcode `rc`, an A record (ttl) or an SOA (ttl, minimum), and flags.
std::vector<uint8_t> reply(const Query& q, uint16_t rc, std::optional<uint32_t> a_ttl, std::optional<std::pair<uint32_t, uint32_t>> soa,
                           uint16_t extra_flags = 0) {
  std::vector<uint8_t> buf(512);
  Writer w(buf.data(), buf.size());
  putHeader(w, Header{0x4242, uint16_t(kFlagQr | kFlagRd | kFlagRa | extra_flags | rc), 1, uint16_t(a_ttl ? 1 : 0),
                      uint16_t(soa ? 1 : 0), 0});
  w.putName(q.question.name);
  w.putU16(q.question.type);
  w.putU16(kClassIn);
  if (a_ttl) {
    w.putName(q.question.name);
    w.putU16(rrtype::kA);
    w.putU16(kClassIn);
    w.putU32(*a_ttl);
    w.putU16(4);
    const uint8_t ip[] = {192, 0, 2, 1};
    w.putBytes(ip, 4);
  }
  if (soa) {
    w.putName(*nameFromText("example.com"));
    w.putU16(rrtype::kSoa);
    w.putU16(kClassIn);
    w.putU32(soa->first);
    const size_t at = w.size();
    w.putU16(0);
    w.putName(*nameFromText("ns.example.com"));
    w.putName(*nameFromText("root.example.com"));
    for (uint32_t v : {1u, 2u, 3u, 4u, soa->second}) w.putU32(v);
    w.setU16At(at, uint16_t(w.size() - at - 2));
  }
  buf.resize(w.size());
  return buf;
}

Query query(std::string_view name, uint16_t id = 7) {
  Query q;
  auto p = makeQuery(name, rrtype::kA, std::nullopt, id);
  REQUIRE(parseQuery(p, q) == ParseError::kNone);
  return q;
}

}  // namespace

TEST_CASE("a positive answer is cached for its TTL, aged, with the asker's id and case", "[dns]") {
  ResponseCache cache(100, 300);
  const auto t0 = ResponseCache::Clock::now();
  auto q = query("www.example.com");
  REQUIRE(cache.store(q, reply(q, rcode::kNoError, 60, std::nullopt), t0));
  std::vector<uint8_t> out(512);
  auto q2 = query("WWW.Example.com", 99);
  size_t n = cache.lookup(q2, out, t0 + 10s);
  REQUIRE(n > 0);
  auto d = decode(std::span(out.data(), n));
  CHECK(d.m.header.id == 99);
  CHECK(d.question == "WWW.Example.com.");
  CHECK(d.answer == std::vector<std::string>{"WWW.Example.com. 50 A 192.0.2.1"});
  CHECK(cache.lookup(q2, out, t0 + 60s) == 0);  // expired
  CHECK(cache.size() == 0);
}

TEST_CASE("negative answers are cached for min(SOA TTL, SOA minimum)", "[dns]") {
  ResponseCache cache(100, 300);
  const auto t0 = ResponseCache::Clock::now();
  auto q = query("nope.example.com");
  REQUIRE(cache.store(q, reply(q, rcode::kNxDomain, std::nullopt, std::pair{3600u, 30u}), t0));
  std::vector<uint8_t> out(512);
  size_t n = cache.lookup(q, out, t0 + 29s);
  REQUIRE(n > 0);
  CHECK(decode(std::span(out.data(), n)).rcode == rcode::kNxDomain);
  CHECK(cache.lookup(q, out, t0 + 31s) == 0);
  // NODATA without an SOA: nothing says how long, so not cached.
  CHECK_FALSE(cache.store(q, reply(q, rcode::kNoError, std::nullopt, std::nullopt), t0));
}

TEST_CASE("SERVFAIL, truncated and zero-TTL replies are not cached, and the max TTL caps", "[dns]") {
  ResponseCache cache(100, 20);
  const auto t0 = ResponseCache::Clock::now();
  auto q = query("www.example.com");
  CHECK_FALSE(cache.store(q, reply(q, rcode::kServFail, std::nullopt, std::nullopt), t0));
  CHECK_FALSE(cache.store(q, reply(q, rcode::kNoError, 60, std::nullopt, kFlagTc), t0));
  CHECK_FALSE(cache.store(q, reply(q, rcode::kNoError, 0, std::nullopt), t0));
  CHECK_FALSE(cache.store(query("other.example.com"), reply(q, rcode::kNoError, 60, std::nullopt), t0));  // wrong question
  REQUIRE(cache.store(q, reply(q, rcode::kNoError, 3600, std::nullopt), t0));
  std::vector<uint8_t> out(512);
  CHECK(cache.lookup(q, out, t0 + 19s) > 0);
  CHECK(cache.lookup(q, out, t0 + 21s) == 0);
}

TEST_CASE("a full cache evicts the entry closest to expiry", "[dns]") {
  ResponseCache cache(2, 300);
  const auto t0 = ResponseCache::Clock::now();
  auto a = query("a.example.com"), b = query("b.example.com"), c = query("c.example.com");
  REQUIRE(cache.store(a, reply(a, rcode::kNoError, 10, std::nullopt), t0));
  REQUIRE(cache.store(b, reply(b, rcode::kNoError, 100, std::nullopt), t0));
  REQUIRE(cache.store(c, reply(c, rcode::kNoError, 100, std::nullopt), t0));
  std::vector<uint8_t> out(512);
  CHECK(cache.lookup(a, out, t0) == 0);
  CHECK(cache.lookup(b, out, t0) > 0);
  CHECK(cache.lookup(c, out, t0) > 0);
}
