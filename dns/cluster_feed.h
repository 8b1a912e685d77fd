#pragma once
// Keeps a ServiceIndex in step with the API: informers on services, endpointslices
// (discovery.k8s.io/v1) and pods, whose handlers write into the index.
#include "api/informer.h"
#include "dns/index.h"

#include <memory>
#include <stop_token>

namespace minikd::dns {

class ClusterFeed {
 public:
  /// Registers handlers that write into `index` (which must outlive this object).
  ClusterFeed(api::Api& api, ServiceIndex& index);
  /// Lists all three resources once, synchronously (the index is complete when it returns).
  void syncOnce();
  /// Follows the three watches (one thread each) until `st` is stopped. Never throws.
  void run(std::stop_token st);

 private:
  void onService(api::EventType type, const api::ObjectPtr& obj, const api::ObjectPtr& old);
  void onSlice(api::EventType type, const api::ObjectPtr& obj, const api::ObjectPtr& old);
  void onPod(api::EventType type, const api::ObjectPtr& obj);

  ServiceIndex& index_;
  std::unique_ptr<api::Informer> services_, slices_, pods_;
};

}  // namespace minikd::dns
