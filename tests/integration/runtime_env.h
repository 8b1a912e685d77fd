#pragma once
// The fixture of the runtime's root integration tests: a real PodWorker over a real LinuxPodNetwork
// and the Linux process launcher, against an in-memory store, on a bridge of its own.
//
// Address plan (unique per test process, `tag` per test file):
//   bridge        "mk<tag>" + PID in hex, gateway 10.<octet>.<PID % 250>.1/24
//   netns prefix  "mk<tag><pid hex>-"   → /run/netns/mk<tag><pid>-<sandbox id>
//   veth prefix   <tag> + 4 hex of the PID
// Traffic stays between the test's own pods and the host end of its bridge. shutdown() (also on a
// failed construction and in the destructor) stops the worker and every pod and removes the bridge,
// every namespace and the state dir.
#include "api/api.h"
#include "net/ipam.h"
#include "net/pod_network_linux.h"
#include "runtime/pod_worker.h"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>

namespace minikd::testing {

inline std::string hexOf(unsigned v, int width) {
  char b[16];
  std::snprintf(b, sizeof b, "%0*x", width, v);
  return b;
}

/// Ipam is neither copyable nor movable: built in place from the gateway.
struct IpamHolder {
  net::Ipam ipam;
  explicit IpamHolder(const std::string& gw) : ipam(net::Ipam::forGateway(gw, 24)) {}
};

struct RuntimeEnv {
  std::string state_dir;
  std::string gateway;
  api::Store store{":memory:"};
  api::Api api{store, api::Api::Options{.graceful_pod_deletion = true, .node_name = "node1"}};
  net::NetworkConfig net_config;
  std::unique_ptr<net::LinuxPodNetwork> network;
  std::unique_ptr<IpamHolder> ipam;
  std::unique_ptr<runtime::ProcessLauncher> launcher = runtime::makeLinuxProcessLauncher();
  runtime::SystemClock clock;
  std::unique_ptr<runtime::PodWorker> worker;
  std::jthread thread;

  /// `tag`: one letter naming the test file's links and namespaces; `octet`: its 10.<octet>/16;
  /// `tune` adjusts the worker's configuration (tick 20 ms by default).
  RuntimeEnv(const std::string& tag, int octet, const std::function<void(runtime::RuntimeConfig&)>& tune = {}) {
    REQUIRE(::geteuid() == 0);
    unsigned pid = static_cast<unsigned>(::getpid());
    state_dir = (std::filesystem::temp_directory_path() / ("minikd-int-" + tag + std::to_string(pid))).string();
    std::filesystem::create_directories(state_dir);
    gateway = "10." + std::to_string(octet) + "." + std::to_string(pid % 250) + ".1";
    net_config.bridge = "mk" + tag + hexOf(pid, 6);
    net_config.gateway = gateway;
    net_config.prefix_len = 24;
    net_config.netns_prefix = "mk" + tag + hexOf(pid, 6) + "-";
    net_config.veth_prefix = tag + hexOf(pid & 0xffff, 4);
    network = std::make_unique<net::LinuxPodNetwork>(net_config);
    try {
      network->ensureBridge();
      ipam = std::make_unique<IpamHolder>(gateway);
      api.create(*api::findResource("", "namespaces"), "",
                 {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "default"}}}});
      runtime::RuntimeConfig c;
      c.node_name = "node1";
      c.state_dir = state_dir;
      c.host_ip = gateway;
      c.tick = std::chrono::milliseconds(20);
      if (tune) tune(c);
      worker = std::make_unique<runtime::PodWorker>(api, *network, ipam->ipam, *launcher, clock, c);
      worker->cleanupLeftovers();
      thread = std::jthread([this](std::stop_token st) { worker->run(st); });
    } catch (...) {
      shutdown();
      throw;
    }
  }
  RuntimeEnv(const RuntimeEnv&) = delete;
  RuntimeEnv& operator=(const RuntimeEnv&) = delete;
  ~RuntimeEnv() { shutdown(); }

  void shutdown() {
    if (thread.joinable()) {
      thread.request_stop();
      thread.join();
    }
    if (worker) worker->stopAll();
    try {
      if (network) network->removeAll();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cleanup of %s failed: %s\n", net_config.bridge.c_str(), e.what());
    }
    std::error_code ec;
    std::filesystem::remove_all(state_dir, ec);
  }
};

}  // namespace minikd::testing
