#pragma once
// The service proxy's controller: informers on Services and EndpointSlices feed a change tracker;
// one rate-limited runner plans (net/proxy_planner.h) and applies (NftBackend) a transaction per
// sync. The first sync, and the first after any failure, rebuilds the whole table; every other sync
// holds only the services that changed. A failed sync is logged once and retried with back-off; the
// loop never dies.
#include "api/api.h"
#include "api/informer.h"
#include "net/nft_backend.h"
#include "net/proxy_planner.h"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>

namespace minikd::net {

class Proxier {
 public:
  /// Registers the informers' handlers; nothing runs until run(). `api` and `backend` must outlive it.
  Proxier(api::Api& api, NftBackend& backend, ProxyConfig config);

  /// Runs both informers (a thread each) and the sync loop on the calling thread until `st` is
  /// stopped. Never throws.
  void run(std::stop_token st);
  /// One sync now: snapshot → plan → apply. Returns false (after logging) when it failed; the next
  /// sync is then a full one. Only one thread may call it at a time (run() does).
  bool syncOnce();
  /// Deletes the table (and the backend's route). Call after run() returned (for `minikd down`).
  /// Throws OsError when the kernel refuses.
  void removeAll();

  /// Lists both resources and records them synchronously (start-up ordering and tests).
  void primeCaches();

  struct Stats {
    uint64_t syncs = 0, full_syncs = 0, failures = 0;
    size_t services = 0;  // services with rules in the kernel
  };
  Stats stats() const;
  const ProxyConfig& config() const { return config_; }

 private:
  void onService(api::EventType type, const api::ObjectPtr& obj);
  void onSlice(api::EventType type, const api::ObjectPtr& obj);
  void requestSyncLocked();
  ProxySnapshot takeSnapshot(bool& full, std::set<std::string>& changed);

  api::Api& api_;
  NftBackend& backend_;
  ProxyConfig config_;
  api::Informer services_informer_;
  api::Informer slices_informer_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  bool sync_requested_ = true;
  bool need_full_sync_ = true;
  std::map<std::string, ServiceInfo> services_;                     // "ns/name"
  std::map<std::string, std::map<std::string, SliceInfo>> slices_;  // "ns/service" → slice name → slice
  std::map<std::string, std::string> slice_owner_;                  // "ns/slice" → "ns/service"
  std::set<std::string> changed_;                                   // services to re-plan
  Stats stats_;

  ProxyPlanner planner_;  // the sync thread's only
  bool last_failed_ = false;
};

}  // namespace minikd::net
