#pragma once
// The Endpoints controller: for every Service with a selector, an Endpoints object of the same name
// listing the pods it selects (ready ones in addresses, not-ready ones in notReadyAddresses). Driven
// by watches on Services, Pods and Endpoints through a work queue keyed by Service ("ns/name").
#include "api/api.h"
#include "api/informer.h"
#include "minikd/service_index.h"

#include <stop_token>
#include <string>

namespace minikd {

class EndpointsController {
 public:
  struct Options {
    /// Threads taking keys from the queue (a key is never synced by two at once).
    int workers = 1;
  };

  EndpointsController(api::Api& api, Options options);
  explicit EndpointsController(api::Api& api) : EndpointsController(api, Options{}) {}

  /// Runs the informers (one thread each) and the workers until `st` is stopped. Never throws.
  void run(std::stop_token st);

  /// Reconciles the Endpoints of Service ns/name from the store: creates, updates (only when the
  /// result differs) or deletes (when the Service is gone and the Endpoints are ours). A Service
  /// without a selector is left alone. Throws ApiError when a write fails (the caller retries).
  void syncService(const std::string& ns, const std::string& name);

 private:
  api::Api& api_;
  Options options_;
  const api::ResourceInfo& services_r_;
  const api::ResourceInfo& pods_r_;
  const api::ResourceInfo& endpoints_r_;
  api::Informer services_, pods_, endpoints_;
  ServiceSelectorIndex index_;
  api::WorkQueue queue_;
};

}  // namespace minikd
