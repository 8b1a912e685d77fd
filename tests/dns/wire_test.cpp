// The wire codec on packets captured from dig 9.18 and dnsmasq 2.90, and on hostile packets.
#include "dns/wire.h"

#include <catch2/catch.hpp>

#include "dns/dns_test_util.h"

using namespace minikd::dns;
using minikd::dns::testing::fromHex;

namespace {

// `dig @127.0.0.153 -p 15353 web.default.svc.cluster.local A` (EDNS 1232, DO clear, a cookie option).
const char* kDigA =
    "04d301200001000000000001037765620764656661756c740373766307636c7573746572056c6f63616c000001000100002904d000000000"
    "000c000a00089d8369a819d9a11a";
// `dig … Web.Default.SVC.cluster.local AAAA +noedns`.
const char* kDigAaaaNoEdns =
    "a9c601200001000000000000035765620744656661756c740353564307636c7573746572056c6f63616c00001c0001";
// `dig … _http._tcp.web.default.svc.cluster.local SRV +nocookie`.
const char* kDigSrv =
    "e73f01200001000000000001055f68747470045f746370037765620764656661756c740373766307636c7573746572056c6f63616c0000210001"
    "00002904d0000000000000";
// `dig … -x 10.96.0.42 +noedns`.
const char* kDigPtr = "911301200001000000000000023432013002393602313007696e2d61646472046172706100000c0001";
// dnsmasq's answer to kDigA (hosts file entry), with a compression pointer to the question.
const char* kDnsmasqA =
    "04d385800001000100000001037765620764656661756c740373766307636c7573746572056c6f63616c0000010001c00c000100010000000000"
    "040a60002a00002904d0000000000000";
// dnsmasq's answer to kDigPtr.
const char* kDnsmasqPtr =
    "911385800001000100000000023432013002393602313007696e2d61646472046172706100000c0001c00c000c000100000000001f037765620764"
    "656661756c740373766307636c7573746572056c6f63616c00";

ParseError parse(const std::vector<uint8_t>& v) {
  Query q;
  return parseQuery(v, q);
}

}  // namespace

TEST_CASE("dig queries parse with their question and EDNS", "[dns]") {
  Query q;
  auto a = fromHex(kDigA);
  REQUIRE(parseQuery(a, q) == ParseError::kNone);
  CHECK(q.header.id == 0x04d3);
  CHECK((q.header.flags & kFlagRd) != 0);
  CHECK(nameToText(q.question.name) == "web.default.svc.cluster.local.");
  CHECK(q.question.type == rrtype::kA);
  REQUIRE(q.edns);
  CHECK(q.edns->udp_size == 1232);
  CHECK_FALSE(q.edns->dnssec_ok);

  auto aaaa = fromHex(kDigAaaaNoEdns);
  REQUIRE(parseQuery(aaaa, q) == ParseError::kNone);
  CHECK(nameToText(q.question.name) == "Web.Default.SVC.cluster.local.");  // case kept
  CHECK(q.question.type == rrtype::kAaaa);
  CHECK_FALSE(q.edns);

  auto srv = fromHex(kDigSrv);
  REQUIRE(parseQuery(srv, q) == ParseError::kNone);
  CHECK(q.question.type == rrtype::kSrv);
  CHECK(labelCount(q.question.name) == 7);

  auto ptr = fromHex(kDigPtr);
  REQUIRE(parseQuery(ptr, q) == ParseError::kNone);
  CHECK(nameToText(q.question.name) == "42.0.96.10.in-addr.arpa.");
}

TEST_CASE("dnsmasq replies parse, following compression pointers", "[dns]") {
  Message m;
  auto a = fromHex(kDnsmasqA);
  REQUIRE(parseMessage(a, m) == ParseError::kNone);
  REQUIRE(m.answers.size() == 1);
  CHECK(nameToText(m.answers[0].name) == "web.default.svc.cluster.local.");
  CHECK(m.answers[0].rdata_length == 4);
  CHECK(a[m.answers[0].rdata_offset] == 10);
  CHECK(m.edns);

  auto ptr = fromHex(kDnsmasqPtr);
  REQUIRE(parseMessage(ptr, m) == ParseError::kNone);
  REQUIRE(m.answers.size() == 1);
  size_t pos = m.answers[0].rdata_offset;
  WireName target;
  REQUIRE(readName(ptr, pos, target) == ParseError::kNone);
  CHECK(nameToText(target) == "web.default.svc.cluster.local.");
}

TEST_CASE("hostile packets are rejected, not followed", "[dns]") {
  auto base = fromHex(kDigAaaaNoEdns);
  SECTION("fewer than 12 bytes") { CHECK(parse({0x12, 0x34, 0x01}) == ParseError::kShortHeader); }
  SECTION("a pointer to itself") {
    std::vector<uint8_t> p(base.begin(), base.begin() + 12);
    p.insert(p.end(), {0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01});
    CHECK(parse(p) == ParseError::kBadPointer);
  }
  SECTION("a two-pointer loop") {
    // question name: label "a" then a pointer to offset 17, which points back to 12.
    std::vector<uint8_t> p(base.begin(), base.begin() + 12);
    p.insert(p.end(), {0x01, 'a', 0xC0, 0x11, 0x00, 0xC0, 0x0C});
    CHECK(parse(p) == ParseError::kBadPointer);
  }
  SECTION("a forward pointer") {
    std::vector<uint8_t> p(base.begin(), base.begin() + 12);
    p.insert(p.end(), {0xC0, 0x20, 0x00, 0x01, 0x00, 0x01});
    CHECK(parse(p) == ParseError::kBadPointer);
  }
  SECTION("a reserved label type (length 64+)") {
    std::vector<uint8_t> p(base.begin(), base.begin() + 12);
    p.push_back(0x40);
    p.insert(p.end(), 64, 'a');
    p.insert(p.end(), {0x00, 0x00, 0x01, 0x00, 0x01});
    CHECK(parse(p) == ParseError::kBadLabelType);
  }
  SECTION("a name over 255 bytes") {
    std::vector<uint8_t> p(base.begin(), base.begin() + 12);
    for (int i = 0; i < 5; ++i) {
      p.push_back(60);
      p.insert(p.end(), 60, 'x');
    }
    p.insert(p.end(), {0x00, 0x00, 0x01, 0x00, 0x01});
    CHECK(parse(p) == ParseError::kNameTooLong);
  }
  SECTION("a truncated question") {
    std::vector<uint8_t> p(base.begin(), base.end() - 3);
    CHECK(parse(p) == ParseError::kTruncated);
  }
  SECTION("trailing bytes") {
    auto p = base;
    p.push_back(0);
    CHECK(parse(p) == ParseError::kTrailingData);
  }
  SECTION("two questions") {
    auto p = base;
    p[5] = 2;
    CHECK(parse(p) == ParseError::kBadQuestionCount);
  }
  SECTION("two OPT records") {
    auto p = fromHex(kDigSrv);
    p[11] = 2;
    const std::vector<uint8_t> opt = {0x00, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    p.insert(p.end(), opt.begin(), opt.end());
    CHECK(parse(p) == ParseError::kBadOpt);
  }
  SECTION("an A record with 5 bytes of rdata") {
    auto p = fromHex(kDnsmasqA);
    Message m;
    p[p.size() - 11 - 5] = 5;  // rdlength of the answer (before 4 rdata bytes and the 11-byte OPT)
    p.insert(p.end() - 11, 0x00);
    CHECK(parseMessage(p, m) == ParseError::kBadRdata);
  }
}

TEST_CASE("names convert between text and wire form within the limits", "[dns]") {
  CHECK(nameToText(*nameFromText("Web.default.svc.cluster.local")) == "Web.default.svc.cluster.local.");
  CHECK(nameToText(*nameFromText(".")) == ".");
  CHECK_FALSE(nameFromText("a..b"));
  CHECK_FALSE(nameFromText(std::string(64, 'a') + ".com"));
  CHECK(nameFromText(std::string(63, 'a') + ".com"));
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'x') + ".";
  CHECK_FALSE(nameFromText(long_name));
  CHECK(namesEqual(*nameFromText("WEB.Default"), *nameFromText("web.default")));
  CHECK(lowercaseName(*nameFromText("WEB.Default")) == *nameFromText("web.default"));
}

TEST_CASE("the writer compresses repeated suffixes into pointers", "[dns]") {
  std::vector<uint8_t> buf(512);
  Writer w(buf.data(), buf.size());
  putHeader(w, Header{1, kFlagQr, 0, 0, 0, 0});
  w.putName(*nameFromText("web.default.svc.cluster.local"));
  const size_t first = w.size();
  w.putName(*nameFromText("API.default.svc.cluster.local"));  // shares default.svc.cluster.local
  CHECK(w.size() - first == 4 + 2);                             // "\3API" + pointer
  w.putName(*nameFromText("WEB.DEFAULT.svc.cluster.local"));   // equal ignoring case: one pointer
  CHECK(w.size() - first == 6 + 2);
  REQUIRE(w.ok());
  size_t pos = first;
  WireName n;
  REQUIRE(readName(std::span(buf.data(), w.size()), pos, n) == ParseError::kNone);
  CHECK(nameToText(n) == "API.default.svc.cluster.local.");
  REQUIRE(readName(std::span(buf.data(), w.size()), pos, n) == ParseError::kNone);
  CHECK(nameToText(n) == "web.default.svc.cluster.local.");
}

TEST_CASE("the writer refuses to overflow its buffer", "[dns]") {
  std::vector<uint8_t> buf(20);
  Writer w(buf.data(), buf.size());
  putHeader(w, Header{});
  w.putName(*nameFromText("web.default.svc"));
  CHECK_FALSE(w.ok());
  CHECK(w.size() <= buf.size());
}
