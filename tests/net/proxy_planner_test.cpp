// Golden tests of the service proxy planner: whole tables (fake backend dumps) and delta transactions.
// Address plan: service CIDR 10.96.0.0/16, pod CIDR 10.244.0.0/16, pods 10.244.1.x.
// Set MINIKD_UPDATE_GOLDEN=1 to rewrite the golden files after a deliberate change.
#include "net/proxy_planner.h"

#include "fakes/fake_nft_backend.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace minikd::net;
using Json = nlohmann::json;

namespace {

std::filesystem::path goldenDir() { return std::filesystem::path(__FILE__).parent_path() / "golden"; }

void checkGolden(const std::string& name, const std::string& text) {
  auto path = goldenDir() / name;
  if (std::getenv("MINIKD_UPDATE_GOLDEN")) {
    std::ofstream(path) << text;
    return;
  }
  std::ifstream in(path);
  INFO("golden file " << path.string());
  REQUIRE(in.good());
  std::stringstream want;
  want << in.rdbuf();
  CHECK(text == want.str());
}

Json service(const std::string& name, const std::string& ip, Json ports, const std::string& type = "ClusterIP") {
  return {{"metadata", {{"namespace", "default"}, {"name", name}}},
          {"spec", {{"type", type}, {"clusterIP", ip}, {"ports", ports}}}};
}

Json endpoint(const std::string& ip, bool ready = true) {
  return {{"addresses", {ip}}, {"conditions", {{"ready", ready}}}};
}

Json slice(const std::string& svc, const std::string& name, Json ports, Json endpoints) {
  return {{"metadata", {{"namespace", "default"}, {"name", name}, {"labels", {{"kubernetes.io/service-name", svc}}}}},
          {"addressType", "IPv4"},
          {"ports", ports},
          {"endpoints", endpoints}};
}

ProxySnapshot snapshot(const std::vector<Json>& services, const std::vector<Json>& slices) {
  ProxySnapshot snap;
  for (auto& s : services)
    if (auto info = parseService(s)) snap.services[info->ns + "/" + info->name] = *info;
  for (auto& s : slices)
    if (auto info = parseSlice(s)) snap.slices[info->ns + "/" + info->service].push_back(*info);
  return snap;
}

/// The table as text with endpoint-picks slots resolved: each `numgen … offset B vmap @endpoint-picks`
/// becomes the list of chains its N keys lead to (and checks that every key exists), and the
/// endpoint-picks map is left out, so that tables with different slot numbering compare equal.
std::string canonical(const FakeNftBackend& nft) {
  auto t = nft.table("minikd");
  auto& picks = t.elements["endpoint-picks"];
  size_t used = 0;
  std::ostringstream out;
  for (auto& [name, c] : t.chains) {
    out << "chain " << name << "\n";
    for (auto& r : c.rules) {
      auto* vm = r.stmts.empty() ? nullptr : std::get_if<VmapLookup>(&r.stmts.back());
      if (!vm || vm->key != VmapKey::Numgen) {
        out << "  " << formatRule(r) << "\n";
        continue;
      }
      out << "  pick";
      for (uint32_t i = 0; i < vm->mod; ++i) {
        auto it = picks.find({{NftKeyType::Mark, vm->offset + i}});
        REQUIRE((it != picks.end()));
        out << " " << formatVerdict(*it->second);
        ++used;
      }
      out << "\n";
    }
  }
  CHECK(used == picks.size());
  for (auto& [name, els] : t.elements)
    if (name != "endpoint-picks")
      for (auto& [k, v] : els) out << name << ": " << formatElement({k, v}) << "\n";
  for (auto& [name, s] : t.sets) out << "set " << name << "\n";
  return out.str();
}

/// Plans a full sync of `snap`, applies it to a fresh fake, returns the canonical text.
std::string fullCanonical(const ProxySnapshot& snap) {
  ProxyPlanner planner(ProxyConfig{});
  FakeNftBackend nft;
  nft.apply(planner.planFull(snap));
  planner.commit();
  return canonical(nft);
}

/// Plans a full sync of `snap`, applies it to a fresh fake, returns the dump.
std::string fullDump(const ProxySnapshot& snap) {
  ProxyPlanner planner(ProxyConfig{});
  FakeNftBackend nft;
  nft.apply(planner.planFull(snap));
  planner.commit();
  return nft.dump("minikd");
}

const Json kWebPorts = Json::array({{{"name", "http"}, {"protocol", "TCP"}, {"port", 80}, {"targetPort", 8080}}});
const Json kWebSlicePorts = Json::array({{{"name", "http"}, {"protocol", "TCP"}, {"port", 8080}}});

}  // namespace

TEST_CASE("proxy planner: ClusterIP with two endpoints", "[net][proxy]") {
  auto snap = snapshot({service("web", "10.96.0.42", kWebPorts)},
                       {slice("web", "web-abc", kWebSlicePorts, {endpoint("10.244.1.5"), endpoint("10.244.1.6")})});
  checkGolden("proxy_clusterip.nft", fullDump(snap));
}

TEST_CASE("proxy planner: multiple ports, TCP and UDP", "[net][proxy]") {
  Json ports = Json::array({{{"name", "dns"}, {"protocol", "UDP"}, {"port", 53}, {"targetPort", 5353}},
                            {{"name", "dns-tcp"}, {"protocol", "TCP"}, {"port", 53}, {"targetPort", 5353}}});
  Json slice_ports = Json::array({{{"name", "dns"}, {"protocol", "UDP"}, {"port", 5353}},
                                  {{"name", "dns-tcp"}, {"protocol", "TCP"}, {"port", 5353}}});
  auto snap = snapshot({service("dns", "10.96.0.10", ports)},
                       {slice("dns", "dns-1", slice_ports, {endpoint("10.244.1.9")})});
  checkGolden("proxy_multiport.nft", fullDump(snap));
}

TEST_CASE("proxy planner: named targetPort resolved per pod in the slices", "[net][proxy]") {
  Json ports = Json::array({{{"name", "http"}, {"port", 80}, {"targetPort", "web"}}});
  // Two slices: the pods resolved the named port "web" to different numbers.
  auto snap = snapshot(
      {service("api", "10.96.0.50", ports)},
      {slice("api", "api-1", Json::array({{{"name", "http"}, {"port", 8080}}}), {endpoint("10.244.1.7")}),
       slice("api", "api-2", Json::array({{{"name", "http"}, {"port", 9090}}}), {endpoint("10.244.1.8")})});
  checkGolden("proxy_named_port.nft", fullDump(snap));
}

TEST_CASE("proxy planner: NodePort", "[net][proxy]") {
  Json ports = Json::array({{{"name", "http"}, {"port", 80}, {"targetPort", 8080}, {"nodePort", 30080}}});
  auto snap = snapshot({service("web", "10.96.0.42", ports, "NodePort"),
                        service("empty", "10.96.0.43", Json::array({{{"port", 81}, {"nodePort", 30081}}}), "NodePort")},
                       {slice("web", "web-abc", kWebSlicePorts, {endpoint("10.244.1.5")})});
  checkGolden("proxy_nodeport.nft", fullDump(snap));
}

TEST_CASE("proxy planner: no ready endpoints rejects", "[net][proxy]") {
  auto snap = snapshot({service("web", "10.96.0.42", kWebPorts)},
                       {slice("web", "web-abc", kWebSlicePorts, {endpoint("10.244.1.5", false)})});
  checkGolden("proxy_no_endpoints.nft", fullDump(snap));
}

TEST_CASE("proxy planner: session affinity ClientIP", "[net][proxy]") {
  Json svc = service("web", "10.96.0.42", kWebPorts);
  svc["spec"]["sessionAffinity"] = "ClientIP";
  svc["spec"]["sessionAffinityConfig"] = {{"clientIP", {{"timeoutSeconds", 600}}}};
  auto snap = snapshot({svc}, {slice("web", "web-abc", kWebSlicePorts, {endpoint("10.244.1.5"), endpoint("10.244.1.6")})});
  checkGolden("proxy_affinity.nft", fullDump(snap));
}

TEST_CASE("proxy planner: headless and ExternalName services are ignored", "[net][proxy]") {
  Json ext = service("ext", "", kWebPorts, "ExternalName");
  auto snap = snapshot({service("db", "None", kWebPorts), ext},
                       {slice("db", "db-1", kWebSlicePorts, {endpoint("10.244.1.5")})});
  CHECK(snap.services.empty());
  CHECK(fullDump(snap) == fullDump(ProxySnapshot{}));
  checkGolden("proxy_empty.nft", fullDump(snap));
}

TEST_CASE("proxy planner: terminating endpoints are a fallback only", "[net][proxy]") {
  ServicePortInfo port{"http", L4Proto::Tcp, 80, 0};
  Json term = {{"addresses", {"10.244.1.9"}}, {"conditions", {{"ready", false}, {"serving", true}, {"terminating", true}}}};
  auto with_ready = parseSlice(slice("web", "s", kWebSlicePorts, {endpoint("10.244.1.5"), term}));
  auto only_term = parseSlice(slice("web", "s", kWebSlicePorts, {term}));
  REQUIRE(with_ready);
  REQUIRE(only_term);
  auto a = selectEndpoints(port, {*with_ready});
  REQUIRE(a.size() == 1);
  CHECK(formatIpv4Addr(a[0].ip) == "10.244.1.5");
  auto b = selectEndpoints(port, {*only_term});
  REQUIRE(b.size() == 1);
  CHECK(formatIpv4Addr(b[0].ip) == "10.244.1.9");
}

TEST_CASE("proxy planner: partial updates hold only the delta", "[net][proxy]") {
  ProxyPlanner planner(ProxyConfig{});
  FakeNftBackend nft;
  std::vector<Json> services;
  for (int i = 0; i < 50; ++i)
    services.push_back(service("svc" + std::to_string(i), "10.96.1." + std::to_string(i + 1), kWebPorts));
  std::vector<Json> slices;
  for (int i = 0; i < 50; ++i)
    slices.push_back(slice("svc" + std::to_string(i), "svc" + std::to_string(i) + "-s", kWebSlicePorts,
                           {endpoint("10.244.2." + std::to_string(i + 1)), endpoint("10.244.3." + std::to_string(i + 1))}));
  nft.apply(planner.planFull(snapshot(services, slices)));
  planner.commit();

  auto step = [&](const std::string& golden, const std::string& changed) {
    auto snap = snapshot(services, slices);
    auto tx = planner.planChanges(snap, {changed});
    checkGolden(golden, formatTransaction(tx));
    nft.apply(tx);
    planner.commit();
    // The incremental result equals a fresh full sync of the same state.
    CHECK(canonical(nft) == fullCanonical(snap));
    return tx.ops.size();
  };

  SECTION("an endpoint changes, then leaves, then the service scales to zero, then is deleted") {
    slices[7]["endpoints"][1] = endpoint("10.244.4.8");
    step("proxy_delta_endpoint_changed.txt", "default/svc7");
    slices[7]["endpoints"][1]["conditions"]["ready"] = false;
    step("proxy_delta_endpoint_not_ready.txt", "default/svc7");
    slices[7]["endpoints"][0]["conditions"]["ready"] = false;
    step("proxy_delta_scaled_to_zero.txt", "default/svc7");
    slices[7]["endpoints"][0]["conditions"]["ready"] = true;
    step("proxy_delta_back_to_one.txt", "default/svc7");
    services.erase(services.begin() + 7);
    step("proxy_delta_service_deleted.txt", "default/svc7");
  }
  SECTION("a new service reuses nothing of the others") {
    services.push_back(service("new", "10.96.2.1", kWebPorts, "NodePort"));
    services.back()["spec"]["ports"][0]["nodePort"] = 30123;
    slices.push_back(slice("new", "new-s", kWebSlicePorts, {endpoint("10.244.5.1")}));
    step("proxy_delta_service_added.txt", "default/new");
  }
  SECTION("an unchanged service gives an empty transaction") {
    auto tx = planner.planChanges(snapshot(services, slices), {"default/svc3"});
    CHECK(tx.empty());
  }
  SECTION("a refused batch leads to a full resync") {
    slices[1]["endpoints"][0] = endpoint("10.244.9.9");
    nft.failNext(1);
    CHECK_THROWS(nft.apply(planner.planChanges(snapshot(services, slices), {"default/svc1"})));
    planner.reset();
    CHECK_FALSE(planner.hasApplied());
    nft.apply(planner.planFull(snapshot(services, slices)));
    planner.commit();
    CHECK(canonical(nft) == fullCanonical(snapshot(services, slices)));
  }
}

TEST_CASE("proxy planner: endpoint-picks slots are reused after a delete", "[net][proxy]") {
  SlotAllocator slots;
  CHECK(slots.slotFor("a") == 1);
  CHECK(slots.slotFor("b") == 2);
  CHECK(slots.slotFor("a") == 1);
  slots.release("a");
  CHECK(slots.slotFor("c") == 1);
  CHECK(slots.size() == 2);
}

TEST_CASE("proxy planner: invalid CIDRs are refused", "[net][proxy]") {
  ProxyConfig c;
  c.service_cidr = "10.96.0.1/16";
  CHECK_THROWS_WITH(planBaseRules(c), Catch::Contains("10.96.0.1/16"));
}
