#pragma once
// The pure parts of `apply`: the three-way merge patch between the last applied configuration, the
// manifest and the live object.
#include <nlohmann/json.hpp>

namespace minikd::cli {

using Json = nlohmann::json;

/// The annotation client-side apply keeps the applied manifest in.
extern const char* const kLastApplied;

/// A JSON merge patch (RFC 7386) that turns `current` into `modified` for the fields the user owns:
/// keys of `modified` that differ (objects recursively; lists replaced unless `modified`'s list is a
/// subset of the live one, i.e. equal up to server defaults) are set, and keys that were in `original`
/// (the last applied manifest) but are gone from `modified` are deleted. Keys nobody applied stay.
Json threeWayMergePatch(const Json& original, const Json& modified, const Json& current);

/// True when every field of `a` is in `b` with the same value (lists: same length, element-wise).
bool subsetEqual(const Json& a, const Json& b);

/// `v` without null-valued keys (`creationTimestamp: null` from `--dry-run -o yaml`).
Json stripNulls(const Json& v);

}  // namespace minikd::cli
