#pragma once
// The Deployment controller: one ReplicaSet per pod-template revision (named <deploy>-<hash>, with
// the pod-template-hash label), rolled out with RollingUpdate (maxSurge/maxUnavailable) or Recreate,
// revision annotations for `kubectl rollout history/undo`, revisionHistoryLimit, paused, and the
// status and conditions `kubectl rollout status` reads. Follows Kubernetes' pkg/controller/deployment.
#include "api/api.h"
#include "api/informer.h"
#include "minikd/replicaset_controller.h"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace minikd {

namespace workload {

inline constexpr const char* kPodTemplateHashLabel = "pod-template-hash";
inline constexpr const char* kRevisionAnnotation = "deployment.kubernetes.io/revision";
inline constexpr const char* kRevisionHistoryAnnotation = "deployment.kubernetes.io/revision-history";
inline constexpr const char* kDesiredReplicasAnnotation = "deployment.kubernetes.io/desired-replicas";
inline constexpr const char* kMaxReplicasAnnotation = "deployment.kubernetes.io/max-replicas";

/// The pod-template-hash of a template: FNV-1a of its canonical JSON (plus the collision count),
/// encoded like Kubernetes' rand.SafeEncodeString (digits and consonants only, ≤ 10 characters).
std::string podTemplateHash(const api::Json& pod_template, std::optional<int64_t> collision_count);
/// An int-or-percent ("25%", 3) scaled against `total`; percentages round up or down.
/// Throws std::invalid_argument naming a malformed value.
int64_t scaledValue(const api::Json& value, int64_t total, bool round_up);
/// {maxSurge, maxUnavailable} of a RollingUpdate for `replicas`: surge rounds up, unavailable
/// down, and both 0 becomes unavailable 1 (Kubernetes' ResolveFenceposts). Defaults 25%/25%.
std::pair<int64_t, int64_t> resolveFenceposts(const api::Json& rolling_update, int64_t replicas);
/// Two pod templates equal when the pod-template-hash label is ignored.
bool equalIgnoreHash(const api::Json& a, const api::Json& b);

}  // namespace workload

struct DeploymentControllerConfig {
  /// Injected clock (default: the system clock).
  WallClock clock;
};

/// Reconciles Deployments into ReplicaSets. Reads through the Api, writes status with Api::modify.
class DeploymentController {
 public:
  DeploymentController(api::Api& api, DeploymentControllerConfig config = {});

  /// Runs the Deployment, ReplicaSet and pod informers (a thread each) and the work loop on the
  /// calling thread until `st` is stopped. Never throws: failed syncs are logged and retried.
  void run(std::stop_token st);
  /// Reconciles one Deployment ("ns/name"). Returns when it should be looked at again (progress
  /// deadline), if at all. Throws what the Api throws.
  std::optional<std::chrono::milliseconds> sync(const std::string& key);

 private:
  struct State;
  std::vector<api::Json> claimReplicaSets(const api::Json& d, const api::LabelSelector& selector);
  std::optional<api::Json> syncNewReplicaSet(State& s, bool create);
  api::Json createNewReplicaSet(State& s, int64_t max_old_revision);
  void scaleReplicaSet(State& s, api::Json& rs, int64_t replicas);
  void rolloutRolling(State& s);
  void rolloutRecreate(State& s);
  void scalePaused(State& s);
  bool reconcileNewReplicaSet(State& s);
  bool reconcileOldReplicaSets(State& s);
  bool oldPodsRunning(const State& s);
  void cleanupOldReplicaSets(State& s);
  std::optional<std::chrono::milliseconds> writeStatus(State& s);
  void handle(const std::string& key);
  void enqueueOwner(const api::Json& obj, const std::string& kind);

  api::Api& api_;
  DeploymentControllerConfig config_;
  api::WorkQueue queue_;
  api::Informer d_informer_;
  api::Informer rs_informer_;
  api::Informer pod_informer_;
  api::SyncBackoff backoff_;
};

}  // namespace minikd
