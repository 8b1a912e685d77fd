#include "minikd/parts.h"

#include "minikd/default_services.h"
#include "minikd/deployment_controller.h"
#include "minikd/endpoints_controller.h"
#include "minikd/endpointslice_controller.h"
#include "minikd/garbage_collector.h"
#include "minikd/replicaset_controller.h"
#include "minikd/service_allocator.h"
#include "web/dashboard.h"  // dashboard

#include <arpa/inet.h>

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

void cleanupHost(const UpOptions& options) {}

struct Parts::Impl {
  api::Api& api;
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

void Parts::startNodeParts(StepTimer& step, api::ApiHandler& handler) {
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
    i.dashboard = std::make_unique<web::Dashboard>(i.api, dc, nullptr);
    step("dashboard http://" + listen, [&] { i.dashboard->bind(); });
    i.dashboard_thread = std::jthread([d = i.dashboard.get()] { d->run(); });
    i.dashboard_url = i.dashboard->loginUrl();
  }
  // --- end dashboard ---
}

void Parts::applyFiles(StepTimer& step) {}

void Parts::printUrls() const {
  if (!impl_->dashboard_url.empty()) std::printf("  dashboard  %s\n", impl_->dashboard_url.c_str());
}

api::Json Parts::status() const {
  api::Json comps = api::Json::array();
  bool store_ok = impl_->api.store().healthy();
  comps.push_back({{"name", "api"}, {"healthy", true}, {"message", "serving"}});
  comps.push_back({{"name", "store"}, {"healthy", store_ok}, {"message", store_ok ? "SQLite answering" : "SQLite not answering"}});
  return {{"components", comps}};
}

void Parts::stop() {
  if (!impl_) return;
  // --- dashboard ---
  if (impl_->dashboard) impl_->dashboard->stop();
  if (impl_->dashboard_thread.joinable()) impl_->dashboard_thread.join();
  // --- end dashboard ---
  auto& t = impl_->threads;
  for (auto it = t.rbegin(); it != t.rend(); ++it) it->request_stop();
  for (auto it = t.rbegin(); it != t.rend(); ++it)
    if (it->joinable()) it->join();
  t.clear();
}

}  // namespace minikd
