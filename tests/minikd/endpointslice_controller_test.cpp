// The EndpointSlice controller (and its mirroring of hand-written Endpoints), against an in-memory
// store. Address plan: pods 10.244.1.x / 10.244.2.x; services from 10.96.0.0/16.
#include "minikd/endpoint_planner.h"
#include "minikd/endpointslice_controller.h"
#include "services_fixture.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace services_test;

namespace {

std::vector<Json> slicesOf(MiniCluster& c, const std::string& service) {
  api::Filter f;
  f.resource = "endpointslices.discovery.k8s.io";
  f.ns = "default";
  f.labels = api::LabelSelector::fromMap({{minikd::kServiceNameLabel, service}});
  std::vector<Json> out;
  for (auto& p : c.store.list(f).items) out.push_back(*p);
  return out;
}

/// The endpoint of `slices` whose targetRef names `pod` (null if none).
Json endpointFor(const std::vector<Json>& slices, const std::string& pod) {
  for (const auto& s : slices)
    for (const auto& e : s["endpoints"])
      if (e.contains("targetRef") && e["targetRef"]["name"] == pod) return e;
  return Json();
}

size_t endpointCount(const std::vector<Json>& slices) {
  size_t n = 0;
  for (const auto& s : slices) n += s["endpoints"].size();
  return n;
}

const Json kWebPorts = Json::array({{{"name", "http"}, {"port", 80}, {"targetPort", 8080}}});

}  // namespace

TEST_CASE("Slices: conditions for ready, not-ready and terminating pods - labels and owner", "[services]") {
  MiniCluster c;
  Json svc = c.createService("web", {{"app", "web"}}, kWebPorts);
  c.createPod("ready", {{"app", "web"}}, "10.244.1.2", true);
  c.createPod("notready", {{"app", "web"}}, "10.244.1.3", false);
  c.createPod("dying", {{"app", "web"}}, "10.244.1.4", true);
  c.createPod("noip", {{"app", "web"}}, "", true);
  c.deletePod("dying");
  minikd::EndpointSliceController ctl(c.api_);
  ctl.syncService("default", "web");

  auto slices = slicesOf(c, "web");
  REQUIRE(slices.size() == 1);
  const Json& s = slices[0];
  CHECK(s["addressType"] == "IPv4");
  CHECK(s["metadata"]["name"].get<std::string>().rfind("web-", 0) == 0);
  CHECK(s["metadata"]["labels"][minikd::kSliceManagedByLabel] == minikd::kSliceControllerName);
  CHECK(s["metadata"]["labels"]["team"] == "x");
  const Json& owner = s["metadata"]["ownerReferences"][0];
  CHECK(owner["kind"] == "Service");
  CHECK(owner["name"] == "web");
  CHECK(owner["uid"] == svc["metadata"]["uid"]);
  CHECK(owner["controller"] == true);
  CHECK(s["ports"] == Json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}));
  CHECK(s["endpoints"].size() == 3);

  Json ready = endpointFor(slices, "ready");
  CHECK(ready["addresses"] == Json::array({"10.244.1.2"}));
  CHECK(ready["conditions"] == Json({{"ready", true}, {"serving", true}, {"terminating", false}}));
  CHECK(ready["nodeName"] == "node1");
  CHECK(ready["targetRef"]["kind"] == "Pod");
  CHECK(endpointFor(slices, "notready")["conditions"] ==
        Json({{"ready", false}, {"serving", false}, {"terminating", false}}));
  CHECK(endpointFor(slices, "dying")["conditions"] == Json({{"ready", false}, {"serving", true}, {"terminating", true}}));
  CHECK(endpointFor(slices, "noip").is_null());
}

TEST_CASE("Slices: a Service with no pods has one empty slice - updates happen in place, only on change",
          "[services]") {
  MiniCluster c;
  c.createService("web", {{"app", "web"}}, kWebPorts);
  minikd::EndpointSliceController ctl(c.api_);
  ctl.syncService("default", "web");
  auto slices = slicesOf(c, "web");
  REQUIRE(slices.size() == 1);
  CHECK(slices[0]["endpoints"].empty());
  std::string name = slices[0]["metadata"]["name"];

  c.createPod("a", {{"app", "web"}}, "10.244.1.2", true);
  ctl.syncService("default", "web");
  slices = slicesOf(c, "web");
  REQUIRE(slices.size() == 1);
  CHECK(slices[0]["metadata"]["name"] == name);
  CHECK(endpointCount(slices) == 1);

  int64_t rv = c.store.resourceVersion();
  ctl.syncService("default", "web");
  CHECK(c.store.resourceVersion() == rv);

  c.setStatus("a", "10.244.1.2", false);
  ctl.syncService("default", "web");
  slices = slicesOf(c, "web");
  CHECK(slices[0]["metadata"]["name"] == name);
  CHECK(endpointFor(slices, "a")["conditions"]["ready"] == false);
}

TEST_CASE("Slices: named ports split pods by resolved port - publishNotReadyAddresses marks all ready",
          "[services]") {
  MiniCluster c;
  c.createService("api", {{"app", "api"}}, Json::array({{{"name", "http"}, {"port", 80}, {"targetPort", "web"}}}),
                  {{"publishNotReadyAddresses", true}});
  c.createPod("a", {{"app", "api"}}, "10.244.1.2", false, Json::array({{{"name", "web"}, {"containerPort", 8080}}}));
  c.createPod("b", {{"app", "api"}}, "10.244.1.3", true, Json::array({{{"name", "web"}, {"containerPort", 9090}}}));
  minikd::EndpointSliceController ctl(c.api_);
  ctl.syncService("default", "api");
  auto slices = slicesOf(c, "api");
  REQUIRE(slices.size() == 2);
  std::map<int, std::string> pod_by_port;
  for (const auto& s : slices) {
    REQUIRE(s["endpoints"].size() == 1);
    pod_by_port[s["ports"][0]["port"].get<int>()] = s["endpoints"][0]["targetRef"]["name"];
  }
  CHECK(pod_by_port == std::map<int, std::string>{{8080, "a"}, {9090, "b"}});
  Json a = endpointFor(slices, "a");
  CHECK(a["conditions"]["ready"] == true);
  CHECK(a["conditions"]["serving"] == false);
}

TEST_CASE("Slices: selector and label changes, pod and Service deletion", "[services]") {
  MiniCluster c;
  c.createService("web", {{"app", "web"}}, kWebPorts);
  c.createPod("a", {{"app", "web"}}, "10.244.1.2", true);
  c.createPod("b", {{"app", "blue"}}, "10.244.1.3", true);
  minikd::EndpointSliceController ctl(c.api_);
  ctl.syncService("default", "web");
  CHECK_FALSE(endpointFor(slicesOf(c, "web"), "a").is_null());

  c.api_.modify(res("services"), "default", "web", [](Json& s) {
    s["spec"]["selector"] = {{"app", "blue"}};
    return true;
  });
  ctl.syncService("default", "web");
  auto slices = slicesOf(c, "web");
  CHECK(endpointFor(slices, "a").is_null());
  CHECK_FALSE(endpointFor(slices, "b").is_null());

  c.setLabels("a", {{"app", "blue"}});
  ctl.syncService("default", "web");
  CHECK(endpointCount(slicesOf(c, "web")) == 2);

  // A pod deleted for good (not just marked) leaves the slice.
  c.store.remove("pods", "default", "b");
  ctl.syncService("default", "web");
  CHECK(endpointFor(slicesOf(c, "web"), "b").is_null());

  c.api_.remove(res("services"), "default", "web");
  ctl.syncService("default", "web");
  CHECK(slicesOf(c, "web").empty());
}

TEST_CASE("Slices: more than 100 endpoints are split across slices", "[services]") {
  MiniCluster c;
  c.createService("big", {{"app", "big"}}, kWebPorts);
  for (int i = 0; i < 130; ++i)
    c.createPod("p" + std::to_string(i), {{"app", "big"}}, "10.244." + std::to_string(1 + i / 200) + "." + std::to_string(2 + i % 200), true);
  minikd::EndpointSliceController ctl(c.api_);
  ctl.syncService("default", "big");
  auto slices = slicesOf(c, "big");
  REQUIRE(slices.size() == 2);
  std::vector<size_t> sizes{slices[0]["endpoints"].size(), slices[1]["endpoints"].size()};
  std::sort(sizes.begin(), sizes.end());
  CHECK(sizes == std::vector<size_t>{30, 100});
  int64_t rv = c.store.resourceVersion();
  ctl.syncService("default", "big");
  CHECK(c.store.resourceVersion() == rv);
}

TEST_CASE("Slices: hand-written Endpoints of a selector-less Service are mirrored", "[services]") {
  MiniCluster c;
  c.createService("ext", nullptr, Json::array({{{"name", "http"}, {"port", 80}}}));
  Json ep = {{"metadata", {{"name", "ext"}, {"labels", {{"owner", "me"}}}}},
             {"subsets",
              {{{"addresses", {{{"ip", "192.0.2.10"}}}},
                {"notReadyAddresses", {{{"ip", "192.0.2.11"}}}},
                {"ports", {{{"name", "http"}, {"port", 8080}}}}}}}};
  Json stored = c.api_.create(res("endpoints"), "default", ep);
  minikd::EndpointSliceController ctl(c.api_);
  ctl.syncService("default", "ext");
  auto slices = slicesOf(c, "ext");
  REQUIRE(slices.size() == 1);
  const Json s = slices[0];
  CHECK(s["metadata"]["labels"][minikd::kSliceManagedByLabel] == minikd::kMirrorControllerName);
  CHECK(s["metadata"]["labels"]["owner"] == "me");
  CHECK(s["metadata"]["ownerReferences"][0]["kind"] == "Endpoints");
  CHECK(s["metadata"]["ownerReferences"][0]["uid"] == stored["metadata"]["uid"]);
  CHECK(s["ports"] == Json::array({{{"name", "http"}, {"port", 8080}, {"protocol", "TCP"}}}));
  REQUIRE(s["endpoints"].size() == 2);
  CHECK(s["endpoints"][0]["addresses"][0] == "192.0.2.10");
  CHECK(s["endpoints"][0]["conditions"]["ready"] == true);
  CHECK(s["endpoints"][1]["conditions"]["ready"] == false);

  int64_t rv = c.store.resourceVersion();
  ctl.syncService("default", "ext");
  CHECK(c.store.resourceVersion() == rv);

  c.api_.modify(res("endpoints"), "default", "ext", [](Json& e) {
    e["subsets"][0]["addresses"][0]["ip"] = "192.0.2.20";
    return true;
  });
  ctl.syncService("default", "ext");
  slices = slicesOf(c, "ext");
  REQUIRE(slices.size() == 1);
  CHECK(slices[0]["metadata"]["name"] == s["metadata"]["name"]);
  REQUIRE(slices[0]["endpoints"].size() == 2);
  CHECK(slices[0]["endpoints"][0]["addresses"][0] == "192.0.2.11");
  CHECK(slices[0]["endpoints"][1]["addresses"][0] == "192.0.2.20");
  CHECK(slices[0]["endpoints"][1]["conditions"]["ready"] == true);

  // Giving the Service a selector hands it to the controller; deleting it removes every slice.
  c.api_.modify(res("services"), "default", "ext", [](Json& svc) {
    svc["spec"]["selector"] = {{"app", "ext"}};
    return true;
  });
  ctl.syncService("default", "ext");
  slices = slicesOf(c, "ext");
  REQUIRE(slices.size() == 1);
  CHECK(slices[0]["metadata"]["labels"][minikd::kSliceManagedByLabel] == minikd::kSliceControllerName);
  c.api_.remove(res("services"), "default", "ext");
  ctl.syncService("default", "ext");
  CHECK(slicesOf(c, "ext").empty());
}

TEST_CASE("Slice controller: a readiness flip is in the slice within 100 ms", "[services]") {
  MiniCluster c;
  minikd::EndpointSliceController ctl(c.api_);
  std::stop_source stop;
  std::jthread runner([&] { ctl.run(stop.get_token()); });
  struct Stopper {
    std::stop_source& s;
    ~Stopper() { s.request_stop(); }
  } stopper{stop};

  c.createService("web", {{"app", "web"}}, kWebPorts);
  c.createPod("a", {{"app", "web"}}, "10.244.1.2", true);
  c.createPod("b", {{"app", "web"}}, "10.244.1.3", true);
  auto readyOf = [&](const std::string& pod) {
    Json e = endpointFor(slicesOf(c, "web"), pod);
    return e.is_null() ? Json() : e["conditions"]["ready"];
  };
  REQUIRE(waitFor([&] { return readyOf("a") == true && readyOf("b") == true; }) < std::chrono::milliseconds(1000));

  std::vector<std::chrono::microseconds> times;
  for (int i = 0; i < 20; ++i) {
    bool ready = i % 2 == 1;
    c.setStatus("a", "10.244.1.2", ready);
    times.push_back(waitFor([&] { return readyOf("a") == ready; }));
  }
  std::sort(times.begin(), times.end());
  INFO("readiness flip → slice: p50 " << times[times.size() / 2].count() << " us, max " << times.back().count() << " us");
  CHECK(times.back() < std::chrono::milliseconds(100));
  WARN("readiness flip → slice over 20 flips: p50 " << times[times.size() / 2].count() << " us, max "
                                                   << times.back().count() << " us");

  // Label change, deletion and a user deleting our slice are all followed.
  c.setLabels("b", {{"app", "other"}});
  CHECK(waitFor([&] { return readyOf("b").is_null(); }) < std::chrono::milliseconds(100));
  auto slices = slicesOf(c, "web");
  REQUIRE(slices.size() == 1);
  c.api_.remove(res("endpointslices.discovery.k8s.io"), "default", slices[0]["metadata"]["name"]);
  CHECK(waitFor([&] { return !readyOf("a").is_null(); }) < std::chrono::milliseconds(1000));
  c.api_.remove(res("services"), "default", "web");
  CHECK(waitFor([&] { return slicesOf(c, "web").empty(); }) < std::chrono::milliseconds(1000));
}
