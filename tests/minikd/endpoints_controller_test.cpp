// The Endpoints controller and the pure endpoint planning it shares with the EndpointSlice controller,
// against an in-memory store. Address plan: pods 10.244.1.x; services from 10.96.0.0/16.
#include "minikd/endpoint_planner.h"
#include "minikd/endpoints_controller.h"
#include "services_fixture.h"

#include <catch2/catch.hpp>

using namespace services_test;

namespace {

Json endpointsOf(MiniCluster& c, const std::string& name) {
  auto p = c.store.getPtr("endpoints", "default", name);
  return p ? *p : Json();
}

/// The IPs of `which` ("addresses"/"notReadyAddresses") over all subsets, in order.
std::vector<std::string> ips(const Json& ep, const char* which) {
  std::vector<std::string> out;
  if (!ep.contains("subsets")) return out;
  for (const auto& s : ep["subsets"])
    if (s.contains(which))
      for (const auto& a : s[which]) out.push_back(a["ip"]);
  return out;
}

using V = std::vector<std::string>;

const Json kWebPorts = Json::array({{{"name", "http"}, {"port", 80}, {"targetPort", 8080}}});

}  // namespace

TEST_CASE("Planner: pod eligibility and port resolution", "[services]") {
  Json pod = {{"metadata", {{"name", "p"}, {"namespace", "default"}}},
              {"spec", {{"containers", {{{"name", "c"}, {"ports", {{{"name", "http"}, {"containerPort", 8080}},
                                                                    {{"name", "dns"}, {"containerPort", 5353}, {"protocol", "UDP"}}}}}}}}},
              {"status", {{"podIP", "10.244.1.5"}, {"phase", "Running"}}}};
  CHECK(minikd::shouldPodBeInEndpoints(pod, false));
  CHECK(minikd::resolveTargetPort({{"port", 80}, {"targetPort", "http"}}, pod) == 8080);
  CHECK(minikd::resolveTargetPort({{"port", 53}, {"targetPort", "dns"}, {"protocol", "UDP"}}, pod) == 5353);
  CHECK_FALSE(minikd::resolveTargetPort({{"port", 53}, {"targetPort", "dns"}, {"protocol", "TCP"}}, pod));
  CHECK_FALSE(minikd::resolveTargetPort({{"port", 80}, {"targetPort", "grpc"}}, pod));
  CHECK(minikd::resolveTargetPort({{"port", 80}, {"targetPort", 9090}}, pod) == 9090);
  CHECK(minikd::resolveTargetPort({{"port", 80}}, pod) == 80);

  Json done = pod;
  done["spec"]["restartPolicy"] = "Never";
  done["status"]["phase"] = "Succeeded";
  CHECK_FALSE(minikd::shouldPodBeInEndpoints(done, false));
  Json no_ip = pod;
  no_ip["status"].erase("podIP");
  CHECK_FALSE(minikd::shouldPodBeInEndpoints(no_ip, false));
  Json dying = pod;
  dying["metadata"]["deletionTimestamp"] = "2026-11-27T09:00:00Z";
  CHECK_FALSE(minikd::shouldPodBeInEndpoints(dying, false));
  CHECK(minikd::shouldPodBeInEndpoints(dying, true));
}

TEST_CASE("Endpoints: ready pods as addresses, not-ready as notReadyAddresses, terminating left out", "[services]") {
  MiniCluster c;
  c.createService("web", {{"app", "web"}}, kWebPorts);
  c.createPod("web-a", {{"app", "web"}}, "10.244.1.2", true);
  c.createPod("web-b", {{"app", "web"}}, "10.244.1.3", false);
  c.createPod("web-c", {{"app", "web"}}, "10.244.1.4", true);
  c.createPod("web-noip", {{"app", "web"}}, "", true);
  c.createPod("other", {{"app", "db"}}, "10.244.1.9", true);
  c.deletePod("web-c");
  REQUIRE(c.store.getPtr("pods", "default", "web-c"));  // marked, not gone

  minikd::EndpointsController ctl(c.api_);
  ctl.syncService("default", "web");
  Json ep = endpointsOf(c, "web");
  CHECK(ips(ep, "addresses") == V{"10.244.1.2"});
  CHECK(ips(ep, "notReadyAddresses") == V{"10.244.1.3"});
  REQUIRE(ep["subsets"].size() == 1);
  CHECK(ep["subsets"][0]["ports"] == Json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}));
  const Json& a = ep["subsets"][0]["addresses"][0];
  CHECK(a["nodeName"] == "node1");
  CHECK(a["targetRef"]["kind"] == "Pod");
  CHECK(a["targetRef"]["name"] == "web-a");
  CHECK(a["targetRef"]["namespace"] == "default");
  CHECK(a["targetRef"]["uid"] == c.store.getPtr("pods", "default", "web-a")->at("metadata").at("uid"));
  CHECK(ep["metadata"]["labels"]["team"] == "x");
  CHECK(ep["metadata"]["labels"][minikd::kEndpointsManagedByLabel] == minikd::kEndpointsControllerName);
}

TEST_CASE("Endpoints: publishNotReadyAddresses puts every pod in addresses", "[services]") {
  MiniCluster c;
  c.createService("db", {{"app", "db"}}, Json::array({{{"port", 5432}}}),
                  {{"publishNotReadyAddresses", true}, {"clusterIP", "None"}});
  c.createPod("db-0", {{"app", "db"}}, "10.244.1.2", false, Json::array(),
              {{"hostname", "db-0"}, {"subdomain", "db"}});
  c.createPod("db-1", {{"app", "db"}}, "10.244.1.3", true, Json::array(), {{"hostname", "db-1"}, {"subdomain", "other"}});
  minikd::EndpointsController ctl(c.api_);
  ctl.syncService("default", "db");
  Json ep = endpointsOf(c, "db");
  CHECK(ips(ep, "addresses") == V{"10.244.1.2", "10.244.1.3"});
  CHECK(ips(ep, "notReadyAddresses").empty());
  // hostname only when the pod's subdomain names this Service.
  CHECK(ep["subsets"][0]["addresses"][0]["hostname"] == "db-0");
  CHECK_FALSE(ep["subsets"][0]["addresses"][1].contains("hostname"));
  CHECK(ep["metadata"]["labels"].contains(minikd::kHeadlessLabel));
}

TEST_CASE("Endpoints: named targetPorts resolve per pod - pods without the port are skipped", "[services]") {
  MiniCluster c;
  c.createService("api", {{"app", "api"}}, Json::array({{{"name", "http"}, {"port", 80}, {"targetPort", "web"}}}));
  c.createPod("api-a", {{"app", "api"}}, "10.244.1.2", true, Json::array({{{"name", "web"}, {"containerPort", 8080}}}));
  c.createPod("api-b", {{"app", "api"}}, "10.244.1.3", true, Json::array({{{"name", "web"}, {"containerPort", 9090}}}));
  c.createPod("api-c", {{"app", "api"}}, "10.244.1.4", true, Json::array({{{"name", "metrics"}, {"containerPort", 9100}}}));
  minikd::EndpointsController ctl(c.api_);
  ctl.syncService("default", "api");
  Json ep = endpointsOf(c, "api");
  REQUIRE(ep["subsets"].size() == 2);
  std::map<int, std::vector<std::string>> by_port;
  for (const auto& s : ep["subsets"])
    for (const auto& a : s["addresses"]) by_port[s["ports"][0]["port"].get<int>()].push_back(a["ip"]);
  CHECK(by_port == std::map<int, std::vector<std::string>>{{8080, {"10.244.1.2"}}, {9090, {"10.244.1.3"}}});
}

TEST_CASE("Endpoints follow selector changes, label changes and pod deletion - no write when unchanged",
          "[services]") {
  MiniCluster c;
  c.createService("web", {{"app", "web"}}, kWebPorts);
  c.createPod("a", {{"app", "web"}}, "10.244.1.2", true);
  c.createPod("b", {{"app", "web2"}}, "10.244.1.3", true);
  minikd::EndpointsController ctl(c.api_);
  ctl.syncService("default", "web");
  CHECK(ips(endpointsOf(c, "web"), "addresses") == V{"10.244.1.2"});

  int64_t rv = c.store.resourceVersion();
  ctl.syncService("default", "web");
  CHECK(c.store.resourceVersion() == rv);

  c.api_.modify(res("services"), "default", "web", [](Json& s) {
    s["spec"]["selector"] = {{"app", "web2"}};
    return true;
  });
  ctl.syncService("default", "web");
  CHECK(ips(endpointsOf(c, "web"), "addresses") == V{"10.244.1.3"});

  c.setLabels("a", {{"app", "web2"}});
  ctl.syncService("default", "web");
  CHECK(ips(endpointsOf(c, "web"), "addresses") == V{"10.244.1.2", "10.244.1.3"});

  c.deletePod("b");
  ctl.syncService("default", "web");
  CHECK(ips(endpointsOf(c, "web"), "addresses") == V{"10.244.1.2"});

  c.setLabels("a", {{"app", "none"}});
  ctl.syncService("default", "web");
  Json ep = endpointsOf(c, "web");
  CHECK_FALSE(ep.contains("subsets"));
}

TEST_CASE("Endpoints go with their Service - hand-written ones are left alone", "[services]") {
  MiniCluster c;
  c.createService("web", {{"app", "web"}}, kWebPorts);
  c.createPod("a", {{"app", "web"}}, "10.244.1.2", true);
  minikd::EndpointsController ctl(c.api_);
  ctl.syncService("default", "web");
  REQUIRE_FALSE(endpointsOf(c, "web").is_null());
  c.api_.remove(res("services"), "default", "web");
  ctl.syncService("default", "web");
  CHECK(endpointsOf(c, "web").is_null());

  // A Service without a selector: the user's Endpoints stay as written, also without a Service.
  c.createService("ext", nullptr, Json::array({{{"port", 80}}}));
  Json mine = {{"metadata", {{"name", "ext"}}},
               {"subsets", {{{"addresses", {{{"ip", "192.0.2.10"}}}}, {"ports", {{{"port", 80}}}}}}}};
  c.api_.create(res("endpoints"), "default", mine);
  int64_t rv = c.store.resourceVersion();
  ctl.syncService("default", "ext");
  CHECK(c.store.resourceVersion() == rv);
  c.api_.remove(res("services"), "default", "ext");
  rv = c.store.resourceVersion();
  ctl.syncService("default", "ext");
  CHECK(c.store.resourceVersion() == rv);
  CHECK(ips(endpointsOf(c, "ext"), "addresses") == V{"192.0.2.10"});
}

TEST_CASE("Endpoints controller reacts through watches within milliseconds", "[services]") {
  MiniCluster c;
  minikd::EndpointsController ctl(c.api_);
  std::stop_source stop;
  std::jthread runner([&] { ctl.run(stop.get_token()); });
  struct Stopper {
    std::stop_source& s;
    ~Stopper() { s.request_stop(); }
  } stopper{stop};

  c.createService("web", {{"app", "web"}}, kWebPorts);
  c.createPod("a", {{"app", "web"}}, "10.244.1.2", true);
  CHECK(waitFor([&] { return ips(endpointsOf(c, "web"), "addresses") == V{"10.244.1.2"}; }) <
        std::chrono::milliseconds(1000));

  c.setStatus("a", "10.244.1.2", false);
  auto took = waitFor([&] { return ips(endpointsOf(c, "web"), "notReadyAddresses") == V{"10.244.1.2"}; });
  CHECK(took < std::chrono::milliseconds(100));

  // Someone deletes the Endpoints: they come back.
  c.api_.remove(res("endpoints"), "default", "web");
  CHECK(waitFor([&] { return !endpointsOf(c, "web").is_null(); }) < std::chrono::milliseconds(1000));

  c.api_.remove(res("services"), "default", "web");
  CHECK(waitFor([&] { return endpointsOf(c, "web").is_null(); }) < std::chrono::milliseconds(1000));
}
