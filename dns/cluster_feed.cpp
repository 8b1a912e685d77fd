#include "dns/cluster_feed.h"

#include "dns/index_json.h"

#include <thread>

namespace minikd::dns {
namespace {

const api::ResourceInfo& resource(const char* group, const char* plural) {
  const auto* r = api::findResource(group, plural);
  if (!r) throw std::logic_error(std::string("dns: resource ") + plural + " is not built in");
  return *r;
}

}  // namespace

ClusterFeed::ClusterFeed(api::Api& api, ServiceIndex& index) : index_(index) {
  services_ = std::make_unique<api::Informer>(api, resource("", "services"));
  slices_ = std::make_unique<api::Informer>(api, resource("discovery.k8s.io", "endpointslices"));
  pods_ = std::make_unique<api::Informer>(api, resource("", "pods"));
  services_->addHandler([this](auto t, const auto& o, const auto& old) { onService(t, o, old); });
  slices_->addHandler([this](auto t, const auto& o, const auto& old) { onSlice(t, o, old); });
  pods_->addHandler([this](auto t, const auto& o, const auto&) { onPod(t, o); });
}

void ClusterFeed::onService(api::EventType type, const api::ObjectPtr& obj, const api::ObjectPtr&) {
  ServiceRecord svc = serviceFromJson(*obj);
  if (type == api::EventType::Deleted) index_.removeService(svc.ns, svc.name);
  else index_.upsertService(std::move(svc));
}

void ClusterFeed::onSlice(api::EventType type, const api::ObjectPtr& obj, const api::ObjectPtr& old) {
  const std::string ns = api::namespaceOf(*obj), name = api::nameOf(*obj);
  if (type == api::EventType::Deleted) {
    if (auto svc = sliceServiceName(*obj)) index_.removeSlice(ns, *svc, name);
    return;
  }
  // A slice that moved to another service (label edit) leaves the old one first.
  if (old) {
    auto before = sliceServiceName(*old);
    if (before && sliceServiceName(*obj) != before) index_.removeSlice(ns, *before, name);
  }
  if (auto svc = sliceServiceName(*obj)) index_.upsertSlice(ns, *svc, name, endpointSetFromJson(*obj));
}

void ClusterFeed::onPod(api::EventType type, const api::ObjectPtr& obj) {
  PodRecord pod = podFromJson(*obj);
  if (type == api::EventType::Deleted || pod.ips.empty()) index_.removePod(pod.ns, pod.name);
  else index_.upsertPod(std::move(pod));
}

void ClusterFeed::syncOnce() {
  services_->syncOnce();
  slices_->syncOnce();
  pods_->syncOnce();
}

void ClusterFeed::run(std::stop_token st) {
  std::jthread a([&](std::stop_token s) { services_->run(s); });
  std::jthread b([&](std::stop_token s) { slices_->run(s); });
  std::stop_callback cb(st, [&] {
    a.request_stop();
    b.request_stop();
  });
  pods_->run(st);
}

}  // namespace minikd::dns
