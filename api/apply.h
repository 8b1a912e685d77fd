#pragma once
// Server-side apply (PATCH with application/apply-patch+yaml) and managedFields bookkeeping, after
// sigs.k8s.io/structured-merge-diff: every field is owned by the managers that set it; an apply
// merges the applied configuration into the live object, removes the fields the same manager applied
// before and no longer applies (unless someone else owns them), and refuses (409) to change a value
// another manager owns unless forced.
#include "api/errors.h"
#include "api/resources.h"

#include <string>

namespace minikd::api {

/// Who writes, and how the write is recorded in metadata.managedFields.
struct ManagedWrite {
  /// The field manager (`fieldManager` query, or the User-Agent up to the first '/'). Required.
  std::string manager;
  /// The apiVersion recorded in the entry ("v1", "apps/v1").
  std::string api_version;
  /// The time recorded in the entry, RFC 3339 UTC seconds ("2024-05-01T12:00:00Z").
  std::string time;
  /// Apply only: take the conflicting fields from their managers instead of failing.
  bool force = false;
};

/// Server-side apply of `applied` (the request body: apiVersion, kind and the fields this manager
/// wants to own) onto `live` (nullptr when the object does not exist yet: it is created from the body).
/// Returns the merged object with metadata.managedFields updated (operation "Apply", FieldsV1).
/// The caller then defaults, validates and stores it as for any update.
/// Throws ApiError 400 when `applied` is not an object or names another kind, and 409 Conflict
/// (`Apply failed with N conflicts: conflict with "<manager>" using <apiVersion>: .spec.replicas`,
/// one cause per field, reason FieldManagerConflict) when it would change a value another manager owns
/// and `w.force` is false.
Json serverSideApply(const ResourceInfo& r, const Json* live, const Json& applied, const ManagedWrite& w);

/// Records a non-apply write (create, update, merge/JSON/strategic patch) of `updated` over `old`
/// (nullptr on create): the fields the write added or changed become owned by `w.manager` (operation
/// "Update") and are released by every other manager; fields it removed are released by all.
/// Returns `updated` with metadata.managedFields set. An empty `w.manager` records nothing.
Json recordManagedUpdate(const ResourceInfo& r, const Json* old, Json updated, const ManagedWrite& w);

}  // namespace minikd::api
