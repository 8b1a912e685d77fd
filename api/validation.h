#pragma once
// API defaults and validation for the built-in kinds (see shared/k8s-merge-keys-and-defaults.md).
#include "api/errors.h"
#include "api/resources.h"

#include <string>
#include <vector>

namespace minikd::api {

/// Fills the API defaults of `r` into `obj` (e.g. a pod's restartPolicy, a port's protocol).
void applyDefaults(const ResourceInfo& r, Json& obj);

/// Checks `obj` of kind `r`; `old` is the stored object on update (immutable fields), nullptr on create.
/// Returns every problem found; empty = valid.
std::vector<Cause> validate(const ResourceInfo& r, const Json& obj, const Json* old);

/// The fields of `obj` that kind `r` does not have, as paths (".spec.foo", ".spec.containers[0].bar"),
/// for fieldValidation=Strict (400) and Warn (a Warning header).
std::vector<std::string> unknownFields(const ResourceInfo& r, const Json& obj);

}  // namespace minikd::api
