#pragma once
// The PATCH flavours: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes strategic
// merge patch (list merge keys and the $patch, $setElementOrder, $retainKeys, $deleteFromPrimitiveList
// directives).
#include "api/errors.h"
#include "api/resources.h"

namespace minikd::api {

/// RFC 7386. Throws ApiError 400 when `patch` is not an object.
Json applyMergePatch(const Json& target, const Json& patch);
/// RFC 6902. Throws ApiError 422 (or 400 for a malformed patch) naming the failed operation.
Json applyJsonPatch(const Json& target, const Json& patch);
/// Strategic merge patch for kind `r`: lists with a merge key (containers by name, ports by
/// containerPort/port, env by name, volumes by name, ...) merge by key; other lists are replaced.
/// Throws ApiError 400 on a malformed patch.
Json applyStrategicMergePatch(const ResourceInfo& r, const Json& target, const Json& patch);

}  // namespace minikd::api
