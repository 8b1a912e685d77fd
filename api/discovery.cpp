#include "api/discovery.h"

#include "api/resources.h"

#include <set>

namespace minikd::api {
namespace {

const std::vector<std::string> kVerbs = {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};

std::vector<std::string> groupsInOrder() {
  std::vector<std::string> out;
  for (const auto& r : builtinResources())
    if (!r.group.empty() && std::find(out.begin(), out.end(), r.group) == out.end()) out.push_back(r.group);
  return out;
}

Json groupVersion(const std::string& group) {
  std::string gv = group + "/v1";
  return {{"groupVersion", gv}, {"version", "v1"}};
}

Json resourceEntry(const ResourceInfo& r) {
  Json e = {{"name", r.plural},      {"singularName", r.singular}, {"namespaced", r.namespaced},
            {"kind", r.kind},        {"verbs", kVerbs},            {"storageVersionHash", ""}};
  if (!r.short_names.empty()) e["shortNames"] = r.short_names;
  if (!r.categories.empty()) e["categories"] = r.categories;
  return e;
}

Json subEntry(const ResourceInfo& r, const std::string& sub, const std::string& kind, const std::string& group,
              const std::vector<std::string>& verbs) {
  return {{"name", r.plural + "/" + sub}, {"singularName", ""}, {"namespaced", r.namespaced}, {"kind", kind},
          {"verbs", verbs}, {"group", group}, {"version", "v1"}};
}

Json aggregatedResource(const ResourceInfo& r) {
  Json e = {{"resource", r.plural},
            {"responseKind", {{"group", r.group}, {"version", r.version}, {"kind", r.kind}}},
            {"scope", r.namespaced ? "Namespaced" : "Cluster"},
            {"singularResource", r.singular},
            {"verbs", kVerbs}};
  if (!r.short_names.empty()) e["shortNames"] = r.short_names;
  if (!r.categories.empty()) e["categories"] = r.categories;
  Json subs = Json::array();
  if (r.has_status)
    subs.push_back({{"subresource", "status"},
                    {"responseKind", {{"group", r.group}, {"version", r.version}, {"kind", r.kind}}},
                    {"verbs", {"get", "patch", "update"}}});
  if (r.has_scale)
    subs.push_back({{"subresource", "scale"},
                    {"responseKind", {{"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"}}},
                    {"verbs", {"get", "patch", "update"}}});
  if (r.kind == "Pod")
    subs.push_back({{"subresource", "log"},
                    {"responseKind", {{"group", ""}, {"version", "v1"}, {"kind", "Pod"}}},
                    {"verbs", {"get"}}});
  if (!subs.empty()) e["subresources"] = subs;
  return e;
}

Json openApiPath(const ResourceInfo& r, bool named) {
  Json gvk = {{"group", r.group}, {"version", r.version}, {"kind", r.kind}};
  Json params = Json::array({{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                             {{"name", "fieldManager"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
                             {{"name", "dryRun"}, {"in", "query"}, {"schema", {{"type", "string"}}}}});
  Json op = {{"x-kubernetes-group-version-kind", gvk}, {"parameters", params},
             {"responses", {{"200", {{"description", "OK"}}}}}};
  if (named) return {{"get", op}, {"put", op}, {"patch", op}, {"delete", op}};
  return {{"get", op}, {"post", op}};
}

}  // namespace

Json versionInfo() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.0-minikd"},
          {"gitCommit", "minikd"},
          {"gitTreeState", "clean"},
          {"buildDate", "2026-11-27T00:00:00Z"},
          {"goVersion", "go1.23.0"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

Json legacyApiVersions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

Json legacyApiGroupList() {
  Json groups = Json::array();
  for (const auto& g : groupsInOrder())
    groups.push_back({{"name", g}, {"versions", {groupVersion(g)}}, {"preferredVersion", groupVersion(g)}});
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<Json> legacyApiGroup(const std::string& group) {
  auto groups = groupsInOrder();
  if (std::find(groups.begin(), groups.end(), group) == groups.end()) return std::nullopt;
  return Json{{"kind", "APIGroup"}, {"apiVersion", "v1"}, {"name", group},
              {"versions", {groupVersion(group)}}, {"preferredVersion", groupVersion(group)}};
}

std::optional<Json> apiResourceList(const std::string& group, const std::string& version) {
  Json resources = Json::array();
  for (const auto& r : builtinResources()) {
    if (r.group != group || r.version != version) continue;
    resources.push_back(resourceEntry(r));
    if (r.has_status) resources.push_back(subEntry(r, "status", r.kind, "", {"get", "patch", "update"}));
    if (r.has_scale) resources.push_back(subEntry(r, "scale", "Scale", "autoscaling", {"get", "patch", "update"}));
    if (r.kind == "Pod") resources.push_back(subEntry(r, "log", "Pod", "", {"get"}));
  }
  if (resources.empty()) return std::nullopt;
  std::string gv = group.empty() ? version : group + "/" + version;
  return Json{{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", gv}, {"resources", resources}};
}

Json aggregatedDiscovery(bool core, const std::string& v) {
  Json items = Json::array();
  std::vector<std::string> groups = core ? std::vector<std::string>{""} : groupsInOrder();
  for (const auto& g : groups) {
    Json resources = Json::array();
    for (const auto& r : builtinResources())
      if (r.group == g) resources.push_back(aggregatedResource(r));
    items.push_back({{"metadata", {{"name", g}, {"creationTimestamp", nullptr}}},
                     {"versions", {{{"version", "v1"}, {"freshness", "Current"}, {"resources", resources}}}}});
  }
  return {{"kind", "APIGroupDiscoveryList"}, {"apiVersion", "apidiscovery.k8s.io/" + v}, {"metadata", Json::object()},
          {"items", items}};
}

Json openApiRoot() {
  Json paths = Json::object();
  std::set<std::string> seen;
  for (const auto& r : builtinResources()) {
    std::string gv = r.basePath().substr(1);
    if (!seen.insert(gv).second) continue;
    paths[gv] = {{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=" + std::to_string(std::hash<std::string>{}(gv) % 100000000)}};
  }
  return {{"paths", paths}};
}

std::optional<Json> openApiGroupVersion(const std::string& gv_path) {
  Json paths = Json::object();
  for (const auto& r : builtinResources()) {
    if (r.basePath().substr(1) != gv_path) continue;
    std::string base = r.basePath() + (r.namespaced ? "/namespaces/{namespace}/" : "/") + r.plural;
    paths[base] = openApiPath(r, false);
    paths[base + "/{name}"] = openApiPath(r, true);
    if (r.has_status) paths[base + "/{name}/status"] = openApiPath(r, true);
  }
  if (paths.empty()) return std::nullopt;
  return Json{{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0"}}},
              {"paths", paths},
              {"components", {{"schemas", Json::object()}}}};
}

}  // namespace minikd::api
