#pragma once
// The API's behaviour on top of the store: defaults, validation, admission (e.g. ClusterIP
// allocation), subresources, patches, deletion with grace and propagation. The REST handlers and
// every in-process controller go through this one class.
#include "api/errors.h"
#include "api/resources.h"
#include "api/store.h"

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace minikd::api {

enum class Subresource { None, Status, Scale };

struct WriteOptions {
  bool dry_run = false;
  std::string field_manager;
  /// fieldValidation: "Strict" rejects unknown fields (400), "Warn" (default) reports them, "Ignore".
  std::string field_validation = "Warn";
  /// Filled with warnings (unknown fields) for the Warning response header.
  std::vector<std::string>* warnings = nullptr;
  /// Server-side apply: take fields from other managers.
  bool force = false;
  /// Record an Update entry in managedFields for field_manager (off for apply writes, which record Apply).
  bool record_managed = true;
};

struct DeleteRequest {
  DeleteOptions options;
  /// "Background" (default), "Foreground" or "Orphan".
  std::string propagation_policy;
};

/// Where an admission hook runs: creating a new object or updating a stored one.
enum class Operation { Create, Update };

class Api {
 public:
  struct Options {
    /// Pods on this node are deleted gracefully: marked, then removed by the runtime once stopped.
    bool graceful_pod_deletion = false;
    /// The name of this node (Node object, pods' spec.nodeName).
    std::string node_name;
  };

  explicit Api(Store& store) : Api(store, Options{}) {}
  Api(Store& store, Options options) : store_(store), options_(std::move(options)) {}
  Store& store() { return store_; }
  const Options& options() const { return options_; }

  /// A hook run on create and update of the resource with store key `key` (after defaults, before
  /// validation). It may change `obj` (allocate a ClusterIP) and throw ApiError (422) to refuse it.
  /// `old` is the stored object on update. Register hooks before serving.
  using Admission = std::function<void(Operation op, Json& obj, const Json* old)>;
  void addAdmission(const std::string& key, Admission fn);

  /// POST. Fills metadata.namespace, generateName, defaults; validates. Throws ApiError.
  Json create(const ResourceInfo& r, const std::string& ns, Json obj, const WriteOptions& w = {});
  /// GET. Throws 404.
  Json get(const ResourceInfo& r, const std::string& ns, const std::string& name, Subresource sub = Subresource::None);
  /// LIST. `filter.resource` and `filter.ns` are set from r and ns.
  ListResult list(const ResourceInfo& r, const std::string& ns, Filter filter, const ListOptions& o = {});
  /// PUT. With Subresource::Status only the status is taken from `obj`; otherwise everything but the
  /// status. A stale metadata.resourceVersion → 409. Throws ApiError.
  Json update(const ResourceInfo& r, const std::string& ns, const std::string& name, Json obj,
              Subresource sub = Subresource::None, const WriteOptions& w = {});
  /// PATCH with content type application/merge-patch+json, application/json-patch+json,
  /// application/strategic-merge-patch+json or application/apply-patch+yaml. Apply patches create.
  Json patch(const ResourceInfo& r, const std::string& ns, const std::string& name, const std::string& content_type,
             const Json& patch, Subresource sub = Subresource::None, const WriteOptions& w = {});
  /// DELETE. Returns the object's last state (marked for deletion, or gone).
  Json remove(const ResourceInfo& r, const std::string& ns, const std::string& name, const DeleteRequest& d = {});
  /// A watch from `rv`; rv 0 starts with an ADDED event for every existing object (via the returned
  /// initial list, which the caller sends first). Throws 410 when too old.
  struct WatchStart {
    std::vector<ObjectPtr> initial;  // synthetic ADDED events (rv 0 watches only)
    std::unique_ptr<Watch> watch;
  };
  WatchStart watch(const ResourceInfo& r, const std::string& ns, Filter filter, int64_t rv);

  /// Read-modify-write for controllers: retries never needed (runs under the store lock). Defaults and
  /// validation are applied to the result. Throws 404 or what fn throws.
  Json modify(const ResourceInfo& r, const std::string& ns, const std::string& name,
              const std::function<bool(Json&)>& fn);

 private:
  Json admit(const ResourceInfo& r, Operation op, Json obj, const Json* old, const WriteOptions& w);
  Json applyPatchToObject(const ResourceInfo& r, const Json& current, const std::string& content_type,
                          const Json& patch, const WriteOptions& w);

  Store& store_;
  Options options_;
  std::map<std::string, std::vector<Admission>> admission_;
};

/// The kinds' object metadata helpers.
std::string namespaceOf(const Json& obj);
std::string nameOf(const Json& obj);
/// "Pod" → "pods" and similar, for error messages: `r.plural` (+ "." + group).
std::string qualifiedResource(const ResourceInfo& r);

}  // namespace minikd::api
