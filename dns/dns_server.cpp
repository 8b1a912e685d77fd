#include "dns/dns_server.h"

#include "dns/cluster_feed.h"

#include <iostream>
#include <thread>

namespace minikd::dns {

DnsServer::DnsServer(api::Api& api, DnsConfig config)
    : feed_(std::make_unique<ClusterFeed>(api, index_)), engine_(std::make_unique<DnsEngine>(std::move(config), index_)) {}

DnsServer::~DnsServer() = default;

void DnsServer::run(std::stop_token st) {
  try {
    feed_->syncOnce();
  } catch (const std::exception& e) {
    std::cerr << "dns: initial list failed: " << e.what() << ", serving while the informers retry\n";
  }
  std::jthread feed([this](std::stop_token s) { feed_->run(s); });
  std::stop_callback cb(st, [&] { feed.request_stop(); });
  engine_->run(st);
}

}  // namespace minikd::dns
