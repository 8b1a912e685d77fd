#pragma once
// The kinds minikd serves: their group, version, plural, scope and verbs. One table, used by the
// REST router, discovery, the store, the CLI and the dashboard.
#include <string>
#include <vector>

namespace minikd::api {

struct ResourceInfo {
  std::string group;     // "" for core
  std::string version;   // "v1"
  std::string kind;      // "Pod"
  std::string plural;    // "pods"
  std::string singular;  // "pod"
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;  // "all" for kubectl get all
  bool has_status = false;              // the status subresource
  bool has_scale = false;               // the scale subresource

  /// The store key: "pods", "deployments.apps", "endpointslices.discovery.k8s.io".
  std::string key() const { return group.empty() ? plural : plural + "." + group; }
  /// "v1" or "apps/v1".
  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  /// "/api/v1" or "/apis/apps/v1".
  std::string basePath() const { return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version; }
};

/// Every built-in resource, in discovery order.
const std::vector<ResourceInfo>& builtinResources();
/// The resource with this group and plural, or nullptr.
const ResourceInfo* findResource(const std::string& group, const std::string& plural);
/// The resource with this store key ("deployments.apps"), or nullptr.
const ResourceInfo* findResourceByKey(const std::string& key);
/// The resource for a kind and apiVersion ("Deployment", "apps/v1"), or nullptr.
const ResourceInfo* findResourceByKind(const std::string& api_version, const std::string& kind);
/// What a user types on a command line: "po", "pod", "pods", "deploy", "deployments.apps", "Pod".
const ResourceInfo* findResourceByName(const std::string& name);

}  // namespace minikd::api
