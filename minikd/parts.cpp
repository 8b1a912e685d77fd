#include "minikd/parts.h"

#include <chrono>
#include <cstdio>

#include "minikd/default_services.h"
#include "minikd/deployment_controller.h"
#include "minikd/endpoints_controller.h"
#include "minikd/endpointslice_controller.h"
#include "minikd/garbage_collector.h"
#include "minikd/replicaset_controller.h"
#include "minikd/service_allocator.h"
#include "web/dashboard.h"  // dashboard

#include "api/pki.h"
#include "minikd/yaml.h"
#include "dns/dns_server.h"
#include "net/ipam.h"
#include "net/nft_backend_linux.h"
#include "net/proxier.h"
#include "net/pod_network_linux.h"
#include "runtime/clock.h"
#include "runtime/pod_exec.h"
#include "runtime/pod_logs.h"
#include "runtime/pod_worker.h"
#include "runtime/process_launcher.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <iostream>

namespace minikd {

std::string gatewayOf(const std::string& cidr) {
  std::string ip = cidr.substr(0, cidr.find('/'));
  in_addr a{};
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1) throw std::invalid_argument("not an IPv4 CIDR: " + cidr);
  a.s_addr = htonl(ntohl(a.s_addr) + 1);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

static net::NetworkConfig networkConfig(const UpOptions& o);
static runtime::RuntimeConfig runtimeConfig(const UpOptions& o, const NodeInfo& node);

void cleanupHost(const UpOptions& o) {
  if (!std::filesystem::exists(o.state_dir + "/store.db")) return;
  // Container processes a crashed run left (from the runtime's pid file), then their sandboxes and the bridge.
  api::Store store(o.state_dir + "/store.db");
  api::Api api(store, {.graceful_pod_deletion = true, .node_name = o.node_name});
  auto nc = networkConfig(o);
  net::LinuxPodNetwork network(nc);
  net::Ipam ipam = net::Ipam::forGateway(nc.gateway, nc.prefix_len);
  auto launcher = runtime::makeLinuxProcessLauncher();
  runtime::SystemClock clock;
  NodeInfo node{o.node_name, nc.gateway, o.pod_cidr};
  runtime::PodWorker worker(api, network, ipam, *launcher, clock, runtimeConfig(o, node));
  worker.cleanupLeftovers();
  net::NftBackendLinux nft(net::NftBackendLinux::Options{o.service_cidr, o.bridge, false});
  try {
    nft.removeTable(o.nft_table);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minikd down: nft table %s: %s, ignoring\n", o.nft_table.c_str(), e.what());
  }
  network.removeAll();
}

struct Parts::Impl {
  api::Api& api;
  bool stopped = false;
  UpOptions options;
  NodeInfo node;
  api::Pki pki;
  NamespaceController namespaces{api};
  std::unique_ptr<ServiceAllocator> allocator;
  std::unique_ptr<EndpointsController> endpoints;
  std::unique_ptr<EndpointSliceController> slices;
  std::unique_ptr<ReplicaSetController> replicasets;
  std::unique_ptr<DeploymentController> deployments;
  std::unique_ptr<GarbageCollector> gc;
  // Pods (runtime/, net/): stopped in stop() after the threads, then the host is cleaned.
  runtime::SystemClock clock;
  std::unique_ptr<net::LinuxPodNetwork> network;
  std::unique_ptr<net::Ipam> ipam;
  std::unique_ptr<runtime::ProcessLauncher> launcher;
  std::unique_ptr<runtime::PodWorker> worker;
  std::unique_ptr<runtime::RuntimePodLogs> pod_logs;
  std::unique_ptr<runtime::RuntimePodExec> pod_exec;
  std::jthread worker_thread;
  // The API also listens on the bridge gateway so that pods reach it (the `kubernetes` Service).
  std::unique_ptr<api::ApiServer> gateway_api;
  std::jthread gateway_api_thread;
  // The nftables service proxy (table options.nft_table); its table and route go at stop.
  std::unique_ptr<net::NftBackendLinux> nft;
  std::unique_ptr<net::Proxier> proxier;
  std::jthread proxy_thread;
  // Cluster DNS on the bridge gateway (10.96.0.10 reaches it through the kube-dns Service).
  std::unique_ptr<dns::DnsServer> dns;
  std::jthread dns_thread;
  std::vector<std::jthread> threads;  // stopped and joined in reverse order
  std::string dashboard_url;
  // --- dashboard (web/) ---
  std::unique_ptr<web::Dashboard> dashboard;
  std::jthread dashboard_thread;  // runs dashboard->run(); stopped in Parts::stop() before `threads`
  // --- end dashboard ---

  Impl(api::Api& a, const UpOptions& o, const NodeInfo& n, const api::Pki& p) : api(a), options(o), node(n), pki(p) {}
};

Parts::Parts(api::Api& api, const UpOptions& options, const NodeInfo& node, const api::Pki& pki)
    : impl_(std::make_unique<Impl>(api, options, node, pki)) {}

Parts::~Parts() { stop(); }

void Parts::registerAdmission() {
  auto& i = *impl_;
  ServiceAllocator::Options ao;
  ao.service_cidr = i.options.service_cidr;
  ao.load_balancer_ip = i.node.ip;
  i.allocator = std::make_unique<ServiceAllocator>(i.api, ao);
  i.allocator->install();
  DefaultServicesOptions d;
  d.service_cidr = i.options.service_cidr;
  d.api_ip = i.node.ip;
  d.api_port = std::stoi(i.options.listen.substr(i.options.listen.rfind(':') + 1));
  d.dns_ip = i.node.ip;
  ensureDefaultServices(i.api, d);
}

void Parts::startControllers() {
  auto& i = *impl_;
  i.threads.emplace_back([&i](std::stop_token st) { runNodeHeartbeat(i.api, i.node, st); });
  i.threads.emplace_back([&i](std::stop_token st) { i.namespaces.run(st); });
  if (!i.options.controllers) return;
  i.endpoints = std::make_unique<EndpointsController>(i.api);
  i.slices = std::make_unique<EndpointSliceController>(i.api);
  i.replicasets = std::make_unique<ReplicaSetController>(i.api);
  i.deployments = std::make_unique<DeploymentController>(i.api);
  i.gc = std::make_unique<GarbageCollector>(i.api);
  i.threads.emplace_back([&i](std::stop_token st) { i.endpoints->run(st); });
  i.threads.emplace_back([&i](std::stop_token st) { i.slices->run(st); });
  i.threads.emplace_back([&i](std::stop_token st) { i.replicasets->run(st); });
  i.threads.emplace_back([&i](std::stop_token st) { i.deployments->run(st); });
  i.threads.emplace_back([&i](std::stop_token st) { i.gc->run(st); });
}

static net::NetworkConfig networkConfig(const UpOptions& o) {
  net::NetworkConfig c;
  c.bridge = o.bridge;
  c.gateway = gatewayOf(o.pod_cidr);
  c.prefix_len = std::stoi(o.pod_cidr.substr(o.pod_cidr.find('/') + 1));
  return c;
}

static runtime::RuntimeConfig runtimeConfig(const UpOptions& o, const NodeInfo& node) {
  runtime::RuntimeConfig rc;
  rc.node_name = o.node_name;
  rc.state_dir = o.state_dir;
  rc.cluster_dns_ip = o.cluster_dns;
  rc.cluster_domain = o.cluster_domain;
  rc.host_ip = node.ip;
  return rc;
}

void Parts::startPods(StepTimer& step, api::ApiHandler& handler) {
  auto& i = *impl_;
  auto nc = networkConfig(i.options);
  step("bridge " + nc.bridge + " " + nc.gateway, [&] {
    i.network = std::make_unique<net::LinuxPodNetwork>(nc);
    i.network->ensureBridge();
    i.ipam.reset(new net::Ipam(net::Ipam::forGateway(nc.gateway, nc.prefix_len)));
  });
  step("pod runtime", [&] {
    i.launcher = runtime::makeLinuxProcessLauncher();
    i.worker = std::make_unique<runtime::PodWorker>(i.api, *i.network, *i.ipam, *i.launcher, i.clock,
                                                    runtimeConfig(i.options, i.node));
    i.pod_logs = std::make_unique<runtime::RuntimePodLogs>(i.api, i.clock, i.options.state_dir);
    handler.setPodLogs(i.pod_logs.get());
    i.pod_exec = std::make_unique<runtime::RuntimePodExec>(i.api, *i.worker);
    handler.setPodExec(i.pod_exec.get());
    i.worker->cleanupLeftovers();
    i.worker_thread = std::jthread([&i](std::stop_token st) { i.worker->run(st); });
  });
  step("API on the gateway " + nc.gateway, [&] {
    api::ServerConfig cfg;
    cfg.host = nc.gateway;
    cfg.port = std::stoi(i.options.listen.substr(i.options.listen.rfind(':') + 1));
    cfg.cert_file = i.pki.server_cert_file;
    cfg.key_file = i.pki.server_key_file;
    cfg.token = i.pki.token;
    cfg.max_connections = 256;  // pods only
    i.gateway_api = std::make_unique<api::ApiServer>(i.api, cfg, i.pod_logs.get());
    i.gateway_api->handler().setPodExec(i.pod_exec.get());
    i.gateway_api->bind();
    i.gateway_api_thread = std::jthread([&i] { i.gateway_api->run(); });
  });
}

namespace {

/// Asks a part's thread to stop and waits for it.
void stopThread(std::jthread& t) {
  if (!t.joinable()) return;
  t.request_stop();
  t.join();
}

/// One clean-up step: a failure is reported and does not keep the others from running.
template <class Fn>
void bestEffort(const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minikd: %s: %s\n", what, e.what());
  }
}

}  // namespace

void Parts::stopPods() {
  auto& i = *impl_;
  if (i.gateway_api) i.gateway_api->stop();
  if (i.gateway_api_thread.joinable()) i.gateway_api_thread.join();
  stopThread(i.worker_thread);
  if (i.worker) i.worker->stopAll();
  if (i.network) bestEffort("removing the pod network", [&] { i.network->removeAll(); });
  // The worker itself stays until Parts goes: the main API server, still serving, may call pod_exec.
  i.network.reset();
}

void Parts::startDns(StepTimer& step) {
  auto& i = *impl_;
  dns::DnsConfig c;
  c.listen = {i.node.ip + ":53"};
  c.cluster_domain = i.options.cluster_domain;
  c.upstreams = i.options.dns_upstreams;
  c.nameserver_ip = i.options.cluster_dns;
  step("cluster DNS " + c.listen[0], [&] { i.dns = std::make_unique<dns::DnsServer>(i.api, c); });
  i.dns_thread = std::jthread([&i](std::stop_token st) { i.dns->run(st); });
}

static net::ProxyConfig proxyConfig(const UpOptions& o, const NodeInfo& node) {
  net::ProxyConfig pc;
  pc.table = o.nft_table;
  pc.service_cidr = o.service_cidr;
  pc.pod_cidr = o.pod_cidr;
  pc.bridge = o.bridge;
  pc.node_ips = {node.ip};
  return pc;
}

void Parts::startProxy(StepTimer& step) {
  auto& i = *impl_;
  auto pc = proxyConfig(i.options, i.node);
  step("service proxy (nft table ip " + pc.table + ")", [&] {
    i.nft = std::make_unique<net::NftBackendLinux>(net::NftBackendLinux::Options{pc.service_cidr, pc.bridge, true});
    i.proxier = std::make_unique<net::Proxier>(i.api, *i.nft, pc);
  });
  i.proxy_thread = std::jthread([&i](std::stop_token st) { i.proxier->run(st); });
}

void Parts::stopProxy() {
  auto& i = *impl_;
  stopThread(i.proxy_thread);
  if (i.proxier) bestEffort("removing the nft table", [&] { i.proxier->removeAll(); });
  i.proxier.reset();
  i.nft.reset();
}

void Parts::startNodeParts(StepTimer& step, api::ApiHandler& handler) {
  if (impl_->options.pods) startPods(step, handler);
  // The proxy routes the service CIDR to the bridge: it needs the pod network.
  if (impl_->options.pods && impl_->options.proxy) startProxy(step);
  // DNS answers on the pod network's gateway: without pods there is no one to ask it.
  if (impl_->options.pods && impl_->options.dns) startDns(step);
  // --- dashboard (web/): the page and the API behind a login session, on options.dashboard_listen ---
  if (impl_->options.dashboard) {
    auto& i = *impl_;
    const std::string& listen = i.options.dashboard_listen;
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--dashboard-listen: want host:port, got \"" + listen + "\"");
    web::DashboardConfig dc;
    dc.host = listen.substr(0, colon);
    dc.port = std::stoi(listen.substr(colon + 1));
    dc.status = [this] { return status(); };
    dc.link_file = i.options.state_dir + "/dashboard-url";  // 0600, rewritten after each login
    i.dashboard = std::make_unique<web::Dashboard>(i.api, dc, i.pod_logs.get());
    step("dashboard http://" + listen, [&] { i.dashboard->bind(); });
    i.dashboard_thread = std::jthread([d = i.dashboard.get()] { d->run(); });
    i.dashboard_url = i.dashboard->loginUrl();
  }
  // --- end dashboard ---
}

namespace {

std::vector<std::string> manifestFiles(const std::string& path) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(path)) return {path};
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(path)) {
    auto ext = e.path().extension().string();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Server-side apply of one manifest document (a List is applied item by item).
void applyDocument(api::Api& api, const api::Json& doc) {
  if (!doc.is_object()) return;
  if (doc.value("kind", "") == "List") {
    for (const auto& item : doc.value("items", api::Json::array())) applyDocument(api, item);
    return;
  }
  const auto* r = api::findResourceByKind(doc.value("apiVersion", ""), doc.value("kind", ""));
  if (!r) throw std::runtime_error("unknown kind " + doc.value("apiVersion", "") + "/" + doc.value("kind", ""));
  std::string ns = r->namespaced ? api::namespaceOf(doc) : "";
  if (r->namespaced && ns.empty()) ns = "default";
  api::WriteOptions w;
  w.field_manager = "minikd-up";
  w.force = true;
  api.patch(*r, ns, api::nameOf(doc), "application/apply-patch+yaml", doc, api::Subresource::None, w);
}

}  // namespace

void Parts::applyFiles(StepTimer& step) {
  // A bad manifest is reported and skipped: it must not take the cluster down.
  for (const auto& path : impl_->options.apply_files) {
    step("apply " + path, [&] {
      for (const auto& file : manifestFiles(path)) {
        try {
          for (const auto& doc : parseYamlDocuments(api::readFile(file))) applyDocument(impl_->api, doc);
        } catch (const std::exception& e) {
          std::printf("  \u2717 apply %s: %s\n", file.c_str(), e.what());
        }
      }
    });
  }
}

void Parts::printUrls() const {
  if (!impl_->dashboard_url.empty()) std::printf("  dashboard  %s\n", impl_->dashboard_url.c_str());
}

api::Json Parts::status() const {
  const auto& i = *impl_;
  api::Json comps = api::Json::array();
  auto add = [&](const char* name, bool enabled, bool healthy, const std::string& msg) {
    comps.push_back({{"name", name}, {"enabled", enabled}, {"healthy", !enabled || healthy},
                     {"message", enabled ? msg : "disabled"}});
  };
  bool store_ok = i.api.store().healthy();
  add("api", true, true, "serving");
  add("store", true, store_ok, store_ok ? "SQLite answering" : "SQLite not answering");
  add("controllers", i.options.controllers, static_cast<bool>(i.gc), "running");
  add("pods", i.options.pods, i.worker_thread.joinable(),
      i.worker ? std::to_string(i.worker->trackedPods()) + " pods on bridge " + i.options.bridge : "not started");
  if (i.proxier) {
    auto st = i.proxier->stats();
    add("proxy", true, st.syncs > 0,
        std::to_string(st.services) + " services in nft table ip " + i.options.nft_table + ", " +
            std::to_string(st.syncs) + " syncs, " + std::to_string(st.failures) + " failed");
  } else {
    add("proxy", i.options.proxy && i.options.pods, false, "not started");
  }
  if (i.dns) {
    const auto& st = i.dns->stats();
    add("dns", true, true,
        std::to_string(st.udp_queries + st.tcp_queries) + " queries, " + std::to_string(st.forwarded) +
            " forwarded, " + std::to_string(st.servfail) + " SERVFAIL");
  } else {
    add("dns", i.options.dns && i.options.pods, false, "not started");
  }
  add("dashboard", i.options.dashboard, !i.dashboard_url.empty(), i.dashboard_url.empty() ? "not started" : "serving");
  return {{"components", comps}};
}

void Parts::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  // Each part's stop time on one line: a slow stop names its part.
  std::string report;
  auto timed = [&report](const char* part, auto&& fn) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%s %.0f ms", report.empty() ? "" : ", ", part, ms);
    report += buf;
  };
  timed("dns", [&] { stopThread(impl_->dns_thread); });
  timed("proxy", [&] { stopProxy(); });
  timed("pods", [&] { stopPods(); });
  timed("dashboard", [&] {
    if (impl_->dashboard) impl_->dashboard->stop();
    if (impl_->dashboard_thread.joinable()) impl_->dashboard_thread.join();
  });
  timed("controllers", [&] {
    auto& t = impl_->threads;
    for (auto it = t.rbegin(); it != t.rend(); ++it) it->request_stop();
    for (auto it = t.rbegin(); it != t.rend(); ++it)
      if (it->joinable()) it->join();
    t.clear();
  });
  std::fprintf(stderr, "minikd: stopped (%s)\n", report.c_str());
}

}  // namespace minikd
