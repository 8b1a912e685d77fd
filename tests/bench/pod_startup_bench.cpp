// Pod startup: 100 pods (each `sleep`) created at once; time from create until a watch sees each
// Running with a podIP (p50, p99, total), minikd's RSS with 0 and 100 pods, and, as the same-run
// baseline, the same sandbox set-up done by `ip netns/link/addr/route` commands.
// Needs root. Own bridge "mkb<pid>", subnet 10.252.0.0/16, removed at the end.
#include "api/api.h"
#include "net/ipam.h"
#include "net/pod_network_linux.h"
#include "runtime/pod_worker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

using namespace minikd;
using api::Json;
using Clock = std::chrono::steady_clock;

namespace {

long rssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

/// Shell baseline: per pod `ip netns add`, veth pair, move, addresses, up, default route; then removal.
double shellBaselinePerPod(const std::string& tag, int n) {
  std::string bridge = "mkbs" + tag;
  std::system(("ip link add " + bridge + " type bridge && ip addr add 10.253.0.1/16 dev " + bridge + " && ip link set " +
               bridge + " up").c_str());
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    std::string ns = "mkbs" + tag + "-" + std::to_string(i), veth = "vb" + tag + std::to_string(i);
    std::string ip = "10.253.1." + std::to_string(i + 2);
    std::string cmd = "ip netns add " + ns + " && ip link add " + veth + " type veth peer name eth0 netns " + ns +
                      " && ip link set " + veth + " master " + bridge + " up && ip -n " + ns + " addr add " + ip +
                      "/16 dev eth0 && ip -n " + ns + " link set eth0 up && ip -n " + ns + " link set lo up && ip -n " +
                      ns + " route add default via 10.253.0.1";
    std::system(cmd.c_str());
  }
  double per_pod = ms(Clock::now() - t0) / n;
  for (int i = 0; i < n; ++i)
    std::system(("ip netns del mkbs" + tag + "-" + std::to_string(i) + " 2>/dev/null; ip link del vb" + tag +
                 std::to_string(i) + " 2>/dev/null").c_str());
  std::system(("ip link del " + bridge).c_str());
  return per_pod;
}

}  // namespace

int main() {
  if (::geteuid() != 0) {
    std::cerr << "pod_startup_bench needs root\n";
    return 1;
  }
  const int kPods = 100;
  char tag[8];
  std::snprintf(tag, sizeof tag, "%04x", static_cast<unsigned>(::getpid()) & 0xffff);
  std::string state_dir = "/tmp/minikd-bench-" + std::string(tag);
  std::filesystem::create_directories(state_dir);

  api::Store store(":memory:");
  api::Api api(store, {.graceful_pod_deletion = true, .node_name = "node1"});
  api.create(*api::findResource("", "namespaces"), "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "default"}}}});
  net::NetworkConfig nc;
  nc.bridge = std::string("mkb") + tag;
  nc.gateway = "10.252.0.1";
  nc.prefix_len = 16;
  nc.netns_prefix = std::string("mkb") + tag + "-";
  nc.veth_prefix = std::string("b") + tag;
  net::LinuxPodNetwork network(nc);
  network.ensureBridge();
  net::Ipam ipam = net::Ipam::forGateway(nc.gateway, 16);
  auto launcher = runtime::makeLinuxProcessLauncher();
  runtime::SystemClock clock;
  runtime::RuntimeConfig rc;
  rc.state_dir = state_dir;
  rc.host_ip = nc.gateway;
  rc.tick = std::chrono::milliseconds(20);
  rc.shutdown_grace = std::chrono::seconds(2);
  runtime::PodWorker worker(api, network, ipam, *launcher, clock, rc);
  std::jthread thread([&](std::stop_token st) { worker.run(st); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  long rss0 = rssKb();

  api::Filter f;
  f.resource = "pods";
  auto watch = store.watch(f, store.resourceVersion());
  std::map<std::string, Clock::time_point> created;
  const auto& pods = *api::findResource("", "pods");
  auto t0 = Clock::now();
  for (int i = 0; i < kPods; ++i) {
    std::string name = "p" + std::to_string(i);
    created[name] = Clock::now();
    api.create(pods, "default",
               {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", "host"}, {"command", {"/bin/sleep", "1000"}}}}}}}});
  }
  std::map<std::string, double> latency;
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (latency.size() < static_cast<size_t>(kPods) && Clock::now() < deadline) {
    auto ev = watch->next(std::chrono::milliseconds(500));
    if (!ev) continue;
    const Json& p = *ev->object;
    std::string name = p["metadata"]["name"];
    const Json st = p.value("status", Json::object());
    if (!latency.count(name) && st.value("phase", "") == "Running" && st.contains("podIP"))
      latency[name] = ms(Clock::now() - created[name]);
  }
  double total = ms(Clock::now() - t0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  long rss100 = rssKb();
  std::vector<double> v;
  for (auto& [k, l] : latency) v.push_back(l);
  std::sort(v.begin(), v.end());
  auto pct = [&](double q) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))]; };

  // One pod on the now-busy-free node: single-pod latency.
  created["single"] = Clock::now();
  api.create(pods, "default", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "single"}}},
                               {"spec", {{"containers", {{{"name", "c"}, {"image", "host"}, {"command", {"/bin/sleep", "1000"}}}}}}}});
  double single = -1;
  while (single < 0 && Clock::now() < deadline + std::chrono::seconds(10)) {
    auto ev = watch->next(std::chrono::milliseconds(500));
    if (!ev) continue;
    const Json& p = *ev->object;
    const Json st = p.value("status", Json::object());
    if (p["metadata"]["name"] == "single" && st.value("phase", "") == "Running" && st.contains("podIP"))
      single = ms(Clock::now() - created["single"]);
  }
  thread.request_stop();
  thread.join();
  worker.stopAll();
  network.removeAll();
  std::filesystem::remove_all(state_dir);

  double shell = shellBaselinePerPod(tag, 20);
  std::printf("pods running: %zu/%d\n", v.size(), kPods);
  std::printf("create→Running+podIP: p50 %.1f ms, p99 %.1f ms, total for %d pods %.0f ms (%.2f ms/pod)\n", pct(0.5),
              pct(0.99), kPods, total, total / kPods);
  std::printf("single pod on an idle node: %.1f ms\n", single);
  std::printf("RSS: %ld KiB with 0 pods, %ld KiB with %d pods\n", rss0, rss100, kPods);
  std::printf("shell baseline (ip netns/link/addr/route, sandbox only): %.1f ms/pod; minikd per pod (total/N) is %.1fx faster\n",
              shell, total / kPods > 0 ? shell / (total / kPods) : 0.0);
  return v.size() == static_cast<size_t>(kPods) ? 0 : 1;
}
