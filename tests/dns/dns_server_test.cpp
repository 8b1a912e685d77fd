// DnsServer on an in-memory API store: the index follows the informers, so a new service answers
// within milliseconds and a readiness flip changes the headless answer. No root.
//
// Address plan (p = pid % 250 + 1): the server on 127.53.p.4; upstream 127.53.p.9 (nothing there,
// no name in this test is forwarded).
#include "dns/dns_server.h"

#include "api/api.h"

#include <catch2/catch.hpp>

#include "dns/dns_test_util.h"
#include "dns/fake_upstream.h"

#include <chrono>
#include <thread>

using namespace minikd;
using namespace minikd::dns;
using namespace minikd::dns::testing;
using namespace std::chrono_literals;

namespace {

const api::ResourceInfo& res(const char* group, const char* plural) { return *api::findResource(group, plural); }

api::Json service(const std::string& name, const std::string& cluster_ip) {
  return {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", {{"name", name}, {"namespace", "default"}}},
          {"spec", {{"clusterIP", cluster_ip}, {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}}};
}

api::Json slice(bool ready) {
  return {{"apiVersion", "discovery.k8s.io/v1"}, {"kind", "EndpointSlice"},
          {"metadata", {{"name", "db-x"}, {"namespace", "default"}, {"labels", {{"kubernetes.io/service-name", "db"}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}},
          {"endpoints", {{{"addresses", {"10.244.0.7"}}, {"hostname", "db-0"}, {"conditions", {{"ready", ready}}}}}}};
}

/// Asks until `pred` holds for the decoded answer or `limit` passes; returns the time it took.
template <class Pred>
std::optional<std::chrono::microseconds> askUntil(const std::string& ip, uint16_t port, const std::string& name, Pred pred,
                                                  std::chrono::milliseconds limit = 3000ms) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < limit) {
    if (auto r = exchange(ip, port, makeQuery(name, rrtype::kA), 200ms))
      if (pred(decode(*r))) return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    std::this_thread::sleep_for(200us);
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("DnsServer answers from the API and follows its watches", "[dns]") {
  api::Store store(":memory:");
  api::Api api(store);
  api.create(res("", "namespaces"), "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "default"}}}});
  api.create(res("", "services"), "default", service("web", "10.96.0.42"));

  DnsConfig c;
  c.listen = {loopback(4) + ":0"};
  c.upstreams = {loopback(9) + ":53"};
  c.upstream_timeout = 300ms;
  DnsServer server(api, c);
  std::jthread t([&](std::stop_token st) { server.run(st); });
  const std::string ip = loopback(4);
  const uint16_t port = server.port();

  auto has = [](const std::string& line) { return [line](const Decoded& d) { return d.answer == std::vector<std::string>{line}; }; };
  REQUIRE(askUntil(ip, port, "web.default.svc.cluster.local", has("web.default.svc.cluster.local. 5 A 10.96.0.42")));

  api.create(res("", "services"), "default", service("api", "10.96.0.43"));
  auto took = askUntil(ip, port, "api.default.svc.cluster.local", has("api.default.svc.cluster.local. 5 A 10.96.0.43"));
  REQUIRE(took);
  WARN("a new service answered after " << took->count() << " us");
  CHECK(*took < 500ms);  // milliseconds in practice; generous for a loaded machine

  api.create(res("", "services"), "default", service("db", "None"));
  api.create(res("discovery.k8s.io", "endpointslices"), "default", slice(true));
  CHECK(askUntil(ip, port, "db.default.svc.cluster.local", has("db.default.svc.cluster.local. 5 A 10.244.0.7")));
  api.modify(res("discovery.k8s.io", "endpointslices"), "default", "db-x", [](api::Json& o) {
    o["endpoints"][0]["conditions"]["ready"] = false;
    return true;
  });
  CHECK(askUntil(ip, port, "db.default.svc.cluster.local",
                 [](const Decoded& d) { return d.rcode == rcode::kNoError && d.answer.empty() && d.authority.size() == 1; }));

  api.remove(res("", "services"), "default", "web");
  CHECK(askUntil(ip, port, "web.default.svc.cluster.local", [](const Decoded& d) { return d.rcode == rcode::kNxDomain; }));
}
