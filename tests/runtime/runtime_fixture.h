#pragma once
// Shared set-up for the runtime unit tests: an in-memory store, the Api with graceful pod deletion,
// the fakes (pod network, launcher, clock, prober) and a PodWorker over them.
#include "api/api.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_pod_network.h"
#include "fakes/fake_process_launcher.h"
#include "fakes/fake_prober.h"
#include "net/ipam.h"
#include "runtime/pod_worker.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

namespace minikd::runtime::testing {

using api::Json;
using namespace std::chrono_literals;

/// A temporary directory removed at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    std::random_device rd;
    path = (std::filesystem::temp_directory_path() / ("minikd-rt-" + std::to_string(rd()))).string();
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline const api::ResourceInfo& pods() { return *api::findResource("", "pods"); }

struct RuntimeFixture {
  TempDir dir;
  api::Store store{":memory:"};
  api::Api api{store, api::Api::Options{.graceful_pod_deletion = true, .node_name = "node1"}};
  net::FakePodNetwork network;
  net::Ipam ipam = net::Ipam::forGateway("10.244.0.1", 16);
  FakeProcessLauncher launcher;
  FakeClock clock;
  FakeProber prober;
  RuntimeConfig config = makeConfig();
  bool namespaced = createNamespace();
  std::unique_ptr<PodWorker> worker = std::make_unique<PodWorker>(api, network, ipam, launcher, clock, config, &prober);

  bool createNamespace() {
    api.create(*api::findResource("", "namespaces"), "",
               {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "default"}}}});
    return true;
  }

  RuntimeConfig makeConfig() {
    RuntimeConfig c;
    c.node_name = "node1";
    c.state_dir = dir.path;
    c.host_ip = "192.168.1.5";
    return c;
  }

  /// A pod with one container per entry of `containers` (name → command).
  static Json podManifest(const std::string& name, std::vector<std::pair<std::string, std::vector<std::string>>> containers) {
    Json spec = {{"containers", Json::array()}};
    for (auto& [cname, cmd] : containers) spec["containers"].push_back({{"name", cname}, {"image", "busybox"}, {"command", cmd}});
    return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}, {"namespace", "default"}}}, {"spec", spec}};
  }
  Json create(Json pod) { return api.create(pods(), "default", std::move(pod)); }
  Json get(const std::string& name) { return api.get(pods(), "default", name); }
  std::optional<Json> find(const std::string& name) { return store.get("pods", "default", name); }
  void sync(int times = 1) {
    for (int i = 0; i < times; ++i) worker->syncOnce();
  }
  void advance(std::chrono::milliseconds d) {
    clock.advance(d);
    sync();
  }
  static Json containerStatus(const Json& pod, const std::string& name, const char* field = "containerStatuses") {
    for (const auto& cs : pod["status"].value(field, Json::array()))
      if (cs["name"] == name) return cs;
    return Json();
  }
  static std::string condition(const Json& pod, const std::string& type) {
    for (const auto& c : pod["status"].value("conditions", Json::array()))
      if (c["type"] == type) return c["status"];
    return "";
  }
  /// Events of pod `name` with `reason`: their count summed.
  int events(const std::string& name, const std::string& reason) {
    api::Filter f;
    f.resource = "events";
    int n = 0;
    for (const auto& e : store.list(f).items)
      if ((*e)["involvedObject"]["name"] == name && (*e)["reason"] == reason) n += (*e).value("count", 1);
    return n;
  }
};

}  // namespace minikd::runtime::testing
