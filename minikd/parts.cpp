#include "minikd/parts.h"

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
  std::vector<std::jthread> threads;  // stopped and joined in reverse order
  std::string dashboard_url;

  Impl(api::Api& a, const UpOptions& o, const NodeInfo& n, const api::Pki& p) : api(a), options(o), node(n), pki(p) {}
};

Parts::Parts(api::Api& api, const UpOptions& options, const NodeInfo& node, const api::Pki& pki)
    : impl_(std::make_unique<Impl>(api, options, node, pki)) {}

Parts::~Parts() { stop(); }

void Parts::registerAdmission() {}

void Parts::startControllers() {
  auto& i = *impl_;
  i.threads.emplace_back([&i](std::stop_token st) { runNodeHeartbeat(i.api, i.node, st); });
  i.threads.emplace_back([&i](std::stop_token st) { i.namespaces.run(st); });
}

void Parts::startNodeParts(StepTimer& step, api::ApiHandler& handler) {}

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
  auto& t = impl_->threads;
  for (auto it = t.rbegin(); it != t.rend(); ++it) it->request_stop();
  for (auto it = t.rbegin(); it != t.rend(); ++it)
    if (it->joinable()) it->join();
  t.clear();
}

}  // namespace minikd
