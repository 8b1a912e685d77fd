#include "api/resources.h"

#include <algorithm>
#include <cctype>

namespace minikd::api {

const std::vector<ResourceInfo>& builtinResources() {
  static const std::vector<ResourceInfo> all = {
      {"", "v1", "Namespace", "namespaces", "namespace", false, {"ns"}, {}, true, false},
      {"", "v1", "Node", "nodes", "node", false, {"no"}, {}, true, false},
      {"", "v1", "Pod", "pods", "pod", true, {"po"}, {"all"}, true, false},
      {"", "v1", "Service", "services", "service", true, {"svc"}, {"all"}, true, false},
      {"", "v1", "Endpoints", "endpoints", "endpoints", true, {"ep"}, {}, false, false},
      {"", "v1", "ConfigMap", "configmaps", "configmap", true, {"cm"}, {}, false, false},
      {"", "v1", "Secret", "secrets", "secret", true, {}, {}, false, false},
      {"", "v1", "Event", "events", "event", true, {"ev"}, {}, false, false},
      {"apps", "v1", "Deployment", "deployments", "deployment", true, {"deploy"}, {"all"}, true, true},
      {"apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, {"rs"}, {"all"}, true, true},
      {"discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, {}, {}, false, false},
  };
  return all;
}

const ResourceInfo* findResource(const std::string& group, const std::string& plural) {
  for (const auto& r : builtinResources())
    if (r.group == group && r.plural == plural) return &r;
  return nullptr;
}

const ResourceInfo* findResourceByKey(const std::string& key) {
  for (const auto& r : builtinResources())
    if (r.key() == key) return &r;
  return nullptr;
}

const ResourceInfo* findResourceByKind(const std::string& api_version, const std::string& kind) {
  for (const auto& r : builtinResources())
    if (r.kind == kind && r.apiVersion() == api_version) return &r;
  return nullptr;
}

const ResourceInfo* findResourceByName(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& r : builtinResources()) {
    std::string kind = r.kind;
    std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == r.plural || lower == r.singular || lower == kind || lower == r.key() ||
        lower == r.singular + "." + r.group)
      return &r;
    if (std::find(r.short_names.begin(), r.short_names.end(), lower) != r.short_names.end()) return &r;
  }
  return nullptr;
}

}  // namespace minikd::api
