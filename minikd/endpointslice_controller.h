#pragma once
// The EndpointSlice controller, with mirroring: for every Service with a selector, EndpointSlices
// (managed-by endpointslice-controller.k8s.io, owned by the Service) listing the pods it selects with
// their ready/serving/terminating conditions; for a Service without a selector, slices mirroring its
// hand-written Endpoints (managed-by endpointslicemirroring-controller.k8s.io). Driven by watches on
// Services, Pods, Endpoints and EndpointSlices through a work queue keyed by Service ("ns/name").
#include "api/api.h"
#include "api/informer.h"
#include "minikd/endpoint_planner.h"
#include "minikd/service_index.h"

#include <stop_token>
#include <string>
#include <vector>

namespace minikd {

class EndpointSliceController {
 public:
  struct Options {
    /// Threads taking keys from the queue (a key is never synced by two at once).
    int workers = 1;
  };

  EndpointSliceController(api::Api& api, Options options);
  explicit EndpointSliceController(api::Api& api) : EndpointSliceController(api, Options{}) {}

  /// Runs the informers (one thread each) and the workers until `st` is stopped. Never throws.
  void run(std::stop_token st);

  /// Reconciles the slices of Service ns/name from the store. Writes only what differs: a slice whose
  /// content changed is updated in place, new ones are created, surplus ones deleted. Slices of a
  /// Service that is gone (or ExternalName) are deleted. Throws ApiError when a write fails.
  void syncService(const std::string& ns, const std::string& name);

 private:
  /// Makes the slices `existing` (managed by one controller) hold `desired`.
  void reconcile(const std::string& ns, const std::string& service, const std::vector<api::ObjectPtr>& existing,
                 const std::vector<SliceContent>& desired, const api::Json& labels, const api::Json& owner);
  void removeAll(const std::string& ns, const std::vector<api::ObjectPtr>& slices);

  api::Api& api_;
  Options options_;
  const api::ResourceInfo& services_r_;
  const api::ResourceInfo& pods_r_;
  const api::ResourceInfo& endpoints_r_;
  const api::ResourceInfo& slices_r_;
  api::Informer services_, pods_, endpoints_, slices_;
  ServiceSelectorIndex index_;
  api::WorkQueue queue_;
};

}  // namespace minikd
