#pragma once
// What exists from the start: the namespaces default, kube-system and kube-public, and this host's Node.
#include "api/api.h"

#include <stop_token>
#include <string>

namespace minikd {

/// Creates the built-in namespaces when missing. Idempotent.
void ensureNamespaces(api::Api& api);

struct NodeInfo {
  std::string name;     // the host name
  std::string ip;       // InternalIP
  std::string pod_cidr;
};

/// Creates or refreshes the Node object, Ready.
void ensureNode(api::Api& api, const NodeInfo& node);

/// Keeps the Node Ready: refreshes its Ready condition's lastHeartbeatTime every `period` until stopped.
void runNodeHeartbeat(api::Api& api, const NodeInfo& node, std::stop_token st,
                      std::chrono::seconds period = std::chrono::seconds(10));

/// Deletes what is in a namespace being deleted, then lets the namespace go. Runs until stopped.
class NamespaceController {
 public:
  explicit NamespaceController(api::Api& api) : api_(api) {}
  void run(std::stop_token st);
  /// Deletes the contents of namespace `name` if it is terminating; true when it is empty and was finalized.
  bool sync(const std::string& name);

 private:
  api::Api& api_;
};

}  // namespace minikd
