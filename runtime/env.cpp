#include "runtime/env.h"

#include "api/text.h"

namespace minikd::runtime {

using nlohmann::json;

namespace {

std::string fieldValue(const json& pod, const std::string& path, const std::string& pod_ip) {
  const json& meta = pod.value("metadata", json::object());
  if (path == "metadata.name") return meta.value("name", "");
  if (path == "metadata.namespace") return meta.value("namespace", "");
  if (path == "metadata.uid") return meta.value("uid", "");
  if (path == "status.podIP") return pod_ip;
  if (path == "status.hostIP") return pod.value("status", json::object()).value("hostIP", "");
  if (path == "spec.nodeName") return pod.value("spec", json::object()).value("nodeName", "");
  if (path == "spec.serviceAccountName") return pod.value("spec", json::object()).value("serviceAccountName", "default");
  // metadata.labels['key'] / metadata.annotations['key']
  for (const char* map : {"labels", "annotations"}) {
    std::string prefix = std::string("metadata.") + map + "['";
    if (path.rfind(prefix, 0) == 0 && path.size() > prefix.size() + 2 && path.substr(path.size() - 2) == "']") {
      std::string key = path.substr(prefix.size(), path.size() - prefix.size() - 2);
      return meta.value(map, json::object()).value(key, "");
    }
  }
  throw ConfigError("unsupported fieldRef fieldPath \"" + path + "\"");
}

/// The value of key `key` of a ConfigMap ("data") or Secret ("data", base64), nullopt when absent.
std::optional<std::string> keyValue(const std::string& resource, const json& obj, const std::string& key) {
  if (obj.contains("data") && obj["data"].contains(key)) {
    std::string v = obj["data"][key].get<std::string>();
    return resource == "secrets" ? base64Decode(v) : v;
  }
  if (obj.contains("stringData") && obj["stringData"].contains(key)) return obj["stringData"][key].get<std::string>();
  if (resource == "configmaps" && obj.contains("binaryData") && obj["binaryData"].contains(key))
    return base64Decode(obj["binaryData"][key].get<std::string>());
  return std::nullopt;
}

std::optional<std::string> refValue(const std::string& resource, const json& ref, const std::string& ns,
                                    const ObjectLookup& lookup) {
  std::string name = ref.value("name", "");
  std::string key = ref.value("key", "");
  bool optional = ref.value("optional", false);
  const char* kind = resource == "secrets" ? "secret" : "configmap";
  auto obj = lookup(resource, ns, name);
  if (!obj) {
    if (optional) return std::nullopt;
    throw ConfigError(std::string(kind) + " \"" + name + "\" not found");
  }
  auto v = keyValue(resource, *obj, key);
  if (!v && !optional)
    throw ConfigError("couldn't find key " + key + " in " + (resource == "secrets" ? "Secret " : "ConfigMap ") + ns + "/" + name);
  return v;
}

void addEnvFrom(const json& container, const std::string& ns, const ObjectLookup& lookup,
                std::map<std::string, std::string>& env) {
  for (const auto& src : container.value("envFrom", json::array())) {
    std::string prefix = src.value("prefix", "");
    for (const char* resource : {"configmaps", "secrets"}) {
      const char* field = std::string(resource) == "secrets" ? "secretRef" : "configMapRef";
      if (!src.contains(field)) continue;
      const json& ref = src[field];
      auto obj = lookup(resource, ns, ref.value("name", ""));
      if (!obj) {
        if (ref.value("optional", false)) continue;
        throw ConfigError(std::string(std::string(resource) == "secrets" ? "secret" : "configmap") + " \"" +
                          ref.value("name", "") + "\" not found");
      }
      for (const char* data : {"data", "stringData"}) {
        if (!obj->contains(data)) continue;
        for (auto it = (*obj)[data].begin(); it != (*obj)[data].end(); ++it)
          env[prefix + it.key()] = *keyValue(resource, *obj, it.key());
      }
    }
  }
}

}  // namespace

std::map<std::string, std::string> resolveEnv(const json& pod, const json& container, const std::string& pod_ip,
                                              const ObjectLookup& lookup, std::map<std::string, std::string> env) {
  std::string ns = pod.value("metadata", json::object()).value("namespace", "default");
  addEnvFrom(container, ns, lookup, env);
  for (const auto& e : container.value("env", json::array())) {
    std::string name = e.value("name", "");
    if (name.empty()) continue;
    if (e.contains("value")) {
      env[name] = expandVars(e["value"].get<std::string>(), env);
      continue;
    }
    if (!e.contains("valueFrom")) {
      env[name] = "";
      continue;
    }
    const json& from = e["valueFrom"];
    std::optional<std::string> v;
    if (from.contains("fieldRef")) v = fieldValue(pod, from["fieldRef"].value("fieldPath", ""), pod_ip);
    else if (from.contains("configMapKeyRef")) v = refValue("configmaps", from["configMapKeyRef"], ns, lookup);
    else if (from.contains("secretKeyRef")) v = refValue("secrets", from["secretKeyRef"], ns, lookup);
    else throw ConfigError("env \"" + name + "\": unsupported valueFrom");
    if (v) env[name] = *v;
  }
  return env;
}

std::string expandVars(const std::string& s, const std::map<std::string, std::string>& env) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '$' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    if (s[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    size_t close = s[i + 1] == '(' ? s.find(')', i + 2) : std::string::npos;
    if (close == std::string::npos) {
      out += s[i];
      continue;
    }
    std::string name = s.substr(i + 2, close - i - 2);
    auto it = env.find(name);
    out += it != env.end() ? it->second : s.substr(i, close - i + 1);
    i = close;
  }
  return out;
}

std::vector<std::string> containerArgv(const json& container, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv;
  for (const char* field : {"command", "args"})
    for (const auto& a : container.value(field, json::array())) argv.push_back(expandVars(a.get<std::string>(), env));
  return argv;
}

std::string base64Decode(const std::string& in) {
  auto out = api::base64Decode(in);
  if (!out) throw ConfigError("bad base64 data");
  return *out;
}

}  // namespace minikd::runtime
