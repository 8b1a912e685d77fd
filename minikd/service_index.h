#pragma once
// Plumbing shared by the Endpoints and EndpointSlice controllers: an index of Service selectors (so a
// pod event maps to the Services it affects without scanning) and the work-queue loop with back-off.
#include "api/informer.h"
#include "api/selector.h"

#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

namespace minikd {

/// The selectors of the Services with one, by namespace; fed from a Service informer. Thread-safe.
class ServiceSelectorIndex {
 public:
  /// Records (Added/Modified) or forgets (Deleted) one Service's selector.
  void onService(api::EventType type, const api::Json& svc);
  /// Keys "ns/name" of the Services whose selector matches the labels of `pod` or of `old` (its state
  /// before the event, may be null), both in the pod's namespace.
  std::vector<std::string> servicesFor(const api::Json* pod, const api::Json* old) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::map<std::string, api::LabelSelector>> by_ns_;
};

/// The Services to re-sync for a pod event: none when nothing endpoints depend on changed.
std::vector<std::string> servicesForPodEvent(const ServiceSelectorIndex& index, api::EventType type,
                                             const api::ObjectPtr& pod, const api::ObjectPtr& old);

/// Takes keys from `queue` and runs `sync(ns, name)` for each until `st` is stopped. A failed sync is
/// logged (prefixed by `who`) and retried with exponential back-off (50 ms .. 5 s); it never ends the loop.
/// Queues a Service's key on its own changes (keeping `index` current) and the keys of the Services
/// a pod change concerns: the common wiring of the endpoints and endpointslice controllers.
void queueServicesAndPods(api::Informer& services, api::Informer& pods, ServiceSelectorIndex& index,
                          api::WorkQueue& queue);

void processQueue(api::WorkQueue& queue, std::stop_token st, const std::string& who,
                  const std::function<void(const std::string& ns, const std::string& name)>& sync);

}  // namespace minikd
