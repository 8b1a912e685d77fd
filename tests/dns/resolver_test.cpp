// The resolver and query handler against an in-memory index (no API server, no sockets): every record
// type of the Kubernetes DNS specification and the NXDOMAIN / NODATA edges.
#include "dns/resolver.h"

#include <catch2/catch.hpp>

#include "dns/dns_test_util.h"

using namespace minikd::dns;
using namespace minikd::dns::testing;

namespace {

const std::string kSoa = "cluster.local. 5 SOA ns.dns.cluster.local. hostmaster.cluster.local. 2026112700 7200 1800 86400 5";

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

/// default/web (ClusterIP 10.96.0.42, named port http/TCP 80), default/db (headless: two ready
/// endpoints, one named, one not ready), default/ext (ExternalName), pod 10.244.0.5 in default.
struct Fixture {
  ServiceIndex index;
  Resolver resolver{ResolverConfig{"cluster.local", 5, ip("10.96.0.10")}};
  QueryHandler handler{resolver};
  std::vector<uint8_t> out = std::vector<uint8_t>(65535);

  Fixture() {
    index.upsertService({"default", "web", ServiceKind::kClusterIp, {ip("10.96.0.42")}, "", {{"http", "TCP", 80}, {"", "TCP", 81}}, {}});
    index.upsertService({"default", "db", ServiceKind::kHeadless, {}, "", {{"pg", "TCP", 5432}}, {}});
    index.upsertSlice("default", "db", "db-abc",
                      {{{"pg", "TCP", 5432}},
                       {{ip("10.244.0.7"), "db-0", true}, {ip("10.244.0.8"), "", true}, {ip("10.244.0.9"), "db-2", false}}});
    index.upsertService({"default", "ext", ServiceKind::kExternalName, {}, "db.example.com", {}, {}});
    index.upsertPod({"default", "web-1", {ip("10.244.0.5")}});
  }

  Decoded ask(std::string_view name, uint16_t type, std::optional<uint16_t> edns = std::nullopt, bool udp = true) {
    auto r = handler.handle(makeQuery(name, type, edns), udp, index, out);
    REQUIRE(r.action == QueryHandler::Action::kReply);
    return decode(std::span(out.data(), r.size));
  }
  bool forwards(std::string_view name, uint16_t type) {
    return handler.handle(makeQuery(name, type), true, index, out).action == QueryHandler::Action::kForward;
  }
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("A for a ClusterIP service, authoritative, TTL 5", "[dns]") {
  Fixture f;
  auto d = f.ask("web.default.svc.cluster.local", rrtype::kA);
  CHECK(d.rcode == rcode::kNoError);
  CHECK(d.aa);
  CHECK(d.answer == Lines{"web.default.svc.cluster.local. 5 A 10.96.0.42"});
  CHECK(d.authority.empty());
}

TEST_CASE("names are case-insensitive and answered in the question's case", "[dns]") {
  Fixture f;
  auto d = f.ask("WEB.Default.svc.CLUSTER.local", rrtype::kA);
  CHECK(d.question == "WEB.Default.svc.CLUSTER.local.");
  CHECK(d.answer == Lines{"WEB.Default.svc.CLUSTER.local. 5 A 10.96.0.42"});
}

TEST_CASE("AAAA for an IPv4-only service is NODATA with the SOA", "[dns]") {
  Fixture f;
  auto d = f.ask("web.default.svc.cluster.local", rrtype::kAaaa);
  CHECK(d.rcode == rcode::kNoError);
  CHECK(d.answer.empty());
  CHECK(d.authority == Lines{kSoa});
  CHECK(f.ask("web.default.svc.cluster.local", rrtype::kTxt).authority == Lines{kSoa});
}

TEST_CASE("NXDOMAIN for names that do not exist, NODATA for empty non-terminals", "[dns]") {
  Fixture f;
  struct Case {
    const char* name;
    uint16_t rcode;
  };
  for (auto c : {Case{"nope.default.svc.cluster.local", rcode::kNxDomain}, Case{"web.other.svc.cluster.local", rcode::kNxDomain},
                 Case{"other.svc.cluster.local", rcode::kNxDomain}, Case{"default.svc.cluster.local", rcode::kNoError},
                 Case{"svc.cluster.local", rcode::kNoError}, Case{"pod.cluster.local", rcode::kNoError},
                 Case{"default.pod.cluster.local", rcode::kNoError}, Case{"foo.cluster.local", rcode::kNxDomain},
                 Case{"a.b.web.default.svc.cluster.local", rcode::kNxDomain},
                 Case{"x.y.z.web.default.svc.cluster.local", rcode::kNxDomain},
                 Case{"_tcp.web.default.svc.cluster.local", rcode::kNoError},
                 Case{"_udp.web.default.svc.cluster.local", rcode::kNxDomain}}) {
    INFO(c.name);
    auto d = f.ask(c.name, rrtype::kA);
    CHECK(d.rcode == c.rcode);
    CHECK(d.answer.empty());
    CHECK(d.authority == Lines{kSoa});
    CHECK(d.aa);
  }
}

TEST_CASE("headless services: one A per ready endpoint, and endpoint names", "[dns]") {
  Fixture f;
  CHECK(f.ask("db.default.svc.cluster.local", rrtype::kA).answer ==
        Lines{"db.default.svc.cluster.local. 5 A 10.244.0.7", "db.default.svc.cluster.local. 5 A 10.244.0.8"});
  CHECK(f.ask("db-0.db.default.svc.cluster.local", rrtype::kA).answer == Lines{"db-0.db.default.svc.cluster.local. 5 A 10.244.0.7"});
  CHECK(f.ask("10-244-0-8.db.default.svc.cluster.local", rrtype::kA).answer ==
        Lines{"10-244-0-8.db.default.svc.cluster.local. 5 A 10.244.0.8"});
  CHECK(f.ask("db-2.db.default.svc.cluster.local", rrtype::kA).rcode == rcode::kNxDomain);  // not ready
  CHECK(f.ask("db-0.db.default.svc.cluster.local", rrtype::kAaaa).authority == Lines{kSoa});
  CHECK(f.ask("db-0.db.default.svc.cluster.local", rrtype::kAaaa).rcode == rcode::kNoError);
  CHECK(f.ask("db-0.web.default.svc.cluster.local", rrtype::kA).rcode == rcode::kNxDomain);  // not headless
}

TEST_CASE("a readiness flip changes the headless answers", "[dns]") {
  Fixture f;
  f.index.upsertSlice("default", "db", "db-abc", {{{"pg", "TCP", 5432}}, {{ip("10.244.0.9"), "db-2", true}}});
  CHECK(f.ask("db.default.svc.cluster.local", rrtype::kA).answer == Lines{"db.default.svc.cluster.local. 5 A 10.244.0.9"});
  f.index.removeSlice("default", "db", "db-abc");
  auto d = f.ask("db.default.svc.cluster.local", rrtype::kA);
  CHECK(d.rcode == rcode::kNoError);  // the service exists, it has no address
  CHECK(d.answer.empty());
}

TEST_CASE("SRV for named ports: ClusterIP target the service, headless one per endpoint", "[dns]") {
  Fixture f;
  auto d = f.ask("_http._tcp.web.default.svc.cluster.local", rrtype::kSrv);
  CHECK(d.answer == Lines{"_http._tcp.web.default.svc.cluster.local. 5 SRV 0 100 80 web.default.svc.cluster.local."});
  CHECK(d.additional == Lines{"web.default.svc.cluster.local. 5 A 10.96.0.42"});
  auto h = f.ask("_pg._TCP.db.default.svc.cluster.local", rrtype::kSrv);
  CHECK(h.answer == Lines{"_pg._TCP.db.default.svc.cluster.local. 5 SRV 0 50 5432 db-0.db.default.svc.cluster.local.",
                          "_pg._TCP.db.default.svc.cluster.local. 5 SRV 0 50 5432 10-244-0-8.db.default.svc.cluster.local."});
  CHECK(h.additional == Lines{"db-0.db.default.svc.cluster.local. 5 A 10.244.0.7",
                              "10-244-0-8.db.default.svc.cluster.local. 5 A 10.244.0.8"});
  CHECK(f.ask("_http._udp.web.default.svc.cluster.local", rrtype::kSrv).rcode == rcode::kNxDomain);
  CHECK(f.ask("_nope._tcp.web.default.svc.cluster.local", rrtype::kSrv).rcode == rcode::kNxDomain);
  auto a = f.ask("_http._tcp.web.default.svc.cluster.local", rrtype::kA);  // the name exists: NODATA
  CHECK(a.rcode == rcode::kNoError);
  CHECK(a.answer.empty());
}

TEST_CASE("PTR for ClusterIPs, named endpoints and pods, other addresses forwarded", "[dns]") {
  Fixture f;
  CHECK(f.ask("42.0.96.10.in-addr.arpa", rrtype::kPtr).answer ==
        Lines{"42.0.96.10.in-addr.arpa. 5 PTR web.default.svc.cluster.local."});
  CHECK(f.ask("7.0.244.10.in-addr.arpa", rrtype::kPtr).answer ==
        Lines{"7.0.244.10.in-addr.arpa. 5 PTR db-0.db.default.svc.cluster.local."});
  CHECK(f.ask("5.0.244.10.in-addr.arpa", rrtype::kPtr).answer ==
        Lines{"5.0.244.10.in-addr.arpa. 5 PTR 10-244-0-5.default.pod.cluster.local."});
  CHECK(f.forwards("1.2.0.192.in-addr.arpa", rrtype::kPtr));
  CHECK(f.forwards("0.96.10.in-addr.arpa", rrtype::kPtr));
  CHECK(reverseNameOf(ip("10.96.0.42")) == *nameFromText("42.0.96.10.in-addr.arpa"));
}

TEST_CASE("IPv6 PTR and AAAA", "[dns]") {
  Fixture f;
  f.index.upsertService({"default", "v6", ServiceKind::kClusterIp, {ip("fd00:96::2a")}, "", {}, {}});
  CHECK(f.ask("v6.default.svc.cluster.local", rrtype::kAaaa).answer == Lines{"v6.default.svc.cluster.local. 5 AAAA fd00:96::2a"});
  CHECK(f.ask("v6.default.svc.cluster.local", rrtype::kA).answer.empty());
  auto rev = nameToText(reverseNameOf(ip("fd00:96::2a")));
  CHECK(f.ask(rev, rrtype::kPtr).answer == Lines{rev + " 5 PTR v6.default.svc.cluster.local."});
}

TEST_CASE("ExternalName answers a CNAME", "[dns]") {
  Fixture f;
  CHECK(f.ask("ext.default.svc.cluster.local", rrtype::kA).answer == Lines{"ext.default.svc.cluster.local. 5 CNAME db.example.com."});
  CHECK(f.ask("ext.default.svc.cluster.local", rrtype::kCname).answer ==
        Lines{"ext.default.svc.cluster.local. 5 CNAME db.example.com."});
}

TEST_CASE("pod records a-b-c-d.<ns>.pod are verified against the pods", "[dns]") {
  Fixture f;
  CHECK(f.ask("10-244-0-5.default.pod.cluster.local", rrtype::kA).answer ==
        Lines{"10-244-0-5.default.pod.cluster.local. 5 A 10.244.0.5"});
  CHECK(f.ask("10-244-0-5.other.pod.cluster.local", rrtype::kA).rcode == rcode::kNxDomain);
  CHECK(f.ask("10-244-0-6.default.pod.cluster.local", rrtype::kA).rcode == rcode::kNxDomain);
  CHECK(f.ask("10-244-0-5.default.pod.cluster.local", rrtype::kAaaa).rcode == rcode::kNoError);
  CHECK(f.ask("not-an-ip.default.pod.cluster.local", rrtype::kA).rcode == rcode::kNxDomain);
}

TEST_CASE("the zone apex: SOA, NS, dns-version TXT", "[dns]") {
  Fixture f;
  CHECK(f.ask("cluster.local", rrtype::kSoa).answer == Lines{kSoa});
  auto ns = f.ask("cluster.local", rrtype::kNs);
  CHECK(ns.answer == Lines{"cluster.local. 5 NS ns.dns.cluster.local."});
  CHECK(ns.additional == Lines{"ns.dns.cluster.local. 5 A 10.96.0.10"});
  CHECK(f.ask("ns.dns.cluster.local", rrtype::kA).answer == Lines{"ns.dns.cluster.local. 5 A 10.96.0.10"});
  CHECK(f.ask("dns-version.cluster.local", rrtype::kTxt).answer == Lines{"dns-version.cluster.local. 5 TXT \"1.1.0\""});
  CHECK(f.ask("cluster.local", rrtype::kA).authority == Lines{kSoa});
}

TEST_CASE("names outside the cluster domain are forwarded", "[dns]") {
  Fixture f;
  CHECK(f.forwards("example.com", rrtype::kA));
  CHECK(f.forwards("xcluster.local", rrtype::kA));
  CHECK(f.forwards("local", rrtype::kA));
  CHECK(f.forwards(".", rrtype::kNs));
  CHECK_FALSE(f.forwards("cluster.local", rrtype::kA));
}

TEST_CASE("EDNS: OPT echoed only when asked, the client's size honoured, TC over UDP when too big", "[dns]") {
  Fixture f;
  std::vector<EndpointRecord> many;
  for (int i = 1; i <= 100; ++i) many.push_back({IpAddr::v4(10, 244, 1, uint8_t(i)), "", true});
  f.index.upsertSlice("default", "db", "db-big", {{{"pg", "TCP", 5432}}, many});
  auto plain = f.ask("db.default.svc.cluster.local", rrtype::kA);
  CHECK(plain.tc);
  CHECK(plain.answer.empty());
  CHECK_FALSE(plain.m.edns);
  auto edns = f.ask("db.default.svc.cluster.local", rrtype::kA, 4096);
  CHECK_FALSE(edns.tc);
  CHECK(edns.answer.size() == 102);
  REQUIRE(edns.m.edns);
  auto small = f.ask("db.default.svc.cluster.local", rrtype::kA, 1232);
  CHECK(small.tc);
  REQUIRE(small.m.edns);
  auto tcp = f.ask("db.default.svc.cluster.local", rrtype::kA, std::nullopt, false);
  CHECK_FALSE(tcp.tc);
  CHECK(tcp.answer.size() == 102);
}

TEST_CASE("malformed and unsupported queries: FORMERR, NOTIMP, BADVERS, dropped responses", "[dns]") {
  Fixture f;
  auto q = makeQuery("web.default.svc.cluster.local", rrtype::kA);
  SECTION("a pointer loop is FORMERR with the id") {
    std::vector<uint8_t> p(q.begin(), q.begin() + 12);
    p.insert(p.end(), {0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01});
    auto r = f.handler.handle(p, true, f.index, f.out);
    REQUIRE(r.action == QueryHandler::Action::kReply);
    auto d = decode(std::span(f.out.data(), r.size));
    CHECK(d.rcode == rcode::kFormErr);
    CHECK(d.m.header.id == 0x1234);
  }
  SECTION("a short packet is dropped") {
    CHECK(f.handler.handle(std::span(q.data(), 5), true, f.index, f.out).action == QueryHandler::Action::kDrop);
  }
  SECTION("a response (QR set) is dropped") {
    auto r = makeQuery("web.default.svc.cluster.local", rrtype::kA, std::nullopt, 1, kFlagQr);
    CHECK(f.handler.handle(r, true, f.index, f.out).action == QueryHandler::Action::kDrop);
  }
  SECTION("opcode NOTIFY is NOTIMP") {
    auto n = makeQuery("web.default.svc.cluster.local", rrtype::kA, std::nullopt, 1, uint16_t(4 << 11));
    auto r = f.handler.handle(n, true, f.index, f.out);
    CHECK(decode(std::span(f.out.data(), r.size)).rcode == rcode::kNotImp);
  }
  SECTION("EDNS version 1 is BADVERS") {
    auto b = makeQuery("web.default.svc.cluster.local", rrtype::kA, 1232);
    b[b.size() - 5] = 1;  // the version byte of the OPT TTL
    auto r = f.handler.handle(b, true, f.index, f.out);
    auto d = decode(std::span(f.out.data(), r.size));
    CHECK(d.rcode == (rcode::kBadVers & 0xF));
    REQUIRE(d.m.edns);
    CHECK(d.m.edns->extended_rcode == (rcode::kBadVers >> 4));
  }
  SECTION("zone transfers are not served") {
    CHECK(f.ask("cluster.local", rrtype::kAxfr).rcode == rcode::kNotImp);
  }
}
