#pragma once
// Discovery documents (legacy and aggregated), /version and the OpenAPI v3 documents kubectl checks.
#include "api/errors.h"

#include <optional>
#include <string>

namespace minikd::api {

Json versionInfo();
/// GET /api (legacy APIVersions).
Json legacyApiVersions(const std::string& server_address);
/// GET /apis (legacy APIGroupList).
Json legacyApiGroupList();
/// GET /apis/<group> (APIGroup), or nullopt for an unknown group.
std::optional<Json> legacyApiGroup(const std::string& group);
/// GET /api/v1 or /apis/<group>/<version> (APIResourceList), or nullopt.
std::optional<Json> apiResourceList(const std::string& group, const std::string& version);
/// Aggregated discovery (APIGroupDiscoveryList) for /api (core = true) or /apis; `v` is "v2" or "v2beta1".
Json aggregatedDiscovery(bool core, const std::string& v);
/// GET /openapi/v3.
Json openApiRoot();
/// GET /openapi/v3/<gv path> ("api/v1", "apis/apps/v1"), or nullopt.
std::optional<Json> openApiGroupVersion(const std::string& gv_path);

}  // namespace minikd::api
