#pragma once
// The parts of a running cluster besides the API server, built and wired in one place: controllers,
// the pod runtime, the service proxy, DNS and the dashboard. The only place real adapters are built.
#include "api/api.h"
#include "api/pki.h"
#include "api/server.h"
#include "minikd/cluster_bootstrap.h"
#include "minikd/step_timer.h"
#include "minikd/up.h"

#include <memory>
#include <thread>
#include <vector>

namespace minikd {

/// Removes from the host whatever a minikd run with these options made (pod namespaces and processes,
/// the bridge, the nft table, routes), when no minikd is running. Idempotent.
void cleanupHost(const UpOptions& options);

/// "10.244.0.0/16" → "10.244.0.1".
std::string gatewayOf(const std::string& cidr);

class Parts {
 public:
  Parts(api::Api& api, const UpOptions& options, const NodeInfo& node, const api::Pki& pki);
  ~Parts();
  /// Admission hooks (ClusterIP/NodePort allocation). Before the API serves.
  void registerAdmission();
  /// Namespace, endpoints, slices, replicaset, deployment controllers, GC, node heartbeat.
  void startControllers();
  /// Pod runtime, proxy, DNS, dashboard (each as enabled by the options).
  void startNodeParts(StepTimer& step, api::ApiHandler& handler);
  /// Applies the manifests of options.apply_files (files or directories).
  void applyFiles(StepTimer& step);
  void printUrls() const;
  /// Components and their health, for /minikd/status and `minikd status`.
  api::Json status() const;
  /// Stops everything in reverse order; pods are stopped gracefully and the host cleaned.
  void stop();

 private:
  void startPods(StepTimer& step, api::ApiHandler& handler);
  void stopPods();
  void startDns(StepTimer& step);
  void startProxy(StepTimer& step);
  void stopProxy();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minikd
