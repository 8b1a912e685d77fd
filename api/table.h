#pragma once
// Server-side Table output (meta.k8s.io/v1 Table), with the columns a real apiserver prints
// (shared/kubectl-table-columns.md).
#include "api/resources.h"
#include "api/store.h"

namespace minikd::api {

/// A Table of `items` of kind `r`. `include_object`: "Object" (the whole object in each row) or
/// "Metadata" (PartialObjectMetadata, the default) or "None".
Json toTable(const ResourceInfo& r, const std::vector<ObjectPtr>& items, const Json& list_metadata,
             const std::string& include_object = "Metadata");
/// As above, with every age computed against `now` (seconds since the Unix epoch).
Json toTable(const ResourceInfo& r, const std::vector<ObjectPtr>& items, const Json& list_metadata,
             const std::string& include_object, int64_t now);

/// kubectl's age format (apimachinery duration.HumanDuration) for `seconds` elapsed: "45s", "3m2s",
/// "10m", "5h30m", "2d3h", "2y1d"; "<invalid>" below -1 s.
std::string humanDuration(int64_t seconds);

}  // namespace minikd::api
