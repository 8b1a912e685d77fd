#include "minikd/kubeconfig.h"

#include "api/text.h"
#include "minikd/yaml.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

namespace minikd {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw KubeconfigError("cannot read kubeconfig \"" + path + "\": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The entry named `name` of a kubeconfig list (clusters, users, contexts), or null.
const Json* findNamed(const Json& config, const char* list, const std::string& name) {
  if (!config.contains(list) || !config[list].is_array()) return nullptr;
  for (const auto& e : config[list])
    if (e.is_object() && e.value("name", "") == name) return &e;
  return nullptr;
}

std::string str(const Json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return "";
  return obj[key].get<std::string>();
}

std::string dashboardFromExtensions(const Json& cluster) {
  if (!cluster.contains("extensions") || !cluster["extensions"].is_array()) return "";
  for (const auto& e : cluster["extensions"]) {
    std::string n = str(e, "name");
    if (n != "minikd.dev" && n != "minikd") continue;
    const Json ext = e.value("extension", Json::object());
    for (const char* k : {"dashboardURL", "dashboardUrl", "dashboard-url", "dashboard"})
      if (!str(ext, k).empty()) return str(ext, k);
  }
  return "";
}

/// Replaces (or appends) the entry called `name` in `config[list]`.
void upsertNamed(Json& config, const char* list, const std::string& name, Json body, const char* body_key) {
  if (!config.contains(list) || !config[list].is_array()) config[list] = Json::array();
  Json entry = {{"name", name}, {body_key, std::move(body)}};
  for (auto& e : config[list]) {
    if (e.is_object() && e.value("name", "") == name) {
      e = std::move(entry);
      return;
    }
  }
  config[list].push_back(std::move(entry));
}

}  // namespace

std::string chooseKubeconfigPath(const std::function<std::optional<std::string>(const char*)>& env,
                                 const std::function<bool(const std::string&)>& readable,
                                 const std::string& state_dir_kubeconfig) {
  if (auto kc = env("KUBECONFIG"); kc && !kc->empty()) {
    std::stringstream ss(*kc);
    std::string part, first;
    while (std::getline(ss, part, ':')) {
      if (part.empty()) continue;
      if (first.empty()) first = part;
      if (readable(part)) return part;
    }
    if (!first.empty()) return first;
  }
  if (readable(state_dir_kubeconfig)) return state_dir_kubeconfig;
  std::string home = env("HOME").value_or("");
  return (home.empty() ? std::string("/root") : home) + "/.kube/config";
}

Json parseKubeconfig(const std::string& text, const std::string& source) {
  Json config;
  try {
    config = parseYaml(text);
  } catch (const YamlError& e) {
    throw KubeconfigError("invalid kubeconfig \"" + source + "\": " + e.what());
  }
  if (!config.is_object()) throw KubeconfigError("invalid kubeconfig \"" + source + "\": not a map");
  return config;
}

Json loadKubeconfig(const std::string& path) { return parseKubeconfig(readFile(path), path); }

ClusterAccess resolveAccess(const Json& config, const std::string& context, bool prefer_minikd,
                            const std::string& source) {
  std::string ctx_name = context;
  if (ctx_name.empty() && prefer_minikd && findNamed(config, "contexts", "minikd")) ctx_name = "minikd";
  if (ctx_name.empty()) ctx_name = str(config, "current-context");
  std::string where = source.empty() ? "kubeconfig" : "kubeconfig \"" + source + "\"";
  if (ctx_name.empty()) throw KubeconfigError(where + " has no current-context");
  const Json* ctx = findNamed(config, "contexts", ctx_name);
  if (!ctx) throw KubeconfigError("context \"" + ctx_name + "\" not found in " + where);
  const Json c = ctx->value("context", Json::object());
  const Json* cluster = findNamed(config, "clusters", str(c, "cluster"));
  if (!cluster) throw KubeconfigError("cluster \"" + str(c, "cluster") + "\" of context \"" + ctx_name + "\" not found in " + where);
  const Json cl = cluster->value("cluster", Json::object());

  ClusterAccess a;
  a.context = ctx_name;
  a.source = source;
  a.server = str(cl, "server");
  if (a.server.empty()) throw KubeconfigError("cluster \"" + str(c, "cluster") + "\" has no server in " + where);
  while (!a.server.empty() && a.server.back() == '/') a.server.pop_back();
  if (!str(cl, "certificate-authority-data").empty()) a.ca_pem = base64Decode(str(cl, "certificate-authority-data"));
  else if (!str(cl, "certificate-authority").empty()) a.ca_pem = readFile(str(cl, "certificate-authority"));
  a.insecure = cl.value("insecure-skip-tls-verify", false);
  a.dashboard_url = dashboardFromExtensions(cl);
  if (!str(c, "namespace").empty()) a.ns = str(c, "namespace");
  if (const Json* user = findNamed(config, "users", str(c, "user"))) {
    const Json u = user->value("user", Json::object());
    a.token = str(u, "token");
    if (a.token.empty() && !str(u, "tokenFile").empty()) {
      a.token = readFile(str(u, "tokenFile"));
      while (!a.token.empty() && std::isspace(static_cast<unsigned char>(a.token.back()))) a.token.pop_back();
    }
  }
  return a;
}

Json mergeKubeconfig(const Json& base, const Json& add, const std::string& name) {
  ClusterAccess probe = resolveAccess(add);  // validates `add`
  (void)probe;
  const Json* ctx = findNamed(add, "contexts", str(add, "current-context"));
  const Json c = ctx->value("context", Json::object());
  const Json* cluster = findNamed(add, "clusters", str(c, "cluster"));
  const Json* user = findNamed(add, "users", str(c, "user"));

  Json out = base.is_object() ? base : Json::object();
  if (!out.contains("apiVersion")) out["apiVersion"] = "v1";
  if (!out.contains("kind")) out["kind"] = "Config";
  if (!out.contains("preferences")) out["preferences"] = Json::object();
  upsertNamed(out, "clusters", name, cluster->value("cluster", Json::object()), "cluster");
  upsertNamed(out, "users", name, user ? user->value("user", Json::object()) : Json::object(), "user");
  Json new_ctx = c;
  new_ctx["cluster"] = name;
  new_ctx["user"] = name;
  upsertNamed(out, "contexts", name, new_ctx, "context");
  out["current-context"] = name;
  return out;
}

std::string base64Decode(const std::string& in) {
  auto out = api::base64Decode(in);
  if (!out) throw KubeconfigError("invalid base64 data");
  return *out;
}

std::string base64Encode(const std::string& in) { return api::base64Encode(in); }

}  // namespace minikd
