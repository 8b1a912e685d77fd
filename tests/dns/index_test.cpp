// API objects → index records, and the index kept in step with services, slices and pods.
#include "dns/index.h"
#include "dns/index_json.h"

#include <catch2/catch.hpp>

using namespace minikd::dns;
using nlohmann::json;

TEST_CASE("services convert: ClusterIP, headless, ExternalName", "[dns]") {
  auto web = serviceFromJson(json::parse(R"({"metadata":{"name":"web","namespace":"shop"},
    "spec":{"clusterIP":"10.96.0.42","clusterIPs":["10.96.0.42"],"ports":[{"name":"http","port":80,"protocol":"TCP"},{"port":81}]}})"));
  CHECK(web.ns == "shop");
  CHECK(web.kind == ServiceKind::kClusterIp);
  REQUIRE(web.cluster_ips.size() == 1);
  CHECK(web.cluster_ips[0].toString() == "10.96.0.42");
  REQUIRE(web.ports.size() == 2);
  CHECK(web.ports[0].name == "http");
  CHECK(web.ports[1].protocol == "TCP");  // defaulted
  auto db = serviceFromJson(json::parse(R"({"metadata":{"name":"db","namespace":"shop"},"spec":{"clusterIP":"None"}})"));
  CHECK(db.kind == ServiceKind::kHeadless);
  auto ext = serviceFromJson(
      json::parse(R"({"metadata":{"name":"ext","namespace":"shop"},"spec":{"type":"ExternalName","externalName":"db.example.com"}})"));
  CHECK(ext.kind == ServiceKind::kExternalName);
  CHECK(ext.external_name == "db.example.com");
  // Garbage does not throw.
  CHECK_NOTHROW(serviceFromJson(json::parse(R"({"metadata":5,"spec":{"ports":[{"port":"x"},7]}})")));
}

TEST_CASE("endpoint slices convert, and a missing ready condition counts as ready", "[dns]") {
  auto slice = json::parse(R"({"metadata":{"name":"db-x","namespace":"shop","labels":{"kubernetes.io/service-name":"db"}},
    "addressType":"IPv4","ports":[{"name":"pg","port":5432,"protocol":"TCP"}],
    "endpoints":[{"addresses":["10.244.0.7"],"hostname":"db-0","conditions":{"ready":true}},
                 {"addresses":["10.244.0.8"],"conditions":{"ready":false}},
                 {"addresses":["10.244.0.9"]}]})");
  CHECK(sliceServiceName(slice) == "db");
  auto set = endpointSetFromJson(slice);
  REQUIRE(set.endpoints.size() == 3);
  CHECK(set.endpoints[0].hostname == "db-0");
  CHECK(set.endpoints[0].ready);
  CHECK_FALSE(set.endpoints[1].ready);
  CHECK(set.endpoints[2].ready);
  CHECK(set.ports.at(0).port == 5432);
  CHECK_FALSE(sliceServiceName(json::parse(R"({"metadata":{"name":"x"}})")));
}

TEST_CASE("pods convert, and host-network and finished pods have no DNS address", "[dns]") {
  auto pod = podFromJson(json::parse(R"({"metadata":{"name":"p","namespace":"shop"},"status":{"podIP":"10.244.0.5","podIPs":[{"ip":"10.244.0.5"}]}})"));
  REQUIRE(pod.ips.size() == 1);
  CHECK(pod.ips[0].toString() == "10.244.0.5");
  CHECK(podFromJson(json::parse(R"({"metadata":{"name":"p"},"spec":{"hostNetwork":true},"status":{"podIP":"10.0.0.1"}})")).ips.empty());
  CHECK(podFromJson(json::parse(R"({"metadata":{"name":"p"},"status":{"phase":"Succeeded","podIP":"10.244.0.5"}})")).ips.empty());
}

TEST_CASE("the index: slices before their service, removal, reverse names", "[dns]") {
  ServiceIndex idx;
  const auto ep = *IpAddr::parse("10.244.0.7");
  idx.upsertSlice("shop", "db", "db-x", {{}, {{ep, "db-0", true}}});
  {
    auto lk = idx.readLock();
    CHECK(idx.findService("shop", "db") == nullptr);
    CHECK_FALSE(idx.hasNamespace("shop"));
  }
  idx.upsertService({"shop", "db", ServiceKind::kHeadless, {}, "", {}, {}});
  {
    auto lk = idx.readLock();
    const auto* svc = idx.findService("shop", "db");
    REQUIRE(svc);
    CHECK(svc->slices.size() == 1);
    CHECK(idx.hasNamespace("shop"));
    CHECK(idx.reverseName(ep) == "db-0.db.shop.svc");
  }
  idx.upsertService({"shop", "web", ServiceKind::kClusterIp, {*IpAddr::parse("10.96.0.42")}, "", {}, {}});
  idx.upsertService({"shop", "web", ServiceKind::kClusterIp, {*IpAddr::parse("10.96.0.43")}, "", {}, {}});
  {
    auto lk = idx.readLock();
    CHECK_FALSE(idx.reverseName(*IpAddr::parse("10.96.0.42")));  // the old address is forgotten
    CHECK(idx.reverseName(*IpAddr::parse("10.96.0.43")) == "web.shop.svc");
  }
  idx.removeService("shop", "db");
  idx.removeService("shop", "web");
  idx.upsertPod({"shop", "p", {*IpAddr::parse("10.244.0.5")}});
  {
    auto lk = idx.readLock();
    CHECK(idx.findService("shop", "db") == nullptr);
    CHECK_FALSE(idx.reverseName(ep));
    CHECK(idx.hasNamespace("shop"));  // the pod
    CHECK(idx.hasPodIp("shop", *IpAddr::parse("10.244.0.5")));
    CHECK(idx.reverseName(*IpAddr::parse("10.244.0.5")) == "10-244-0-5.shop.pod");
  }
  idx.removePod("shop", "p");
  CHECK(idx.serviceCount() == 0);
  auto lk = idx.readLock();
  CHECK_FALSE(idx.hasNamespace("shop"));
}
