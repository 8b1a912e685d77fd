#pragma once
// An informer: lists a resource, then follows its watch, keeping a local cache and calling handlers
// for every change (relisting on 410 Gone). The base of every in-process controller, the DNS index
// and the proxy. Handlers run on the informer's own thread, in resourceVersion order.
#include "api/api.h"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>
#include <set>
#include <deque>
#include <condition_variable>
#include <chrono>
#include <optional>

namespace minikd::api {

class Informer {
 public:
  /// `type` is Added, Modified or Deleted. On a relist, objects that vanished arrive as Deleted and
  /// every other object as Modified (old = the cached state).
  using Handler = std::function<void(EventType type, const ObjectPtr& obj, const ObjectPtr& old)>;

  Informer(Api& api, const ResourceInfo& r, Filter filter = {});
  /// Register handlers before run().
  void addHandler(Handler h);
  /// Lists, then watches until `st` is stopped. Never throws; logs and relists on errors.
  void run(std::stop_token st);
  /// Lists once and delivers the initial events synchronously (for tests and start-up ordering).
  void syncOnce();
  /// The cached objects (of the last list and the events since).
  std::vector<ObjectPtr> items() const;
  ObjectPtr get(const std::string& ns, const std::string& name) const;
  /// True once the first list has been delivered.
  bool synced() const { return synced_; }
  const ResourceInfo& resource() const { return r_; }

 private:
  void relist();
  void deliver(EventType type, const ObjectPtr& obj, const ObjectPtr& old);

  Api& api_;
  const ResourceInfo& r_;
  Filter filter_;
  std::vector<Handler> handlers_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, ObjectPtr> cache_;
  int64_t rv_ = 0;
  std::atomic<bool> synced_{false};
};

/// A de-duplicating queue of keys ("ns/name") for controllers: a key added while queued is queued
/// once; a key being processed is re-queued after it is done. Thread-safe.
class WorkQueue {
 public:
  void add(const std::string& key);
  /// Adds `key` after `delay` (back-off, periodic re-checks).
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  /// The next key, waiting until one is ready or `st` is stopped (then nullopt).
  std::optional<std::string> get(std::stop_token st);
  /// Marks `key` as processed (must follow every get()).
  void done(const std::string& key);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::string> queue_;
  std::set<std::string> queued_, processing_, dirty_;
  std::multimap<std::chrono::steady_clock::time_point, std::string> delayed_;
};

/// Per-key retries for a controller's work loop: exponential back-off from 100 ms to 30 s. Thread-safe.
class SyncBackoff {
 public:
  using Sync = std::function<std::optional<std::chrono::milliseconds>(const std::string& key)>;
  /// Runs `sync(key)`. On success forgets the key's failures and re-queues it after the delay sync
  /// returned, if any. On an exception re-queues it after the back-off and logs "<who>: sync <key>:
  /// <error>, retrying" (the first three times, then every tenth).
  void handle(WorkQueue& queue, const std::string& key, const std::string& who, const Sync& sync);

 private:
  std::mutex mu_;
  std::map<std::string, int> failures_;
};

/// "ns/name" (or "name" for cluster-scoped objects).
std::string keyOf(const Json& obj);
/// Splits "ns/name" → {ns, name}.
std::pair<std::string, std::string> splitKey(const std::string& key);

}  // namespace minikd::api
