#include "net/ipam.h"

#include <catch2/catch.hpp>

#include <set>
#include <thread>

using namespace minikd::net;

TEST_CASE("cidr parsing and formatting", "[net][ipam]") {
  CHECK(parseIpv4("10.244.0.1") == 0x0af40001u);
  CHECK_FALSE(parseIpv4("10.244.0"));
  CHECK_FALSE(parseIpv4("10.244.0.256"));
  CHECK_FALSE(parseIpv4("10.244.0.1 "));
  CHECK_FALSE(parseIpv4("10..0.1"));
  CHECK_FALSE(parseIpv4("1.2.3.0004"));
  CHECK(formatIpv4(0x0af40001u) == "10.244.0.1");
  auto c = parseCidr("10.244.3.7/16");
  REQUIRE(c);
  CHECK(c->str() == "10.244.0.0/16");
  CHECK(formatIpv4(c->broadcast()) == "10.244.255.255");
  CHECK(c->contains(*parseIpv4("10.244.200.1")));
  CHECK_FALSE(c->contains(*parseIpv4("10.245.0.1")));
  CHECK_FALSE(parseCidr("10.0.0.0/33"));
  CHECK_FALSE(parseCidr("10.0.0.0"));
  CHECK_FALSE(parseCidr("10.0.0.0/"));
  CHECK(prefixMask(0) == 0u);
  CHECK(prefixMask(32) == 0xffffffffu);
}

TEST_CASE("allocate skips network, gateway and broadcast, then runs out", "[net][ipam]") {
  Ipam ipam = Ipam::forGateway("10.250.0.1", 29);  // .0 network, .1 gateway, .7 broadcast
  CHECK(ipam.capacity() == 5);
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) got.push_back(ipam.allocate("pod" + std::to_string(i)));
  CHECK(got == std::vector<std::string>{"10.250.0.2", "10.250.0.3", "10.250.0.4", "10.250.0.5", "10.250.0.6"});
  CHECK(ipam.inUse() == 5);
  CHECK_THROWS_AS(ipam.allocate("one-too-many"), IpamExhausted);
  CHECK_THROWS_WITH(ipam.allocate("one-too-many"), Catch::Contains("10.250.0.0/29"));
  CHECK_FALSE(ipam.addressOf("one-too-many"));
}

TEST_CASE("allocate is idempotent per owner", "[net][ipam]") {
  Ipam ipam = Ipam::forGateway("10.244.0.1", 16);
  auto a = ipam.allocate("uid-a");
  CHECK(ipam.allocate("uid-a") == a);
  CHECK(ipam.inUse() == 1);
  CHECK(ipam.holder(a) == "uid-a");
  CHECK(ipam.addressOf("uid-a") == a);
}

TEST_CASE("release frees an address - it is reused after the others", "[net][ipam]") {
  Ipam ipam = Ipam::forGateway("10.250.0.1", 29);
  for (int i = 0; i < 5; ++i) ipam.allocate("pod" + std::to_string(i));
  CHECK(ipam.release("10.250.0.4"));
  CHECK_FALSE(ipam.release("10.250.0.4"));  // not held any more
  CHECK_FALSE(ipam.holder("10.250.0.4"));
  CHECK(ipam.allocate("new") == "10.250.0.4");
  CHECK(ipam.holder("10.250.0.4") == "new");

  Ipam fresh = Ipam::forGateway("10.250.0.1", 29);
  CHECK(fresh.allocate("a") == "10.250.0.2");
  CHECK(fresh.allocate("b") == "10.250.0.3");
  fresh.release("10.250.0.2");
  // Round robin: the just-released address is not handed out again at once.
  CHECK(fresh.allocate("c") == "10.250.0.4");
  CHECK(fresh.releaseOwner("b") == 1);
  CHECK(fresh.releaseOwner("b") == 0);
  CHECK_FALSE(fresh.release("not-an-ip"));
}

TEST_CASE("reserve restores recorded addresses and refuses conflicts", "[net][ipam]") {
  Ipam ipam = Ipam::forGateway("10.244.0.1", 16);
  CHECK(ipam.reserve("10.244.0.2", "uid-a"));
  CHECK(ipam.reserve("10.244.0.2", "uid-a"));   // same owner again: fine
  CHECK_FALSE(ipam.reserve("10.244.0.2", "uid-b"));  // held by another
  CHECK(ipam.holder("10.244.0.2") == "uid-a");
  CHECK(ipam.reserve("10.244.7.9", "uid-c"));
  // allocate never hands out a reserved address.
  CHECK(ipam.allocate("uid-d") == "10.244.0.3");
  CHECK(ipam.allocate("uid-c") == "10.244.7.9");  // owner already holds one

  CHECK_THROWS_AS(ipam.reserve("10.244.0.1", "x"), std::invalid_argument);    // gateway
  CHECK_THROWS_AS(ipam.reserve("10.244.0.0", "x"), std::invalid_argument);    // network
  CHECK_THROWS_AS(ipam.reserve("10.244.255.255", "x"), std::invalid_argument);  // broadcast
  CHECK_THROWS_AS(ipam.reserve("10.245.0.2", "x"), std::invalid_argument);    // outside
  CHECK_THROWS_AS(ipam.reserve("nonsense", "x"), std::invalid_argument);
}

TEST_CASE("constructor rejects a gateway outside the CIDR", "[net][ipam]") {
  CHECK_THROWS_AS(Ipam(*parseCidr("10.0.0.0/24"), parseIpv4("10.0.1.1")), std::invalid_argument);
  CHECK_THROWS_AS(Ipam::forGateway("ten", 24), std::invalid_argument);
}

TEST_CASE("never two holders under concurrent allocate and reserve", "[net][ipam]") {
  Ipam ipam = Ipam::forGateway("10.250.0.1", 24);  // 253 usable
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string owner = "t" + std::to_string(t) + "-" + std::to_string(i);
        try {
          per_thread[t].push_back(ipam.allocate(owner));
        } catch (const IpamExhausted&) {
        }
        // Competing reservations of a fixed address: at most one owner may win.
        ipam.reserve("10.250.0.200", owner);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> seen;
  std::size_t total = 0;
  for (const auto& v : per_thread) {
    for (const auto& ip : v) {
      CHECK(seen.insert(ip).second);
      ++total;
    }
  }
  CHECK(total + 1 == 253);  // 252 allocations + 10.250.0.200 reserved by someone
  CHECK(ipam.inUse() == 253);
  CHECK_FALSE(seen.count("10.250.0.200"));
  CHECK_THROWS_AS(ipam.allocate("late"), IpamExhausted);
}
