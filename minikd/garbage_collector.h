#pragma once
// The garbage collector: follows metadata.ownerReferences.
//  - Background: an object whose owners are all gone is deleted.
//  - Foreground: an owner being deleted with the `foregroundDeletion` finalizer (put there by the Api)
//    has its dependents deleted; once no dependent with blockOwnerDeletion is left, the finalizer is
//    removed and the store drops the owner.
//  - Orphan: an owner being deleted with the `orphan` finalizer has its ownerReferences stripped from
//    every dependent, then the finalizer removed.
// (Emptying a terminating namespace is the NamespaceController's job, in cluster_bootstrap.h.)
// Dependents are found by scanning the owner's namespace in the store (always current, no graph to
// keep consistent); informers on every kind only tell the collector what to look at.
#include "api/api.h"
#include "api/informer.h"

#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

namespace minikd {

struct GarbageCollectorConfig {
  /// Store keys of the kinds to watch ("pods", "replicasets.apps"); empty = every built-in kind.
  std::vector<std::string> resources;
};

class GarbageCollector {
 public:
  GarbageCollector(api::Api& api, GarbageCollectorConfig config = {});

  /// Runs one informer per kind (a thread each) and the work loop on the calling thread until `st`
  /// is stopped. Never throws: failed syncs are logged and retried with back-off.
  void run(std::stop_token st);
  /// Processes one work item: objectKey() or goneOwnerKey(). Throws what the Api throws.
  void sync(const std::string& key);
  /// Queues what the collector would after this change (what the informers call).
  void onEvent(const api::ResourceInfo& r, api::EventType type, const api::ObjectPtr& obj, const api::ObjectPtr& old);

  /// "o|<store key>|<ns>|<name>": look at one object (as owner being deleted, or as dependent).
  static std::string objectKey(const api::ResourceInfo& r, const api::Json& obj);
  /// "g|<ns>|<uid>": an owner is gone; look at its dependents (ns empty = cluster-scoped owner).
  static std::string goneOwnerKey(const std::string& ns, const std::string& uid);

 private:
  struct Ref {
    const api::ResourceInfo* r;
    api::Json obj;
  };
  std::vector<Ref> findDependents(const std::string& ns, const std::string& uid);
  void syncDependent(const Ref& dep);
  void syncForeground(const api::ResourceInfo& r, const api::Json& owner);
  void syncOrphan(const api::ResourceInfo& r, const api::Json& owner);
  void removeFinalizer(const api::ResourceInfo& r, const api::Json& obj, const std::string& finalizer);
  void deleteObject(const api::ResourceInfo& r, const api::Json& obj, const std::string& policy);
  void handle(const std::string& key);

  api::Api& api_;
  std::vector<const api::ResourceInfo*> kinds_;
  std::vector<std::unique_ptr<api::Informer>> informers_;
  api::WorkQueue queue_;
  std::mutex failures_mu_;
  std::map<std::string, int> failures_;
};

}  // namespace minikd
