// ServiceAllocator (ClusterIPs, NodePorts, LoadBalancer status) and the default Services, against an
// in-memory store through the Api (the allocator runs as its admission hook).
#include "minikd/default_services.h"
#include "minikd/service_allocator.h"

#include <catch2/catch.hpp>

#include <set>
#include <thread>

using minikd::api::Json;
namespace api = minikd::api;

namespace {

const api::ResourceInfo& res(const char* key) { return *api::findResourceByKey(key); }

struct Cluster {
  explicit Cluster(minikd::ServiceAllocator::Options o = {}) : alloc(api_, o) {
    alloc.install();
    api_.create(res("namespaces"), "", {{"metadata", {{"name", "default"}}}});
  }
  Json create(const Json& svc) { return api_.create(res("services"), "default", svc); }
  Json get(const std::string& name) { return api_.get(res("services"), "default", name); }
  void remove(const std::string& name) { api_.remove(res("services"), "default", name); }

  api::Store store{":memory:"};
  api::Api api_{store};
  minikd::ServiceAllocator alloc;
};

Json service(const std::string& name, Json spec_extra = Json::object()) {
  Json spec = {{"selector", {{"app", name}}}, {"ports", {{{"port", 80}}}}};
  spec.update(spec_extra);
  return {{"metadata", {{"name", name}}}, {"spec", spec}};
}

Json multiPortService(const std::string& name, const std::string& type) {
  return {{"metadata", {{"name", name}}},
          {"spec",
           {{"type", type},
            {"ports", {{{"name", "a"}, {"port", 80}}, {{"name", "b"}, {"port", 53}, {"protocol", "UDP"}}}}}}};
}

/// The 422's single cause: {field, message}.
std::pair<std::string, std::string> causeOf(const api::ApiError& e) {
  REQUIRE(e.code() == 422);
  const Json& causes = e.details().at("causes");
  REQUIRE(causes.size() >= 1);
  return {causes[0]["field"], causes[0]["message"]};
}

template <class F>
api::ApiError errorOf(F&& f) {
  try {
    f();
  } catch (const api::ApiError& e) {
    return e;
  }
  FAIL("no ApiError thrown");
  return api::internalError("unreachable");
}

std::string ipOf(const Json& svc) { return svc["spec"]["clusterIP"]; }

}  // namespace

TEST_CASE("IPv4 and CIDR parsing", "[services]") {
  CHECK(minikd::parseIpv4("10.96.0.1") == 0x0A600001u);
  CHECK_FALSE(minikd::parseIpv4("10.96.0"));
  CHECK_FALSE(minikd::parseIpv4("10.96.0.256"));
  CHECK_FALSE(minikd::parseIpv4("10.96.00.1"));
  CHECK_FALSE(minikd::parseIpv4("None"));
  CHECK(minikd::formatIpv4(0x0A600001u) == "10.96.0.1");
  auto c = minikd::Ipv4Cidr::parse("10.96.3.4/16");
  CHECK(c.toString() == "10.96.0.0/16");
  CHECK(c.size() == 65536);
  CHECK(c.contains(*minikd::parseIpv4("10.96.255.255")));
  CHECK_FALSE(c.contains(*minikd::parseIpv4("10.97.0.0")));
  CHECK_FALSE(c.contains(*minikd::parseIpv4("10.95.255.255")));
  CHECK_THROWS_AS(minikd::Ipv4Cidr::parse("10.96.0.0"), std::invalid_argument);
  CHECK_THROWS_AS(minikd::Ipv4Cidr::parse("10.96.0.0/33"), std::invalid_argument);
}

TEST_CASE("ClusterIPs are allocated from the service CIDR, never twice", "[services]") {
  Cluster c;
  Json a = c.create(service("a"));
  Json b = c.create(service("b"));
  auto ip_a = minikd::parseIpv4(ipOf(a)), ip_b = minikd::parseIpv4(ipOf(b));
  REQUIRE(ip_a);
  REQUIRE(ip_b);
  CHECK(ipOf(a) != ipOf(b));
  for (auto ip : {*ip_a, *ip_b}) {
    CHECK(c.alloc.cidr().contains(ip));
    // Never the network, `kubernetes` (.1) or `kube-dns` (.10) when not asked for.
    CHECK(ip != c.alloc.cidr().nth(0));
    CHECK(ip != c.alloc.cidr().nth(1));
    CHECK(ip != c.alloc.cidr().nth(10));
  }
  CHECK(a["spec"]["clusterIPs"] == Json::array({ipOf(a)}));
  CHECK(a["spec"]["ipFamilies"] == Json::array({"IPv4"}));
  CHECK(a["spec"]["ipFamilyPolicy"] == "SingleStack");
  CHECK(a["status"]["loadBalancer"] == Json::object());
  // Persisted in the object itself.
  CHECK(ipOf(c.get("a")) == ipOf(a));
}

TEST_CASE("A requested ClusterIP is honoured when free and in range, else 422", "[services]") {
  Cluster c;
  Json a = c.create(service("a", {{"clusterIP", "10.96.5.5"}}));
  CHECK(ipOf(a) == "10.96.5.5");
  CHECK(a["spec"]["clusterIPs"] == Json::array({"10.96.5.5"}));

  auto taken = causeOf(errorOf([&] { c.create(service("b", {{"clusterIP", "10.96.5.5"}})); }));
  CHECK(taken.first == "spec.clusterIP");
  CHECK_THAT(taken.second, Catch::Contains("provided IP is already allocated"));

  auto outside = causeOf(errorOf([&] { c.create(service("b", {{"clusterIP", "10.97.0.1"}})); }));
  CHECK(outside.first == "spec.clusterIP");
  CHECK_THAT(outside.second, Catch::Contains("provided IP is not in the valid range"));
  CHECK_THAT(outside.second, Catch::Contains("10.96.0.0/16"));

  auto network = causeOf(errorOf([&] { c.create(service("b", {{"clusterIP", "10.96.0.0"}})); }));
  CHECK_THAT(network.second, Catch::Contains("not in the valid range"));
  auto bogus = causeOf(errorOf([&] { c.create(service("b", {{"clusterIP", "ten"}})); }));
  CHECK_THAT(bogus.second, Catch::Contains("must be a valid IP address"));

  // clusterIPs alone is a request too; the reserved addresses can be asked for.
  Json k = c.create(service("k", {{"clusterIPs", {"10.96.0.1"}}}));
  CHECK(ipOf(k) == "10.96.0.1");
  CHECK_FALSE(c.store.getPtr("services", "default", "b"));
}

TEST_CASE("A deleted Service frees its ClusterIP at once - a failed create leaks nothing", "[services]") {
  Cluster c;
  c.create(service("a", {{"clusterIP", "10.96.7.7"}}));
  c.remove("a");
  CHECK(ipOf(c.create(service("b", {{"clusterIP", "10.96.7.7"}}))) == "10.96.7.7");

  // A create refused after admission (the name exists) must not hold the address it asked for.
  CHECK(errorOf([&] { c.create(service("b", {{"clusterIP", "10.96.8.8"}})); }).code() == 409);
  CHECK(ipOf(c.create(service("c", {{"clusterIP", "10.96.8.8"}}))) == "10.96.8.8");
}

TEST_CASE("A reservation for a write that never reached the store expires", "[services]") {
  minikd::ServiceAllocator::Options o;
  o.reservation_ttl = std::chrono::milliseconds(50);
  Cluster c(o);
  api::WriteOptions dry;
  dry.dry_run = true;
  c.api_.create(res("services"), "default", service("a", {{"clusterIP", "10.96.9.9"}}), dry);
  // While reserved, another Service cannot take it; once expired, it can.
  CHECK(errorOf([&] { c.create(service("b", {{"clusterIP", "10.96.9.9"}})); }).code() == 422);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  CHECK(ipOf(c.create(service("b", {{"clusterIP", "10.96.9.9"}}))) == "10.96.9.9");
}

TEST_CASE("A full range answers 500 and frees up on delete", "[services]") {
  minikd::ServiceAllocator::Options o;
  o.service_cidr = "10.96.0.0/29";  // .1-.6 usable; .1 only on request
  Cluster c(o);
  std::set<std::string> ips;
  for (int i = 0; i < 5; ++i) ips.insert(ipOf(c.create(service("s" + std::to_string(i)))));
  CHECK(ips == std::set<std::string>{"10.96.0.2", "10.96.0.3", "10.96.0.4", "10.96.0.5", "10.96.0.6"});
  auto full = errorOf([&] { c.create(service("s5")); });
  CHECK(full.code() == 500);
  CHECK_THAT(full.what(), Catch::Contains("range is full"));
  CHECK(ipOf(c.create(service("k", {{"clusterIP", "10.96.0.1"}}))) == "10.96.0.1");
  CHECK(errorOf([&] { c.create(service("bc", {{"clusterIP", "10.96.0.7"}})); }).code() == 422);  // broadcast
  c.remove("s2");
  CHECK(ips.count(ipOf(c.create(service("s6")))));
}

TEST_CASE("Concurrent creates never share an address", "[services]") {
  Cluster c;
  std::vector<std::jthread> threads;
  std::mutex mu;
  std::set<std::string> ips;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        auto svc = c.create(service("t" + std::to_string(t) + "-" + std::to_string(i)));
        std::lock_guard lk(mu);
        ips.insert(ipOf(svc));
      }
    });
  threads.clear();
  CHECK(ips.size() == 100);
}

TEST_CASE("Headless and ExternalName Services get no ClusterIP", "[services]") {
  Cluster c;
  Json h = c.create(service("h", {{"clusterIP", "None"}}));
  CHECK(ipOf(h) == "None");
  CHECK(h["spec"]["clusterIPs"] == Json::array({"None"}));
  Json e = c.create({{"metadata", {{"name", "e"}}}, {"spec", {{"type", "ExternalName"}, {"externalName", "example.com"}}}});
  CHECK_FALSE(e["spec"].contains("clusterIP"));
  CHECK_FALSE(e["spec"].contains("clusterIPs"));
  CHECK(errorOf([&] {
          c.create({{"metadata", {{"name", "e2"}}},
                    {"spec", {{"type", "ExternalName"}, {"externalName", "example.com"}, {"clusterIP", "10.96.3.3"}}}});
        }).code() == 422);
}

TEST_CASE("On update the ClusterIP is kept and immutable", "[services]") {
  Cluster c;
  Json a = c.create(service("a"));
  std::string ip = ipOf(a);
  // A PUT without clusterIP (kubectl replace of the original manifest) keeps it.
  Json put = service("a", {{"selector", {{"app", "other"}}}});
  Json updated = c.api_.update(res("services"), "default", "a", put);
  CHECK(ipOf(updated) == ip);
  CHECK(updated["spec"]["selector"]["app"] == "other");
  Json change = service("a", {{"clusterIP", "10.96.44.44"}});
  CHECK(errorOf([&] { c.api_.update(res("services"), "default", "a", change); }).code() == 422);
  // Becoming ExternalName releases the address.
  Json ext = {{"metadata", {{"name", "a"}}}, {"spec", {{"type", "ExternalName"}, {"externalName", "example.com"}}}};
  c.api_.update(res("services"), "default", "a", ext);
  CHECK(ipOf(c.create(service("b", {{"clusterIP", ip}}))) == ip);
}

TEST_CASE("An allocator started on an existing store knows what is taken", "[services]") {
  api::Store store(":memory:");
  {
    api::Api first(store);
    minikd::ServiceAllocator alloc(first, {});
    alloc.install();
    first.create(res("namespaces"), "", {{"metadata", {{"name", "default"}}}});
    first.create(res("services"), "default", service("a", {{"clusterIP", "10.96.1.1"}}));
  }
  api::Api second(store);
  minikd::ServiceAllocator alloc(second, {});
  alloc.install();
  CHECK(errorOf([&] { second.create(res("services"), "default", service("b", {{"clusterIP", "10.96.1.1"}})); })
            .code() == 422);
}

TEST_CASE("NodePorts are allocated per port, requested ones honoured or 422", "[services]") {
  Cluster c;
  Json n = c.create(multiPortService("n", "NodePort"));
  std::set<int> ports;
  for (const auto& p : n["spec"]["ports"]) {
    int np = p.value("nodePort", 0);
    CHECK(np >= 30000);
    CHECK(np <= 32767);
    ports.insert(np);
  }
  CHECK(ports.size() == 2);
  CHECK(n["spec"]["clusterIP"].get<std::string>().rfind("10.96.", 0) == 0);

  Json want = service("w", {{"type", "NodePort"}, {"ports", {{{"port", 80}, {"nodePort", 30080}}}}});
  CHECK(c.create(want)["spec"]["ports"][0]["nodePort"] == 30080);

  Json again = service("x", {{"type", "NodePort"}, {"ports", {{{"port", 80}, {"nodePort", 30080}}}}});
  auto taken = causeOf(errorOf([&] { c.create(again); }));
  CHECK(taken.first == "spec.ports[0].nodePort");
  CHECK_THAT(taken.second, Catch::Contains("provided port is already allocated"));

  Json low = service("y", {{"type", "NodePort"}, {"ports", {{{"port", 80}, {"nodePort", 8080}}}}});
  auto range = causeOf(errorOf([&] { c.create(low); }));
  CHECK(range.first == "spec.ports[0].nodePort");
  CHECK_THAT(range.second, Catch::Contains("30000-32767"));

  // Freed when the Service goes.
  c.remove("w");
  CHECK(c.create(again)["spec"]["ports"][0]["nodePort"] == 30080);
}

TEST_CASE("NodePorts survive an update that leaves them out - a small range fills up", "[services]") {
  minikd::ServiceAllocator::Options o;
  o.node_port_min = 30000;
  o.node_port_max = 30002;
  Cluster c(o);
  Json n = c.create(multiPortService("n", "NodePort"));
  Json before = n["spec"]["ports"];
  Json updated = c.api_.update(res("services"), "default", "n", multiPortService("n", "NodePort"));
  CHECK(updated["spec"]["ports"] == before);
  c.create(service("one", {{"type", "NodePort"}}));
  auto full = errorOf([&] { c.create(service("two", {{"type", "NodePort"}})); });
  CHECK(full.code() == 500);
  // Back to ClusterIP: the ports are dropped and free again.
  c.api_.update(res("services"), "default", "n", multiPortService("n", "ClusterIP"));
  CHECK_FALSE(c.get("n")["spec"]["ports"][0].contains("nodePort"));
  CHECK(c.create(service("two", {{"type", "NodePort"}}))["spec"]["ports"][0].contains("nodePort"));
}

TEST_CASE("A LoadBalancer Service gets NodePorts and reports the host as its ingress", "[services]") {
  minikd::ServiceAllocator::Options o;
  o.load_balancer_ip = "192.0.2.7";
  Cluster c(o);
  Json lb = c.create(service("lb", {{"type", "LoadBalancer"}}));
  CHECK(lb["spec"]["ports"][0].value("nodePort", 0) >= 30000);
  CHECK(lb["status"]["loadBalancer"]["ingress"] == Json::array({{{"ip", "192.0.2.7"}}}));
  // The status survives a main-resource update; a type change clears it.
  Json put = service("lb", {{"type", "LoadBalancer"}});
  CHECK(c.api_.update(res("services"), "default", "lb", put)["status"]["loadBalancer"]["ingress"][0]["ip"] ==
        "192.0.2.7");
  Json off = c.api_.update(res("services"), "default", "lb", service("lb"));
  CHECK(off["status"]["loadBalancer"] == Json::object());
}

TEST_CASE("Default Services: kubernetes and kube-dns with hand-made Endpoints", "[services]") {
  api::Store store(":memory:");
  api::Api api(store);
  minikd::ServiceAllocator alloc(api, {});
  alloc.install();
  minikd::DefaultServicesOptions o;
  o.api_port = 16443;
  o.dns_ip = "10.244.0.1";
  minikd::ensureDefaultServices(api, o);

  Json k = api.get(res("services"), "default", "kubernetes");
  CHECK(k["spec"]["clusterIP"] == "10.96.0.1");
  CHECK(k["spec"]["ports"][0]["port"] == 443);
  CHECK(k["spec"]["ports"][0]["name"] == "https");
  CHECK(k["spec"]["ports"][0]["targetPort"] == 16443);
  CHECK_FALSE(k["spec"].contains("selector"));
  Json kep = api.get(res("endpoints"), "default", "kubernetes");
  CHECK(kep["subsets"][0]["addresses"][0]["ip"] == "10.244.0.1");
  CHECK(kep["subsets"][0]["ports"][0]["port"] == 16443);

  Json dns = api.get(res("services"), "kube-system", "kube-dns");
  CHECK(dns["spec"]["clusterIP"] == "10.96.0.10");
  CHECK(dns["spec"]["ports"].size() == 2);
  CHECK(dns["spec"]["ports"][0]["protocol"] == "UDP");
  CHECK(dns["spec"]["ports"][1]["protocol"] == "TCP");
  Json dep = api.get(res("endpoints"), "kube-system", "kube-dns");
  CHECK(dep["subsets"][0]["addresses"][0]["ip"] == "10.244.0.1");

  // Idempotent: a second start writes nothing; a changed DNS address rewrites the Endpoints only.
  int64_t rv = store.resourceVersion();
  minikd::ensureDefaultServices(api, o);
  CHECK(store.resourceVersion() == rv);
  o.dns_ip = "10.244.0.53";
  minikd::ensureDefaultServices(api, o);
  CHECK(api.get(res("endpoints"), "kube-system", "kube-dns")["subsets"][0]["addresses"][0]["ip"] == "10.244.0.53");
  CHECK(api.get(res("services"), "kube-system", "kube-dns")["metadata"]["resourceVersion"] ==
        dns["metadata"]["resourceVersion"]);
}

TEST_CASE("Default Services refuse an address a user Service holds", "[services]") {
  api::Store store(":memory:");
  api::Api api(store);
  minikd::ServiceAllocator alloc(api, {});
  alloc.install();
  api.create(res("namespaces"), "", {{"metadata", {{"name", "default"}}}});
  api.create(res("services"), "default", service("squatter", {{"clusterIP", "10.96.0.1"}}));
  CHECK_THROWS_AS(minikd::ensureDefaultServices(api, {}), api::ApiError);
}
