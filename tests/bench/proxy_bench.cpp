// Service proxy benchmark (root). Everything happens in a private network namespace created here
// (so the machine's own tables and routes are untouched), with a unique table name.
//   (a) program N services × 3 endpoints (default 10,000) with minikd's planner + libnftnl backend,
//       against `nft -f` loading kube-proxy's nftables layout for the same services, same run;
//   (b) with those loaded, one endpoint change: plan + apply time (median, p99 over 50 changes);
//   (c) network-programming latency: EndpointSlice write in the API → batch committed in the kernel,
//       through a running Proxier with the N services, p50/p99 over 200 readiness flips;
//   (d) TCP connection set-up time through a ClusterIP vs straight to the pod IP, N services loaded.
// Usage: proxy_bench [services=10000] [--skip-kube-proxy]
// Address plan: bench netns mkpxb<pid>h with bridge mkpxbb 10.244.0.1/16, client netns …c 10.244.255.10,
// backend netns …s 10.244.255.11 (TCP 8080); services 10.96.0.0/16, endpoints 10.244.x.y (fake ones unused).
#include "api/api.h"
#include "api/resources.h"
#include "api/store.h"
#include "net/nft_backend_linux.h"
#include "net/proxier.h"
#include "net/proxy_planner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace minikd;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

namespace {

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int run(const std::string& cmd) { return std::system(cmd.c_str()); }
void must(const std::string& cmd) {
  if (run(cmd + " >/dev/null 2>&1") != 0) throw std::runtime_error("failed: " + cmd);
}

class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& name) {
    self_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int fd = ::open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
    if (self_ < 0 || fd < 0 || setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("setns " + name);
    ::close(fd);
  }
  ~NetnsGuard() {
    setns(self_, CLONE_NEWNET);
    ::close(self_);
  }

 private:
  int self_ = -1;
};

struct Namespaces {
  std::string p = "mkpxb" + std::to_string(getpid() % 100000);
  std::string host = p + "h", client = p + "c", server = p + "s";
  Namespaces() {
    cleanup();
    must("ip netns add " + host);
    must("ip -n " + host + " link set lo up");
    must("ip -n " + host + " link add mkpxbb type bridge");
    must("ip -n " + host + " addr add 10.244.0.1/16 dev mkpxbb");
    must("ip -n " + host + " link set mkpxbb up");
    must("ip netns exec " + host + " sysctl -qw net.ipv4.ip_forward=1");
    run("ip netns exec " + host + " sysctl -qw net.bridge.bridge-nf-call-iptables=1 >/dev/null 2>&1");
    pod(client, "vc", "10.244.255.10");
    pod(server, "vs", "10.244.255.11");
  }
  ~Namespaces() { cleanup(); }
  void pod(const std::string& ns, const std::string& veth, const std::string& ip) {
    must("ip netns add " + ns);
    must("ip -n " + host + " link add " + veth + " type veth peer name eth0 netns " + ns);
    must("ip -n " + host + " link set " + veth + " master mkpxbb up");
    must("ip -n " + ns + " link set lo up");
    must("ip -n " + ns + " addr add " + ip + "/16 dev eth0");
    must("ip -n " + ns + " link set eth0 up");
    must("ip -n " + ns + " route add default via 10.244.0.1");
  }
  void cleanup() {
    for (auto& ns : {client, server, host}) run("ip netns del " + ns + " >/dev/null 2>&1");
  }
};

std::string vip(int i) { return "10.96." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250); }
std::string epIp(int i, int j) {
  int n = i * 3 + j;
  return "10.244." + std::to_string(1 + n / 250) + "." + std::to_string(1 + n % 250);
}

Json service(int i) {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", "svc" + std::to_string(i)}, {"namespace", "default"}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"clusterIP", vip(i)},
            {"clusterIPs", {vip(i)}},
            {"ports", Json::array({{{"name", "http"}, {"protocol", "TCP"}, {"port", 80}, {"targetPort", 8080}}})}}}};
}

/// Service 0's first endpoint is the real server; every other endpoint is a placeholder address.
Json slice(int i, bool first_ready = true) {
  Json eps = Json::array();
  for (int j = 0; j < 3; ++j) {
    std::string ip = (i == 0 && j == 0) ? "10.244.255.11" : epIp(i, j);
    eps.push_back({{"addresses", {ip}}, {"conditions", {{"ready", j == 0 ? first_ready : true}}}});
  }
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", "svc" + std::to_string(i) + "-x"},
            {"namespace", "default"},
            {"labels", {{"kubernetes.io/service-name", "svc" + std::to_string(i)}}}}},
          {"addressType", "IPv4"},
          {"ports", Json::array({{{"name", "http"}, {"protocol", "TCP"}, {"port", 8080}}})},
          {"endpoints", eps}};
}

/// kube-proxy's nftables layout (pkg/proxy/nftables) for the same services, as `nft -f` input.
std::string kubeProxyRuleset(const std::string& table, int n) {
  std::string t = "ip " + table;
  std::string out;
  out.reserve(static_cast<size_t>(n) * 900);
  out += "add table " + t + "\n";
  out += "add chain " + t + " mark-for-masquerade\n";
  out += "add rule " + t + " mark-for-masquerade mark set mark or 0x4000\n";
  out += "add chain " + t + " masquerading { type nat hook postrouting priority srcnat; }\n";
  out += "add rule " + t + " masquerading mark and 0x4000 == 0 return\n";
  out += "add rule " + t + " masquerading mark set mark xor 0x4000\n";
  out += "add rule " + t + " masquerading masquerade fully-random\n";
  out += "add map " + t + " service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }\n";
  out += "add chain " + t + " services\n";
  out += "add rule " + t + " services ip daddr . meta l4proto . th dport vmap @service-ips\n";
  out += "add chain " + t + " nat-prerouting { type nat hook prerouting priority dstnat; }\n";
  out += "add rule " + t + " nat-prerouting jump services\n";
  for (int i = 0; i < n; ++i) {
    std::string s = "service-" + std::to_string(i) + "-default/svc" + std::to_string(i) + "/tcp/http";
    std::string eps[3];
    for (int j = 0; j < 3; ++j) {
      eps[j] = "endpoint-" + std::to_string(i) + "-" + std::to_string(j) + "-default/svc" + std::to_string(i) +
               "/tcp/http__" + epIp(i, j) + "/8080";
      out += "add chain " + t + " " + eps[j] + "\n";
      out += "add rule " + t + " " + eps[j] + " ip saddr " + epIp(i, j) + " jump mark-for-masquerade\n";
      out += "add rule " + t + " " + eps[j] + " meta l4proto tcp dnat to " + epIp(i, j) + ":8080\n";
    }
    out += "add chain " + t + " " + s + "\n";
    out += "add rule " + t + " " + s + " ip daddr " + vip(i) +
           " tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade\n";
    out += "add rule " + t + " " + s + " numgen random mod 3 vmap { 0 : goto " + eps[0] + " , 1 : goto " + eps[1] +
           " , 2 : goto " + eps[2] + " }\n";
    out += "add element " + t + " service-ips { " + vip(i) + " . tcp . 80 : goto " + s + " }\n";
  }
  return out;
}

template <typename T>
T percentile(std::vector<T> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

/// Median connect() time to ip:port from `ns` over `n` tries (microseconds).
double connectMicros(const std::string& ns, const std::string& ip, int port) {
  int fd;
  {
    NetnsGuard g(ns);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  linger lg{1, 0};  // RST on close: no TIME_WAIT pile-up
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  auto t0 = Clock::now();
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  auto t1 = Clock::now();
  ::close(fd);
  if (rc != 0) throw std::runtime_error("connect " + ip + ": " + std::strerror(errno));
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  int n = 10000;
  bool kube = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skip-kube-proxy")
      kube = false;
    else
      n = std::stoi(a);
  }
  if (geteuid() != 0) {
    std::cerr << "proxy_bench: needs root\n";
    return 1;
  }
  try {
    Namespaces ns;
    std::string table = ns.p;
    std::cout << "proxy_bench: " << n << " services x 3 endpoints, table ip " << table << " in netns " << ns.host
              << "\n";

    net::ProxyConfig config;
    config.table = table;
    config.service_cidr = "10.96.0.0/16";
    config.pod_cidr = "10.244.0.0/16";
    config.bridge = "mkpxbb";

    // (a) minikd: plan + apply the full table.
    net::ProxySnapshot snap;
    for (int i = 0; i < n; ++i) {
      auto s = *net::parseService(service(i));
      snap.services["default/svc" + std::to_string(i)] = s;
      snap.slices["default/svc" + std::to_string(i)].push_back(*net::parseSlice(slice(i)));
    }
    std::unique_ptr<net::NftBackendLinux> backend;
    {
      NetnsGuard g(ns.host);
      backend = std::make_unique<net::NftBackendLinux>(net::NftBackendLinux::Options{config.service_cidr, config.bridge, true});
    }
    net::ProxyPlanner planner(config);
    auto t0 = Clock::now();
    auto tx = planner.planFull(snap);
    auto t1 = Clock::now();
    backend->apply(tx);
    auto t2 = Clock::now();
    planner.commit();
    double minikd_ms = ms(t2 - t0);
    std::printf("(a) minikd full sync: %.1f ms (plan %.1f ms, kernel batch %.1f ms, %zu operations)\n", minikd_ms,
                ms(t1 - t0), ms(t2 - t1), tx.ops.size());

    if (kube) {
      std::string kp_table = table + "kp";
      std::string file = "/tmp/" + kp_table + ".nft";
      std::ofstream(file) << kubeProxyRuleset(kp_table, n);
      auto k0 = Clock::now();
      int rc = run("ip netns exec " + ns.host + " nft -f " + file);
      auto k1 = Clock::now();
      run("ip netns exec " + ns.host + " nft delete table ip " + kp_table + " >/dev/null 2>&1");
      std::remove(file.c_str());
      if (rc != 0) throw std::runtime_error("nft -f of the kube-proxy layout failed");
      std::printf("(a) kube-proxy layout via nft -f: %.1f ms  → minikd is %.1fx faster\n", ms(k1 - k0),
                  ms(k1 - k0) / minikd_ms);
    }

    // (b) one endpoint change with everything loaded.
    std::vector<double> plan_ms, apply_ms;
    for (int k = 0; k < 50; ++k) {
      int i = 1 + (k * 197) % (n - 1);
      std::string key = "default/svc" + std::to_string(i);
      auto& eps = snap.slices[key][0].endpoints;
      eps[1].ready = !eps[1].ready;
      auto p0 = Clock::now();
      auto delta = planner.planChanges(snap, {key});
      auto p1 = Clock::now();
      backend->apply(delta);
      auto p2 = Clock::now();
      planner.commit();
      plan_ms.push_back(ms(p1 - p0));
      apply_ms.push_back(ms(p2 - p1));
    }
    std::printf("(b) one endpoint change: apply median %.3f ms, p99 %.3f ms (plan median %.3f ms)\n",
                percentile(apply_ms, 0.5), percentile(apply_ms, 0.99), percentile(plan_ms, 0.5));

    // (c) API → kernel latency through a running Proxier (which takes over the table with a full sync).
    api::Store store(":memory:", 100000);
    api::Api api(store);
    api.create(*api::findResource("", "namespaces"), "",
               {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "default"}}}});
    auto& svcs = *api::findResource("", "services");
    auto& slices = *api::findResource("discovery.k8s.io", "endpointslices");
    for (int i = 0; i < n; ++i) {
      api.create(svcs, "default", service(i));
      api.create(slices, "default", slice(i));
    }
    net::Proxier proxier(api, *backend, config);
    std::jthread runner([&](std::stop_token st) { proxier.run(st); });
    while (proxier.stats().full_syncs < 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::vector<double> lat;
    for (int k = 0; k < 200; ++k) {
      std::string name = "svc" + std::to_string(1 + (k * 37) % (n - 1)) + "-x";
      auto before = proxier.stats().syncs;
      auto c0 = Clock::now();
      api.modify(slices, "default", name, [](Json& s) {
        bool r = s["endpoints"][2]["conditions"]["ready"].get<bool>();
        s["endpoints"][2]["conditions"]["ready"] = !r;
        return true;
      });
      while (proxier.stats().syncs == before) std::this_thread::yield();
      lat.push_back(ms(Clock::now() - c0));
    }
    std::printf("(c) API write → kernel: p50 %.2f ms, p99 %.2f ms over %zu flips (failures %llu)\n",
                percentile(lat, 0.5), percentile(lat, 0.99), lat.size(),
                static_cast<unsigned long long>(proxier.stats().failures));

    // (d) connection set-up through the ClusterIP of svc0 (→ the real server) vs direct.
    api.modify(slices, "default", "svc0-x", [](Json& s) {
      s["endpoints"] = Json::array({{{"addresses", {"10.244.255.11"}}, {"conditions", {{"ready", true}}}}});
      return true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int srv;
    {
      NetnsGuard g(ns.server);
      srv = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    }
    int one = 1;
    setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(8080);
    if (::bind(srv, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(srv, 4096) != 0)
      throw std::runtime_error("server bind");
    std::jthread acceptor([srv](std::stop_token st) {
      while (!st.stop_requested()) {
        pollfd p{srv, POLLIN, 0};
        if (::poll(&p, 1, 50) > 0) {
          int c = ::accept(srv, nullptr, nullptr);
          if (c >= 0) ::close(c);
        }
      }
    });
    std::vector<double> via, direct;
    for (int k = 0; k < 2000; ++k) {
      via.push_back(connectMicros(ns.client, vip(0), 80));
      direct.push_back(connectMicros(ns.client, "10.244.255.11", 8080));
    }
    acceptor.request_stop();
    acceptor.join();
    ::close(srv);
    double mv = percentile(via, 0.5), md = percentile(direct, 0.5);
    std::printf("(d) TCP connect: via ClusterIP median %.1f us, direct median %.1f us (+%.1f%%), p99 %.1f vs %.1f us\n",
                mv, md, (mv / md - 1) * 100, percentile(via, 0.99), percentile(direct, 0.99));

    runner.request_stop();
    runner.join();
    proxier.removeAll();
  } catch (const std::exception& e) {
    std::cerr << "proxy_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
