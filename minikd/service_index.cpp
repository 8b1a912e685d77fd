#include "minikd/service_index.h"

#include "minikd/endpoint_planner.h"

#include <algorithm>
#include <iostream>

namespace minikd {

using api::Json;

void ServiceSelectorIndex::onService(api::EventType type, const Json& svc) {
  std::string ns = api::namespaceOf(svc), name = api::nameOf(svc);
  std::lock_guard lk(mu_);
  if (type == api::EventType::Deleted || !serviceHasSelector(svc)) {
    auto it = by_ns_.find(ns);
    if (it == by_ns_.end()) return;
    it->second.erase(name);
    if (it->second.empty()) by_ns_.erase(it);
    return;
  }
  by_ns_[ns][name] = serviceSelector(svc);
}

std::vector<std::string> ServiceSelectorIndex::servicesFor(const Json* pod, const Json* old) const {
  std::vector<std::string> out;
  const Json* any = pod ? pod : old;
  if (!any) return out;
  std::string ns = api::namespaceOf(*any);
  auto labelsOf = [](const Json* p) -> Json {
    if (!p || !p->contains("metadata")) return Json();
    return (*p)["metadata"].value("labels", Json());
  };
  Json now = labelsOf(pod), before = labelsOf(old);
  std::lock_guard lk(mu_);
  auto it = by_ns_.find(ns);
  if (it == by_ns_.end()) return out;
  for (const auto& [name, sel] : it->second)
    if ((pod && sel.matches(now)) || (old && sel.matches(before))) out.push_back(ns + "/" + name);
  return out;
}

std::vector<std::string> servicesForPodEvent(const ServiceSelectorIndex& index, api::EventType type,
                                             const api::ObjectPtr& pod, const api::ObjectPtr& old) {
  if (type == api::EventType::Modified && pod && old && podEndpointFingerprint(*pod) == podEndpointFingerprint(*old))
    return {};
  if (type == api::EventType::Deleted) return index.servicesFor(nullptr, pod ? pod.get() : old.get());
  return index.servicesFor(pod.get(), old.get());
}

void processQueue(api::WorkQueue& queue, std::stop_token st, const std::string& who,
                  const std::function<void(const std::string& ns, const std::string& name)>& sync) {
  std::map<std::string, int> failures;
  while (auto key = queue.get(st)) {
    auto [ns, name] = api::splitKey(*key);
    try {
      sync(ns, name);
      failures.erase(*key);
    } catch (const std::exception& e) {
      int n = ++failures[*key];
      auto delay = std::chrono::milliseconds(std::min<int64_t>(5000, int64_t{50} << std::min(n - 1, 10)));
      if (n == 1) std::cerr << who << ": sync " << *key << ": " << e.what() << ", retrying\n";
      queue.addAfter(*key, delay);
    }
    queue.done(*key);
  }
}

void queueServicesAndPods(api::Informer& services, api::Informer& pods, ServiceSelectorIndex& index,
                          api::WorkQueue& queue) {
  services.addHandler([&index, &queue](api::EventType t, const api::ObjectPtr& o, const api::ObjectPtr&) {
    index.onService(t, *o);
    queue.add(api::keyOf(*o));
  });
  pods.addHandler([&index, &queue](api::EventType t, const api::ObjectPtr& o, const api::ObjectPtr& old) {
    for (auto& key : servicesForPodEvent(index, t, o, old)) queue.add(key);
  });
}

}  // namespace minikd
