#pragma once
// The object store: every API object as JSON, kept in memory for reads and persisted in SQLite
// (WAL mode) before a write is acknowledged. One global resourceVersion that only grows, also across
// restarts. Every write is one event in a bounded window that watches read from.
#include "api/errors.h"
#include "api/selector.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace minikd::api {

using ObjectPtr = std::shared_ptr<const Json>;

enum class EventType { Added, Modified, Deleted };
const char* eventTypeName(EventType t);  // "ADDED", "MODIFIED", "DELETED"

/// An event's object as JSON text, made on first use and shared by every watcher of the event (a
/// hundred watchers of one write cost one dump, not a hundred).
class EncodedObject {
 public:
  const std::string& text(const Json& obj) {
    std::call_once(once_, [&] { text_ = obj.dump(); });
    return text_;
  }

 private:
  std::once_flag once_;
  std::string text_;
};

/// One change. `object` is the state after it (the last state for Deleted); `old` the state before
/// (null for Added). `encoded` caches `object`'s text for the watch streams.
struct Event {
  EventType type;
  std::string resource;
  int64_t rv = 0;
  ObjectPtr object;
  ObjectPtr old;
  std::shared_ptr<EncodedObject> encoded = std::make_shared<EncodedObject>();
};

/// What a watch or a list selects. An empty resource means every resource; an empty namespace every
/// namespace.
struct Filter {
  std::string resource;
  std::string ns;
  LabelSelector labels;
  FieldSelector fields;
  bool matches(const Json& obj) const;
};

struct ListOptions {
  int64_t limit = 0;            // 0 = no limit
  std::string continue_token;   // from a previous page
};

struct ListResult {
  std::vector<ObjectPtr> items;
  int64_t resource_version = 0;
  std::string continue_token;      // empty when this is the last page
  int64_t remaining = 0;           // items after this page (when continue_token is set)
};

/// Preconditions and grace for a delete.
struct DeleteOptions {
  std::optional<std::string> uid;
  std::optional<std::string> resource_version;
  /// When set (and > 0), the object is only marked (deletionTimestamp, deletionGracePeriodSeconds);
  /// whoever owns its teardown deletes it later with a grace of 0.
  std::optional<int64_t> grace_period_seconds;
};

class Store;

/// A pull-based watch over the store's event window. Not thread-safe; one reader.
class Watch {
 public:
  Watch(Store& store, Filter filter, int64_t from_rv) : store_(store), filter_(std::move(filter)), cursor_(from_rv) {}
  ~Watch();
  /// The next matching event after the cursor, waiting up to `timeout`; nullopt on timeout or close().
  /// A MODIFIED object that starts (stops) matching the label/field selector arrives as ADDED (DELETED).
  /// Throws ApiError 410 (Expired) when the events after the cursor are no longer kept.
  std::optional<Event> next(std::chrono::milliseconds timeout);
  /// Wakes a blocked next() and makes every later call return nullopt. Thread-safe.
  void close();
  /// The resourceVersion of the last event read (or skipped as not matching).
  int64_t cursor() const { return cursor_; }

 private:
  friend class Store;
  Store& store_;
  Filter filter_;
  int64_t cursor_;
  std::atomic<bool> closed_{false};
};

class Store {
 public:
  /// Opens (creating if needed) the SQLite database at `path` (":memory:" for tests) and loads every
  /// object. `event_window` is how many events are kept for watches to replay.
  /// Throws std::runtime_error naming the file when it cannot be opened.
  explicit Store(const std::string& path, size_t event_window = 50000);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  /// Stores a new object: sets metadata.uid, resourceVersion, creationTimestamp and generation 1.
  /// Throws 409 AlreadyExists.
  Json create(const std::string& resource, Json obj);
  std::optional<Json> get(const std::string& resource, const std::string& ns, const std::string& name) const;
  ObjectPtr getPtr(const std::string& resource, const std::string& ns, const std::string& name) const;
  /// Objects of `filter.resource` (required) in `filter.ns` (empty = all), sorted by namespace and name.
  ListResult list(const Filter& filter, const ListOptions& options = {}) const;
  /// Replaces an object. A set metadata.resourceVersion that is not the current one → 409 Conflict.
  /// Keeps uid and creationTimestamp; bumps generation when anything outside metadata and status
  /// changed. An object being deleted whose finalizers become empty is deleted. Throws 404.
  Json update(const std::string& resource, Json obj);
  /// Read-modify-write under the store's lock (never conflicts): `fn` edits the current object and
  /// returns false to leave it unchanged. Returns the object as stored. Throws 404, or what fn throws.
  Json modify(const std::string& resource, const std::string& ns, const std::string& name,
              const std::function<bool(Json&)>& fn);
  /// Deletes an object, or marks it (deletionTimestamp) when it has finalizers or a grace period.
  /// Returns its last state. Throws 404, 409 on a failed precondition.
  Json remove(const std::string& resource, const std::string& ns, const std::string& name,
              const DeleteOptions& options = {});

  /// A watch from `from_rv` (events with a larger resourceVersion). Throws 410 when too old.
  std::unique_ptr<Watch> watch(Filter filter, int64_t from_rv);
  /// The resourceVersion of the last write.
  int64_t resourceVersion() const;
  /// Runs a trivial query: true when SQLite answers.
  bool healthy() const;

 private:
  friend class Watch;
  struct Resource;  // objects of one resource, by namespace/name
  void loadAll();
  void persist(const std::string& resource, const Json& obj, bool erase, int64_t rv);
  Json commit(const std::string& resource, EventType type, Json obj, ObjectPtr old);
  Json updateLocked(const std::string& resource, Json obj, ObjectPtr old);
  void publish(Event ev);
  std::optional<Event> nextEvent(Watch& w, std::chrono::milliseconds timeout);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  sqlite3_stmt* erase_ = nullptr;
  sqlite3_stmt* set_rv_ = nullptr;
  mutable std::shared_mutex data_mu_;  // guards objects_, rv_ and the database
  std::map<std::string, std::map<std::pair<std::string, std::string>, ObjectPtr>> objects_;
  int64_t rv_ = 0;

  mutable std::mutex events_mu_;
  std::condition_variable events_cv_;
  std::deque<Event> events_;   // contiguous: events_[i].rv == window_start_ + i + 1
  int64_t window_start_ = 0;   // the rv just before the first kept event
  size_t event_window_;
};

/// A new random UUID (version 4) string.
std::string newUid();
/// Now as RFC 3339 with second precision ("2026-11-27T09:00:00Z").
std::string nowRfc3339();

}  // namespace minikd::api
