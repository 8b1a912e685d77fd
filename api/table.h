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

}  // namespace minikd::api
