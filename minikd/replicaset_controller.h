#pragma once
// The ReplicaSet controller: keeps spec.replicas pods that match a ReplicaSet's selector, created from
// its template, and reports how many exist, are ready and are available. Also the small helpers the
// Deployment controller and the garbage collector share (controller references, pod readiness, time).
#include "api/api.h"
#include "api/informer.h"

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

namespace minikd {

/// Wall-clock source, injectable so tests can move time (minReadySeconds, progress deadlines).
using WallClock = std::function<std::chrono::system_clock::time_point()>;

namespace workload {

/// RFC 3339 ("2026-11-27T09:00:00Z", fractional seconds ignored) → time point; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parseTime(const std::string& text);
/// Time point → RFC 3339 with second precision.
std::string formatTime(std::chrono::system_clock::time_point t);
/// The ownerReference with controller: true, or nullptr.
const api::Json* controllerRef(const api::Json& obj);
/// An ownerReference to `owner` (controller: true, blockOwnerDeletion: true).
api::Json makeControllerRef(const api::Json& owner, const std::string& api_version, const std::string& kind);
/// True when metadata.deletionTimestamp is set.
bool isBeingDeleted(const api::Json& obj);
/// True when the pod's Ready condition is True.
bool isPodReady(const api::Json& pod);
/// True when the pod's phase is Succeeded or Failed.
bool isPodTerminated(const api::Json& pod);
/// True when the pod has been Ready for at least `min_ready_seconds` at `now`.
bool isPodAvailable(const api::Json& pod, int64_t min_ready_seconds, std::chrono::system_clock::time_point now);
/// spec.replicas, defaulting to 1 when absent.
int64_t specReplicas(const api::Json& obj);
/// metadata.labels as a map (empty when absent).
std::map<std::string, std::string> labelsOf(const api::Json& obj);
/// A status condition of `type` in `status.conditions`, or nullptr.
const api::Json* findCondition(const api::Json& status, const std::string& type);

/// Records a best-effort Event about `obj` (what `kubectl describe` shows under Events). Never throws.
void recordEvent(api::Api& api, const api::Json& obj, const std::string& type, const std::string& reason,
                 const std::string& message, const std::string& component);

}  // namespace workload

struct ReplicaSetControllerConfig {
  /// Injected clock (default: the system clock).
  WallClock clock;
};

/// Reconciles ReplicaSets against their pods. Reads through the Api (always current, so no
/// "expectations" bookkeeping is needed), writes status through Api::modify.
class ReplicaSetController {
 public:
  ReplicaSetController(api::Api& api, ReplicaSetControllerConfig config = {});

  /// Runs the pod and ReplicaSet informers (one thread each) and the work loop on the calling thread
  /// until `st` is stopped. Never throws: a failed sync is logged and retried with back-off.
  void run(std::stop_token st);
  /// Reconciles one ReplicaSet ("ns/name"): adopt/release pods, create or delete pods, write status.
  /// Returns how long until it should be looked at again (minReadySeconds), if at all.
  /// Throws what the Api throws.
  std::optional<std::chrono::milliseconds> sync(const std::string& key);

 private:
  struct PodSets;
  PodSets claimPods(const api::Json& rs, const api::LabelSelector& selector);
  void createPods(const api::Json& rs, int64_t count);
  void deletePods(const api::Json& rs, std::vector<api::ObjectPtr> pods, int64_t count);
  std::optional<std::chrono::milliseconds> writeStatus(const api::Json& rs, const api::LabelSelector& selector,
                                                       const std::string& create_error);
  void onPod(api::EventType type, const api::ObjectPtr& pod, const api::ObjectPtr& old);
  void enqueueMatchingReplicaSets(const api::Json& pod);
  void handle(const std::string& key);

  api::Api& api_;
  ReplicaSetControllerConfig config_;
  api::WorkQueue queue_;
  api::Informer rs_informer_;
  api::Informer pod_informer_;
  api::SyncBackoff backoff_;
};

}  // namespace minikd
