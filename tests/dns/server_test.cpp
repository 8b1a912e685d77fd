// The DNS engine on real loopback sockets, queried with dig (dnsutils); a fake upstream for
// forwarding. No root: ports are picked by the kernel.
//
// Address plan (p = pid % 250 + 1): the server on 127.53.p.1, the fake upstream on 127.53.p.2,
// an address nobody listens on 127.53.p.3.
#include "dns/engine.h"

#include <catch2/catch.hpp>

#include "dns/dns_test_util.h"
#include "dns/fake_upstream.h"

#include <chrono>
#include <random>
#include <thread>

using namespace minikd::dns;
using namespace minikd::dns::testing;
using namespace std::chrono_literals;

namespace {

IpAddr ip(const char* s) { return *IpAddr::parse(s); }

struct Server {
  FakeUpstream upstream{loopback(2)};
  ServiceIndex index;
  std::unique_ptr<DnsEngine> engine;
  std::jthread thread;
  std::string ip = loopback(1);

  Server() {
    index.upsertService({"default", "web", ServiceKind::kClusterIp, {::ip("10.96.0.42")}, "", {{"http", "TCP", 80}}, {}});
    index.upsertService({"default", "db", ServiceKind::kHeadless, {}, "", {{"pg", "TCP", 5432}}, {}});
    std::vector<EndpointRecord> eps{{::ip("10.244.0.7"), "db-0", true}};
    index.upsertSlice("default", "db", "db-a", {{{"pg", "TCP", 5432}}, eps});
    std::vector<EndpointRecord> many;
    for (int i = 1; i <= 100; ++i) many.push_back({IpAddr::v4(10, 244, 1, uint8_t(i)), "", true});
    index.upsertService({"default", "many", ServiceKind::kHeadless, {}, "", {}, {}});
    index.upsertSlice("default", "many", "many-a", {{}, many});
    index.upsertService({"default", "ext", ServiceKind::kExternalName, {}, "www.example.com", {}, {}});
    index.upsertPod({"default", "web-1", {::ip("10.244.0.5")}});
    DnsConfig c;
    c.listen = {ip + ":0"};
    c.upstreams = {upstream.address()};
    c.upstream_timeout = 300ms;
    c.nameserver_ip = "10.96.0.10";
    engine = std::make_unique<DnsEngine>(c, index);
    thread = std::jthread([this](std::stop_token st) { engine->run(st); });
  }
  DigResult dig(const std::string& args) { return parseDig(testing::dig(ip, engine->port(), args)); }
};

}  // namespace

TEST_CASE("dig: A, AAAA NODATA, NXDOMAIN, SRV, PTR, TXT, SOA, NS, pod, ExternalName", "[dns]") {
  Server s;
  auto a = s.dig("web.default.svc.cluster.local A");
  CHECK(a.status == "NOERROR");
  CHECK(a.flags.find("aa") != std::string::npos);
  CHECK(a.answer == std::vector<std::string>{"web.default.svc.cluster.local. 5 IN A 10.96.0.42"});

  auto aaaa = s.dig("web.default.svc.cluster.local AAAA");
  CHECK(aaaa.status == "NOERROR");
  CHECK(aaaa.answer.empty());
  REQUIRE(aaaa.authority.size() == 1);
  CHECK(aaaa.authority[0].find("SOA ns.dns.cluster.local. hostmaster.cluster.local.") != std::string::npos);

  auto nx = s.dig("nope.default.svc.cluster.local A");
  CHECK(nx.status == "NXDOMAIN");
  CHECK(nx.authority.size() == 1);

  auto srv = s.dig("_pg._tcp.db.default.svc.cluster.local SRV");
  CHECK(srv.answer == std::vector<std::string>{"_pg._tcp.db.default.svc.cluster.local. 5 IN SRV 0 100 5432 db-0.db.default.svc.cluster.local."});
  CHECK(srv.additional == std::vector<std::string>{"db-0.db.default.svc.cluster.local. 5 IN A 10.244.0.7"});

  CHECK(s.dig("-x 10.96.0.42").answer == std::vector<std::string>{"42.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local."});
  CHECK(s.dig("-x 10.244.0.5").answer ==
        std::vector<std::string>{"5.0.244.10.in-addr.arpa. 5 IN PTR 10-244-0-5.default.pod.cluster.local."});
  CHECK(s.dig("dns-version.cluster.local TXT").answer == std::vector<std::string>{"dns-version.cluster.local. 5 IN TXT \"1.1.0\""});
  CHECK(s.dig("cluster.local SOA").answer.size() == 1);
  CHECK(s.dig("cluster.local NS").answer == std::vector<std::string>{"cluster.local. 5 IN NS ns.dns.cluster.local."});
  CHECK(s.dig("10-244-0-5.default.pod.cluster.local A").answer ==
        std::vector<std::string>{"10-244-0-5.default.pod.cluster.local. 5 IN A 10.244.0.5"});
  CHECK(s.dig("ext.default.svc.cluster.local CNAME").answer ==
        std::vector<std::string>{"ext.default.svc.cluster.local. 5 IN CNAME www.example.com."});
}

TEST_CASE("dig: case kept, EDNS echoed, TC on UDP and the full answer over TCP", "[dns]") {
  Server s;
  CHECK(s.dig("WEB.Default.Svc.Cluster.Local A").answer ==
        std::vector<std::string>{"WEB.Default.Svc.Cluster.Local. 5 IN A 10.96.0.42"});
  auto edns = s.dig("web.default.svc.cluster.local A +bufsize=1232");
  CHECK(edns.raw.find("; EDNS: version: 0") != std::string::npos);
  auto plain = s.dig("web.default.svc.cluster.local A +noedns");
  CHECK(plain.raw.find("EDNS") == std::string::npos);

  auto tc = s.dig("many.default.svc.cluster.local A +noedns +ignore");
  CHECK(tc.flags.find("tc") != std::string::npos);
  CHECK(tc.answer.empty());
  auto retried = s.dig("many.default.svc.cluster.local A");  // dig retries over TCP by itself
  CHECK(retried.raw.find("Truncated, retrying in TCP mode") != std::string::npos);
  CHECK(retried.answer.size() == 100);
  CHECK(s.dig("many.default.svc.cluster.local A +tcp").answer.size() == 100);
  auto big_udp = s.dig("many.default.svc.cluster.local A +bufsize=4096");
  CHECK(big_udp.raw.find("Truncated") == std::string::npos);
  CHECK(big_udp.answer.size() == 100);
}

TEST_CASE("dig: forwarding, cache, TCP retry on a truncated upstream answer, SERVFAIL on timeout", "[dns]") {
  Server s;
  auto fw = s.dig("www.example.com A");
  CHECK(fw.status == "NOERROR");
  CHECK(fw.flags.find("aa") == std::string::npos);
  CHECK(fw.answer == std::vector<std::string>{"www.example.com. 60 IN A 192.0.2.1"});
  const int before = s.upstream.udp_queries;
  auto cached = s.dig("WWW.example.com A");
  CHECK(cached.answer.size() == 1);
  CHECK(cached.answer.at(0).rfind("WWW.example.com. ", 0) == 0);
  CHECK(s.upstream.udp_queries == before);  // answered from the cache

  auto nx = s.dig("nx.example.com A");
  CHECK(nx.status == "NXDOMAIN");

  auto big = s.dig("big.example.com TXT");
  INFO(big.raw);
  CHECK(big.answer.size() == 40);
  CHECK(s.upstream.tcp_queries >= 1);

  const auto t0 = std::chrono::steady_clock::now();
  auto slow = s.dig("slow.example.com A");
  CHECK(slow.status == "SERVFAIL");
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(s.engine->stats().servfail >= 1);

  CHECK(s.dig("+tcp www.example.com A").answer.size() == 1);  // forwarding for a TCP client
  CHECK(s.dig("-x 192.0.2.9").status == "NOERROR");            // unknown addresses go upstream too
}

TEST_CASE("hostile packets are answered FORMERR or dropped, the server keeps serving", "[dns]") {
  Server s;
  auto q = makeQuery("web.default.svc.cluster.local", rrtype::kA);
  std::vector<uint8_t> loop(q.begin(), q.begin() + 12);
  loop.insert(loop.end(), {0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01});
  auto r = exchange(s.ip, s.engine->port(), loop);
  REQUIRE(r);
  CHECK(decode(*r).rcode == rcode::kFormErr);
  CHECK_FALSE(exchange(s.ip, s.engine->port(), {1, 2, 3}, 200ms));  // too short: dropped
  auto response = q;
  response[2] |= 0x80;                                                // QR set: dropped (no reflection)
  CHECK_FALSE(exchange(s.ip, s.engine->port(), response, 200ms));
  std::mt19937 rng(42);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk = q;
    for (int k = 0; k < 4; ++k) junk[rng() % junk.size()] = uint8_t(rng());
    junk.resize(rng() % (junk.size() + 8) + 1, 0xC0);
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
    auto addr = *SocketAddress::parse(s.ip, s.engine->port());
    ::sendto(fd.get(), junk.data(), junk.size(), 0, addr.get(), addr.length);
  }
  auto ok = exchange(s.ip, s.engine->port(), q);
  REQUIRE(ok);
  CHECK(decode(*ok).answer == std::vector<std::string>{"web.default.svc.cluster.local. 5 A 10.96.0.42"});
}

TEST_CASE("only the given addresses are served", "[dns]") {
  Server s;
  auto q = makeQuery("web.default.svc.cluster.local", rrtype::kA);
  CHECK_FALSE(exchange(loopback(3), s.engine->port(), q, 200ms));
  CHECK(exchange(s.ip, s.engine->port(), q));
}

TEST_CASE("upstreams: the configured list, else resolv.conf, never ourselves", "[dns]") {
  CHECK(nameserversFromResolvConf("# c\nnameserver 10.0.0.2\nsearch x\nnameserver fe80::1%eth0\n nameserver 127.0.0.53\n") ==
        std::vector<std::string>{"10.0.0.2", "127.0.0.53"});
  DnsConfig c;
  c.listen = {"127.0.0.1:53"};
  c.upstreams = {"127.0.0.1", "127.0.0.9:5353", "[::1]:53"};
  auto ups = resolveUpstreams(c);
  REQUIRE(ups.size() == 2);
  CHECK(ups[0].toString() == "127.0.0.9:5353");
  CHECK(ups[1].toString() == "[::1]:53");
  c.upstreams = {"not-an-ip"};
  CHECK_THROWS_WITH(resolveUpstreams(c), Catch::Contains("not-an-ip"));
  CHECK_FALSE(SocketAddress::parse("1.2.3.4:99999", 53));
}
