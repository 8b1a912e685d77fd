// API defaults, validation and the unknown-field check for the built-in kinds. Facts (defaults,
// wording of the messages) follow Kubernetes 1.32: shared/k8s-merge-keys-and-defaults.md §5–6.
#include "api/validation.h"

#include "api/selector.h"
#include "api/text.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <set>

namespace minikd::api {
namespace {

// ---------------------------------------------------------------------------------------------
// Small JSON helpers

bool isObj(const Json& j, const char* key) { return j.is_object() && j.contains(key) && j[key].is_object(); }
bool isArr(const Json& j, const char* key) { return j.is_object() && j.contains(key) && j[key].is_array(); }

/// The string at `key`, or "" when absent or not a string.
std::string str(const Json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

/// Sets `j[key] = value` when the key is absent or null.
void setDefault(Json& j, const char* key, const Json& value) {
  if (!j.contains(key) || j[key].is_null()) j[key] = value;
}

/// A value as kubectl quotes it in messages: strings in quotes, numbers bare.
std::string quote(const Json& v) {
  if (v.is_string()) return "\"" + v.get<std::string>() + "\"";
  return v.dump();
}

// ---------------------------------------------------------------------------------------------
// Defaults

std::string imagePullPolicyFor(const std::string& image) {
  // A digest pins the image; otherwise the tag is what follows the last ':' after the last '/'.
  if (image.find('@') != std::string::npos) return "IfNotPresent";
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  bool has_tag = colon != std::string::npos && (slash == std::string::npos || colon > slash);
  if (!has_tag) return "Always";
  return image.substr(colon + 1) == "latest" ? "Always" : "IfNotPresent";
}

void defaultProbe(Json& probe) {
  if (!probe.is_object()) return;
  setDefault(probe, "timeoutSeconds", 1);
  setDefault(probe, "periodSeconds", 10);
  setDefault(probe, "successThreshold", 1);
  setDefault(probe, "failureThreshold", 3);
  if (isObj(probe, "httpGet")) {
    setDefault(probe["httpGet"], "path", "/");
    setDefault(probe["httpGet"], "scheme", "HTTP");
  }
}

void defaultContainer(Json& c) {
  if (!c.is_object()) return;
  if (c.contains("image") && c["image"].is_string()) setDefault(c, "imagePullPolicy", imagePullPolicyFor(str(c, "image")));
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  if (isArr(c, "ports"))
    for (auto& p : c["ports"])
      if (p.is_object()) setDefault(p, "protocol", "TCP");
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
    if (isObj(c, probe)) defaultProbe(c[probe]);
  if (isArr(c, "env"))
    for (auto& e : c["env"])
      if (isObj(e, "valueFrom") && isObj(e["valueFrom"], "fieldRef"))
        setDefault(e["valueFrom"]["fieldRef"], "apiVersion", "v1");
}

void defaultVolume(Json& v) {
  if (!v.is_object()) return;
  bool has_source = false;
  for (auto& [k, val] : v.items())
    if (k != "name") has_source = true;
  if (!has_source) v["emptyDir"] = Json::object();
  for (const char* kind : {"secret", "configMap", "downwardAPI", "projected"})
    if (isObj(v, kind)) setDefault(v[kind], "defaultMode", 420);
  if (isObj(v, "projected") && isArr(v["projected"], "sources"))
    for (auto& s : v["projected"]["sources"])
      if (isObj(s, "serviceAccountToken")) setDefault(s["serviceAccountToken"], "expirationSeconds", 3600);
}

/// The defaults of a pod spec; `pod_only` adds those SetDefaults_Pod sets but templates do not get.
void defaultPodSpec(Json& spec, bool pod_only) {
  if (!spec.is_object()) return;
  setDefault(spec, "restartPolicy", "Always");
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "schedulerName", "default-scheduler");
  setDefault(spec, "securityContext", Json::object());
  if (pod_only) setDefault(spec, "enableServiceLinks", true);
  for (const char* list : {"containers", "initContainers", "ephemeralContainers"}) {
    if (!isArr(spec, list)) continue;
    for (auto& c : spec[list]) {
      defaultContainer(c);
      if (!pod_only || !c.is_object()) continue;
      if (spec.value("hostNetwork", false) && isArr(c, "ports"))
        for (auto& p : c["ports"])
          if (p.is_object() && p.contains("containerPort")) setDefault(p, "hostPort", p["containerPort"]);
      if (isObj(c, "resources") && isObj(c["resources"], "limits")) {
        Json& res = c["resources"];
        if (!isObj(res, "requests")) res["requests"] = Json::object();
        for (auto& [k, v] : res["limits"].items()) setDefault(res["requests"], k.c_str(), v);
      }
    }
  }
  if (isArr(spec, "volumes"))
    for (auto& v : spec["volumes"]) defaultVolume(v);
}

void defaultTemplate(Json& obj) {
  if (isObj(obj, "spec") && isObj(obj["spec"], "template") && isObj(obj["spec"]["template"], "spec"))
    defaultPodSpec(obj["spec"]["template"]["spec"], false);
}

void defaultService(Json& obj) {
  if (!isObj(obj, "spec")) obj["spec"] = Json::object();
  Json& spec = obj["spec"];
  setDefault(spec, "type", "ClusterIP");
  std::string type = str(spec, "type");
  setDefault(spec, "sessionAffinity", "None");
  if (str(spec, "sessionAffinity") == "None") spec.erase("sessionAffinityConfig");
  if (str(spec, "sessionAffinity") == "ClientIP") {
    if (!isObj(spec, "sessionAffinityConfig")) spec["sessionAffinityConfig"] = Json::object();
    if (!isObj(spec["sessionAffinityConfig"], "clientIP")) spec["sessionAffinityConfig"]["clientIP"] = Json::object();
    setDefault(spec["sessionAffinityConfig"]["clientIP"], "timeoutSeconds", 10800);
  }
  if (isArr(spec, "ports"))
    for (auto& p : spec["ports"]) {
      if (!p.is_object()) continue;
      setDefault(p, "protocol", "TCP");
      const Json tp = p.value("targetPort", Json());
      bool unset = tp.is_null() || (tp.is_number() && tp.get<int64_t>() == 0) || (tp.is_string() && tp.get<std::string>().empty());
      if (unset && p.contains("port")) p["targetPort"] = p["port"];
    }
  if (type == "ClusterIP" || type == "NodePort" || type == "LoadBalancer") setDefault(spec, "internalTrafficPolicy", "Cluster");
  if (type == "NodePort" || type == "LoadBalancer") setDefault(spec, "externalTrafficPolicy", "Cluster");
  if (type == "LoadBalancer") setDefault(spec, "allocateLoadBalancerNodePorts", true);
  if (type != "ExternalName") {
    bool headless_selectorless = str(spec, "clusterIP") == "None" && !isObj(spec, "selector");
    setDefault(spec, "ipFamilyPolicy", headless_selectorless ? "RequireDualStack" : "SingleStack");
    setDefault(spec, "ipFamilies", Json::array({"IPv4"}));
  }
}

void defaultDeployment(Json& obj) {
  if (!isObj(obj, "spec")) obj["spec"] = Json::object();
  Json& spec = obj["spec"];
  setDefault(spec, "replicas", 1);
  if (!isObj(spec, "strategy")) spec["strategy"] = Json::object();
  Json& strategy = spec["strategy"];
  setDefault(strategy, "type", "RollingUpdate");
  if (str(strategy, "type") == "RollingUpdate") {
    if (!isObj(strategy, "rollingUpdate")) strategy["rollingUpdate"] = Json::object();
    setDefault(strategy["rollingUpdate"], "maxUnavailable", "25%");
    setDefault(strategy["rollingUpdate"], "maxSurge", "25%");
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  setDefault(spec, "progressDeadlineSeconds", 600);
  defaultTemplate(obj);
}

void defaultSecret(Json& obj) {
  setDefault(obj, "type", "Opaque");
  // stringData is write-only: like the apiserver's conversion, fold it into data.
  if (isObj(obj, "stringData")) {
    if (!isObj(obj, "data")) obj["data"] = Json::object();
    for (auto& [k, v] : obj["stringData"].items())
      if (v.is_string()) obj["data"][k] = base64Encode(v.get<std::string>());
    obj.erase("stringData");
  }
}

void defaultNamespace(Json& obj) {
  std::string name = isObj(obj, "metadata") ? str(obj["metadata"], "name") : "";
  if (!name.empty()) {
    if (!isObj(obj["metadata"], "labels")) obj["metadata"]["labels"] = Json::object();
    obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
  }
  if (!isObj(obj, "spec")) obj["spec"] = Json::object();
  if (!isArr(obj["spec"], "finalizers")) obj["spec"]["finalizers"] = Json::array({"kubernetes"});
  if (!isObj(obj, "status")) obj["status"] = Json::object();
  setDefault(obj["status"], "phase", "Active");
}

// ---------------------------------------------------------------------------------------------
// Name and value rules, with the apiserver's wording

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool isDns1123Label(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!isLowerAlnum(s.front()) || !isLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
}

bool isDns1123Subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty() || !isLowerAlnum(part.front()) || !isLowerAlnum(part.back())) return false;
    if (!std::all_of(part.begin(), part.end(), [](char c) { return isLowerAlnum(c) || c == '-'; })) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

const char* kSubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const char* kLabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
    "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const char* kDns1035Msg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// Empty when `s` is a DNS-1123 subdomain, else the reasons.
std::vector<std::string> subdomainErrors(const std::string& s) {
  std::vector<std::string> errs;
  if (s.size() > 253) errs.push_back("must be no more than 253 characters");
  if (!isDns1123Subdomain(s) && s.size() <= 253) errs.push_back(kSubdomainMsg);
  return errs;
}

std::vector<std::string> labelErrors(const std::string& s) {
  std::vector<std::string> errs;
  if (s.size() > 63) errs.push_back("must be no more than 63 characters");
  if (!isDns1123Label(s) && s.size() <= 63) errs.push_back(kLabelMsg);
  return errs;
}

std::vector<std::string> dns1035Errors(const std::string& s) {
  std::vector<std::string> errs;
  if (s.size() > 63) errs.push_back("must be no more than 63 characters");
  bool ok = !s.empty() && s.front() >= 'a' && s.front() <= 'z' && isLowerAlnum(s.back()) &&
            std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; });
  if (!ok && s.size() <= 63) errs.push_back(kDns1035Msg);
  return errs;
}

/// IANA_SVC_NAME: a port name.
std::vector<std::string> portNameErrors(const std::string& s) {
  std::vector<std::string> errs;
  if (s.size() > 15) errs.push_back("must be no more than 15 characters");
  if (!std::all_of(s.begin(), s.end(), [](char c) { return isLowerAlnum(c) || c == '-'; }))
    errs.push_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (s.find("--") != std::string::npos) errs.push_back("must not contain consecutive hyphens");
  if (std::none_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
    errs.push_back("must contain at least one letter (a-z)");
  if (!s.empty() && (s.front() == '-' || s.back() == '-')) errs.push_back("must not begin or end with a hyphen");
  return errs;
}

std::string joinErrors(const std::vector<std::string>& errs) {
  std::string out;
  for (const auto& e : errs) out += (out.empty() ? "" : ", ") + e;
  return out;
}

/// Kubernetes 1.32 (RelaxedEnvironmentVariableValidation, on by default): printable ASCII but '='.
bool isEnvVarName(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 32 && c <= 126 && c != '='; });
}

bool isConfigKey(const std::string& s) {
  if (s.empty() || s.size() > 253 || s == "." || s == ".." || s.rfind("..", 0) == 0) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

/// A collector of causes with the apiserver's message formats.
class Errors {
 public:
  void required(const std::string& field, const std::string& detail = "") {
    add("FieldValueRequired", field, "Required value" + (detail.empty() ? "" : ": " + detail));
  }
  void invalid(const std::string& field, const Json& value, const std::string& detail) {
    add("FieldValueInvalid", field, "Invalid value: " + quote(value) + ": " + detail);
  }
  void notSupported(const std::string& field, const Json& value, const std::vector<std::string>& allowed) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + ("\"" + a + "\"");
    add("FieldValueNotSupported", field, "Unsupported value: " + quote(value) + ": supported values: " + list);
  }
  void duplicate(const std::string& field, const Json& value) {
    add("FieldValueDuplicate", field, "Duplicate value: " + quote(value));
  }
  void forbidden(const std::string& field, const std::string& detail) {
    add("FieldValueForbidden", field, "Forbidden: " + detail);
  }
  void notFound(const std::string& field, const Json& value) {
    add("FieldValueNotFound", field, "Not found: " + quote(value));
  }
  void tooLong(const std::string& field, size_t max) {
    add("FieldValueTooLong", field, "Too long: must have at most " + std::to_string(max) + " bytes");
  }
  void typeInvalid(const std::string& field, const Json& value, const std::string& expected) {
    add("FieldValueTypeInvalid", field, "Invalid value: " + quote(value) + ": must be " + expected);
  }
  size_t size() const { return causes_.size(); }
  std::vector<Cause> take() { return std::move(causes_); }

 private:
  void add(const char* reason, const std::string& field, std::string message) {
    causes_.push_back({reason, std::move(message), field});
  }
  std::vector<Cause> causes_;
};

/// Checks a string-valued enum field; absent is fine (defaults fill it).
void checkEnum(Errors& e, const Json& j, const char* key, const std::string& path, const std::vector<std::string>& allowed) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return;
  const Json& v = j[key];
  if (!v.is_string() || std::find(allowed.begin(), allowed.end(), v.get<std::string>()) == allowed.end())
    e.notSupported(path + "." + key, v, allowed);
}

/// An integer field that must lie in [lo, hi] when present.
void checkRange(Errors& e, const Json& j, const char* key, const std::string& path, int64_t lo, int64_t hi) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return;
  const Json& v = j[key];
  if (!v.is_number_integer()) {
    e.typeInvalid(path + "." + key, v, "an integer");
    return;
  }
  int64_t n = v.get<int64_t>();
  if (n < lo || n > hi)
    e.invalid(path + "." + key, v, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", inclusive");
}

void checkNonNegative(Errors& e, const Json& j, const char* key, const std::string& path) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return;
  const Json& v = j[key];
  if (!v.is_number_integer()) return e.typeInvalid(path + "." + key, v, "an integer");
  if (v.get<int64_t>() < 0) e.invalid(path + "." + key, v, "must be greater than or equal to 0");
}

// ---------------------------------------------------------------------------------------------
// Metadata

enum class NameRule { Subdomain, Label, Dns1035, PathSegment };

NameRule nameRuleFor(const ResourceInfo& r) {
  if (r.kind == "Namespace") return NameRule::Label;
  if (r.kind == "Service") return NameRule::Dns1035;
  if (r.kind == "Event") return NameRule::PathSegment;
  return NameRule::Subdomain;
}

void validateName(Errors& e, NameRule rule, const std::string& name, const std::string& field) {
  std::vector<std::string> errs;
  switch (rule) {
    case NameRule::Subdomain: errs = subdomainErrors(name); break;
    case NameRule::Label: errs = labelErrors(name); break;
    case NameRule::Dns1035: errs = dns1035Errors(name); break;
    case NameRule::PathSegment:
      if (name == "." || name == "..") errs.push_back("may not be '" + name + "'");
      if (name.find('/') != std::string::npos) errs.push_back("may not contain '/'");
      if (name.find('%') != std::string::npos) errs.push_back("may not contain '%'");
      break;
  }
  for (const auto& err : errs) e.invalid(field, name, err);
}

void validateLabels(Errors& e, const Json& labels, const std::string& path) {
  if (labels.is_null()) return;
  if (!labels.is_object()) return e.typeInvalid(path, labels, "a map of strings");
  for (auto& [k, v] : labels.items()) {
    if (auto err = labelKeyError(k); !err.empty()) e.invalid(path, k, err);
    if (!v.is_string()) {
      e.typeInvalid(path + "[" + k + "]", v, "a string");
      continue;
    }
    if (auto err = labelValueError(v.get<std::string>()); !err.empty()) e.invalid(path, v, err);
  }
}

void validateAnnotations(Errors& e, const Json& annotations, const std::string& path) {
  if (annotations.is_null()) return;
  if (!annotations.is_object()) return e.typeInvalid(path, annotations, "a map of strings");
  size_t total = 0;
  for (auto& [k, v] : annotations.items()) {
    if (auto err = labelKeyError(k); !err.empty()) e.invalid(path, k, err);
    total += k.size();
    if (v.is_string()) total += v.get<std::string>().size();
    else e.typeInvalid(path + "[" + k + "]", v, "a string");
  }
  if (total > 256 * 1024) e.tooLong(path, 256 * 1024);
}

void validateObjectMeta(Errors& e, const ResourceInfo& r, const Json& obj) {
  if (!isObj(obj, "metadata")) return e.required("metadata");
  const Json& m = obj["metadata"];
  std::string name = str(m, "name");
  if (name.empty()) e.required("metadata.name", "name or generateName is required");
  else validateName(e, nameRuleFor(r), name, "metadata.name");
  if (m.contains("labels")) validateLabels(e, m["labels"], "metadata.labels");
  if (m.contains("annotations")) validateAnnotations(e, m["annotations"], "metadata.annotations");
  if (!r.namespaced && !str(m, "namespace").empty())
    e.forbidden("metadata.namespace", "not allowed on this type");
  if (isArr(m, "ownerReferences")) {
    for (size_t i = 0; i < m["ownerReferences"].size(); ++i) {
      const Json& o = m["ownerReferences"][i];
      std::string p = "metadata.ownerReferences[" + std::to_string(i) + "]";
      for (const char* f : {"apiVersion", "kind", "name", "uid"})
        if (str(o, f).empty()) e.required(p + "." + f);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pods

std::string idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

void validatePortRef(Errors& e, const Json& port, const std::string& field) {
  if (port.is_number_integer()) {
    int64_t n = port.get<int64_t>();
    if (n < 1 || n > 65535) e.invalid(field, port, "must be between 1 and 65535, inclusive");
    return;
  }
  if (port.is_string()) {
    auto errs = portNameErrors(port.get<std::string>());
    if (!errs.empty()) e.invalid(field, port, joinErrors(errs));
    return;
  }
  e.required(field);
}

void validateProbe(Errors& e, const Json& probe, const std::string& path) {
  if (!probe.is_object()) return;
  int handlers = 0;
  if (isObj(probe, "exec")) {
    ++handlers;
    if (!isArr(probe["exec"], "command") || probe["exec"]["command"].empty()) e.required(path + ".exec.command");
  }
  if (isObj(probe, "httpGet")) {
    ++handlers;
    validatePortRef(e, probe["httpGet"].value("port", Json()), path + ".httpGet.port");
    checkEnum(e, probe["httpGet"], "scheme", path + ".httpGet", {"HTTP", "HTTPS"});
  }
  if (isObj(probe, "tcpSocket")) {
    ++handlers;
    validatePortRef(e, probe["tcpSocket"].value("port", Json()), path + ".tcpSocket.port");
  }
  if (isObj(probe, "grpc")) {
    ++handlers;
    checkRange(e, probe["grpc"], "port", path + ".grpc", 1, 65535);
  }
  if (handlers == 0) e.required(path, "must specify a handler type");
  if (handlers > 1) e.forbidden(path, "may not specify more than 1 handler type");
  for (const char* f : {"initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"})
    checkNonNegative(e, probe, f, path);
}

void validateContainerPorts(Errors& e, const Json& ports, const std::string& path) {
  std::set<std::string> names;
  for (size_t i = 0; i < ports.size(); ++i) {
    const Json& p = ports[i];
    std::string pp = idx(path, i);
    if (!p.is_object()) {
      e.typeInvalid(pp, p, "an object");
      continue;
    }
    if (!p.contains("containerPort")) e.required(pp + ".containerPort");
    else checkRange(e, p, "containerPort", pp, 1, 65535);
    checkRange(e, p, "hostPort", pp, 0, 65535);
    checkEnum(e, p, "protocol", pp, {"SCTP", "TCP", "UDP"});
    if (p.contains("name") && p["name"].is_string()) {
      std::string name = p["name"];
      auto errs = portNameErrors(name);
      if (!errs.empty()) e.invalid(pp + ".name", name, joinErrors(errs));
      else if (!names.insert(name).second) e.duplicate(pp + ".name", name);
    }
  }
}

void validateEnv(Errors& e, const Json& env, const std::string& path) {
  for (size_t i = 0; i < env.size(); ++i) {
    const Json& v = env[i];
    std::string p = idx(path, i);
    std::string name = str(v, "name");
    if (name.empty()) e.required(p + ".name");
    else if (!isEnvVarName(name))
      e.invalid(p + ".name", name, "a valid environment variable name must consist only of printable ASCII characters other than '='");
    if (v.contains("value") && v.contains("valueFrom") && !v["value"].is_null() && !str(v, "value").empty())
      e.invalid(p + ".valueFrom", v["valueFrom"], "may not be specified when `value` is not empty");
  }
}

struct ContainerContext {
  std::set<std::string>* names;          // container names seen in the pod so far
  const std::set<std::string>* volumes;  // the pod's volume names
};

void validateContainer(Errors& e, const Json& c, const std::string& path, ContainerContext ctx) {
  if (!c.is_object()) return e.typeInvalid(path, c, "an object");
  std::string name = str(c, "name");
  if (name.empty()) e.required(path + ".name");
  else {
    auto errs = labelErrors(name);
    for (const auto& err : errs) e.invalid(path + ".name", name, err);
    if (errs.empty() && !ctx.names->insert(name).second) e.duplicate(path + ".name", name);
  }
  if (!isArr(c, "command") || c["command"].empty())
    e.required(path + ".command",
               "minikd runs the container's command and args as a host process (images are recorded, not run); "
               "set command");
  for (const char* list : {"command", "args"})
    if (isArr(c, list))
      for (size_t i = 0; i < c[list].size(); ++i)
        if (!c[list][i].is_string()) e.typeInvalid(idx(path + "." + list, i), c[list][i], "a string");
  checkEnum(e, c, "imagePullPolicy", path, {"Always", "IfNotPresent", "Never"});
  checkEnum(e, c, "terminationMessagePolicy", path, {"File", "FallbackToLogsOnError"});
  if (isArr(c, "ports")) validateContainerPorts(e, c["ports"], path + ".ports");
  if (isArr(c, "env")) validateEnv(e, c["env"], path + ".env");
  if (isArr(c, "volumeMounts")) {
    std::set<std::string> paths;
    for (size_t i = 0; i < c["volumeMounts"].size(); ++i) {
      const Json& m = c["volumeMounts"][i];
      std::string p = idx(path + ".volumeMounts", i);
      std::string vname = str(m, "name"), mpath = str(m, "mountPath");
      if (vname.empty()) e.required(p + ".name");
      else if (!ctx.volumes->count(vname)) e.notFound(p + ".name", vname);
      if (mpath.empty()) e.required(p + ".mountPath");
      else if (!paths.insert(mpath).second) e.invalid(p + ".mountPath", mpath, "must be unique");
    }
  }
  for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
    if (isObj(c, probe)) validateProbe(e, c[probe], path + "." + probe);
  for (const char* probe : {"livenessProbe", "startupProbe"})
    if (isObj(c, probe) && c[probe].value("successThreshold", 1) != 1)
      e.invalid(path + "." + probe + ".successThreshold", c[probe]["successThreshold"], "must be 1");
}

void validatePodSpec(Errors& e, const Json& spec, const std::string& path, bool in_template_of_controller) {
  if (!spec.is_object()) return e.required(path);
  std::set<std::string> volumes;
  if (isArr(spec, "volumes")) {
    for (size_t i = 0; i < spec["volumes"].size(); ++i) {
      std::string p = idx(path + ".volumes", i);
      std::string name = str(spec["volumes"][i], "name");
      if (name.empty()) {
        e.required(p + ".name");
        continue;
      }
      auto errs = labelErrors(name);
      for (const auto& err : errs) e.invalid(p + ".name", name, err);
      if (errs.empty() && !volumes.insert(name).second) e.duplicate(p + ".name", name);
    }
  }
  std::set<std::string> names;
  ContainerContext ctx{&names, &volumes};
  if (!isArr(spec, "containers") || spec["containers"].empty()) e.required(path + ".containers");
  else
    for (size_t i = 0; i < spec["containers"].size(); ++i)
      validateContainer(e, spec["containers"][i], idx(path + ".containers", i), ctx);
  if (isArr(spec, "initContainers"))
    for (size_t i = 0; i < spec["initContainers"].size(); ++i) {
      const Json& c = spec["initContainers"][i];
      std::string p = idx(path + ".initContainers", i);
      validateContainer(e, c, p, ctx);
      checkEnum(e, c, "restartPolicy", p, {"Always"});
      for (const char* probe : {"livenessProbe", "readinessProbe", "startupProbe"})
        if (isObj(c, probe) && str(c, "restartPolicy") != "Always")
          e.forbidden(p + "." + probe, "may not be set for init containers without restartPolicy=Always");
    }
  if (in_template_of_controller) checkEnum(e, spec, "restartPolicy", path, {"Always"});
  else checkEnum(e, spec, "restartPolicy", path, {"Always", "OnFailure", "Never"});
  checkEnum(e, spec, "dnsPolicy", path, {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"});
  checkNonNegative(e, spec, "terminationGracePeriodSeconds", path);
  if (spec.contains("activeDeadlineSeconds") && spec["activeDeadlineSeconds"].is_number_integer() &&
      spec["activeDeadlineSeconds"].get<int64_t>() <= 0)
    e.invalid(path + ".activeDeadlineSeconds", spec["activeDeadlineSeconds"], "must be between 1 and 2147483647, inclusive");
  if (spec.contains("nodeSelector")) validateLabels(e, spec["nodeSelector"], path + ".nodeSelector");
  for (const char* f : {"hostname", "subdomain"})
    if (!str(spec, f).empty())
      for (const auto& err : labelErrors(str(spec, f))) e.invalid(path + "." + f, str(spec, f), err);
  if (str(spec, "dnsPolicy") == "None" && !isObj(spec, "dnsConfig"))
    e.required(path + ".dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None");
}

// ---------------------------------------------------------------------------------------------
// Services

void validateServicePorts(Errors& e, const Json& spec) {
  const Json& ports = spec["ports"];
  std::set<std::string> names;
  std::set<std::pair<int64_t, std::string>> port_protocols;
  for (size_t i = 0; i < ports.size(); ++i) {
    const Json& p = ports[i];
    std::string pp = idx("spec.ports", i);
    if (!p.is_object()) {
      e.typeInvalid(pp, p, "an object");
      continue;
    }
    std::string name = str(p, "name");
    if (ports.size() > 1 && name.empty()) e.required(pp + ".name");
    if (!name.empty()) {
      auto errs = labelErrors(name);
      for (const auto& err : errs) e.invalid(pp + ".name", name, err);
      if (errs.empty() && !names.insert(name).second) e.duplicate(pp + ".name", name);
    }
    if (!p.contains("port")) e.required(pp + ".port");
    else checkRange(e, p, "port", pp, 1, 65535);
    checkEnum(e, p, "protocol", pp, {"SCTP", "TCP", "UDP"});
    if (p.contains("targetPort")) validatePortRef(e, p["targetPort"], pp + ".targetPort");
    checkRange(e, p, "nodePort", pp, 0, 65535);
    if (p.contains("port") && p["port"].is_number_integer() &&
        !port_protocols.insert({p["port"].get<int64_t>(), p.value("protocol", std::string("TCP"))}).second)
      e.duplicate(pp, Json("port " + std::to_string(p["port"].get<int64_t>()) + "/" + p.value("protocol", std::string("TCP"))));
  }
}

void validateService(Errors& e, const Json& obj) {
  if (!isObj(obj, "spec")) return e.required("spec");
  const Json& spec = obj["spec"];
  checkEnum(e, spec, "type", "spec", {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"});
  checkEnum(e, spec, "sessionAffinity", "spec", {"ClientIP", "None"});
  std::string type = str(spec, "type");
  if (type.empty()) type = "ClusterIP";  // the default, when validating before defaults
  if (type == "ExternalName") {
    std::string en = str(spec, "externalName");
    if (en.empty()) e.required("spec.externalName");
    else for (const auto& err : subdomainErrors(en)) e.invalid("spec.externalName", en, err);
  } else if (!isArr(spec, "ports") || spec["ports"].empty()) {
    if (str(spec, "clusterIP") != "None") e.required("spec.ports");
  }
  if (isArr(spec, "ports")) validateServicePorts(e, spec);
  if (spec.contains("selector") && !spec["selector"].is_null()) validateLabels(e, spec["selector"], "spec.selector");
  if (str(spec, "clusterIP") == "None" && (type == "NodePort" || type == "LoadBalancer"))
    e.invalid("spec.clusterIPs[0]", "None", "may not be set to 'None' for " + type + " services");
  if (type == "ClusterIP" && isArr(spec, "ports"))
    for (size_t i = 0; i < spec["ports"].size(); ++i)
      if (spec["ports"][i].value("nodePort", 0) != 0)
        e.forbidden(idx("spec.ports", i) + ".nodePort", "may not be used when `type` is 'ClusterIP'");
  checkEnum(e, spec, "internalTrafficPolicy", "spec", {"Cluster", "Local"});
  checkEnum(e, spec, "externalTrafficPolicy", "spec", {"Cluster", "Local"});
}

// ---------------------------------------------------------------------------------------------
// Workloads (Deployment, ReplicaSet)

void validateSelectorJson(Errors& e, const Json& sel, const std::string& path) {
  if (sel.contains("matchLabels")) validateLabels(e, sel["matchLabels"], path + ".matchLabels");
  if (!isArr(sel, "matchExpressions")) return;
  for (size_t i = 0; i < sel["matchExpressions"].size(); ++i) {
    const Json& x = sel["matchExpressions"][i];
    std::string p = idx(path + ".matchExpressions", i);
    std::string op = str(x, "operator");
    if (str(x, "key").empty()) e.required(p + ".key");
    else if (auto err = labelKeyError(str(x, "key")); !err.empty()) e.invalid(p + ".key", str(x, "key"), err);
    bool has_values = isArr(x, "values") && !x["values"].empty();
    if (op == "In" || op == "NotIn") {
      if (!has_values) e.required(p + ".values", "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (has_values) e.forbidden(p + ".values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    } else {
      e.invalid(p + ".operator", op, "not a valid selector operator");
    }
  }
}

void validateWorkload(Errors& e, const ResourceInfo& r, const Json& obj) {
  if (!isObj(obj, "spec")) return e.required("spec");
  const Json& spec = obj["spec"];
  checkNonNegative(e, spec, "replicas", "spec");
  checkNonNegative(e, spec, "minReadySeconds", "spec");
  const Json sel = spec.value("selector", Json());
  bool selector_ok = false;
  if (!sel.is_object()) e.required("spec.selector");
  else if (sel.value("matchLabels", Json::object()).empty() && sel.value("matchExpressions", Json::array()).empty())
    e.invalid("spec.selector", sel, "empty selector is invalid for deployment");
  else {
    size_t before = e.size();
    validateSelectorJson(e, sel, "spec.selector");
    selector_ok = e.size() == before;
  }
  if (!isObj(spec, "template")) return e.required("spec.template");
  const Json& tmpl = spec["template"];
  Json labels = isObj(tmpl, "metadata") ? tmpl["metadata"].value("labels", Json::object()) : Json::object();
  if (isObj(tmpl, "metadata")) {
    if (tmpl["metadata"].contains("labels")) validateLabels(e, tmpl["metadata"]["labels"], "spec.template.metadata.labels");
    if (tmpl["metadata"].contains("annotations"))
      validateAnnotations(e, tmpl["metadata"]["annotations"], "spec.template.metadata.annotations");
  }
  if (selector_ok) {
    bool matches = false;
    try {
      matches = LabelSelector::fromJson(sel).matches(labels.is_object() ? labels : Json::object());
    } catch (const ApiError& err) {
      e.invalid("spec.selector", sel, err.what());
    }
    if (!matches) e.invalid("spec.template.metadata.labels", labels, "`selector` does not match template `labels`");
  }
  validatePodSpec(e, tmpl.value("spec", Json()), "spec.template.spec", true);
  if (r.kind != "Deployment") return;
  checkNonNegative(e, spec, "revisionHistoryLimit", "spec");
  if (isObj(spec, "strategy")) {
    const Json& st = spec["strategy"];
    checkEnum(e, st, "type", "spec.strategy", {"Recreate", "RollingUpdate"});
    if (str(st, "type") == "Recreate" && st.contains("rollingUpdate") && !st["rollingUpdate"].is_null())
      e.forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'");
    if (str(st, "type") == "RollingUpdate" && isObj(st, "rollingUpdate")) {
      auto isZero = [](const Json& v) {
        return (v.is_number() && v.get<double>() == 0) || (v.is_string() && (v == "0%" || v == "0"));
      };
      const Json& ru = st["rollingUpdate"];
      if (isZero(ru.value("maxUnavailable", Json("25%"))) && isZero(ru.value("maxSurge", Json("25%"))))
        e.invalid("spec.strategy.rollingUpdate.maxUnavailable", ru["maxUnavailable"], "may not be 0 when `maxSurge` is 0");
    }
  }
  if (spec.contains("progressDeadlineSeconds") && spec["progressDeadlineSeconds"].is_number_integer() &&
      spec["progressDeadlineSeconds"].get<int64_t>() <= spec.value("minReadySeconds", int64_t{0}))
    e.invalid("spec.progressDeadlineSeconds", spec["progressDeadlineSeconds"], "must be greater than minReadySeconds");
}

// ---------------------------------------------------------------------------------------------
// ConfigMap, Secret, Endpoints, EndpointSlice, Event, Node

const char* kConfigKeyMsg =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or "
    "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

void validateDataKeys(Errors& e, const Json& obj, std::initializer_list<const char*> fields, bool strings) {
  std::set<std::string> seen;
  for (const char* f : fields) {
    if (!obj.contains(f) || obj[f].is_null()) continue;
    if (!obj[f].is_object()) {
      e.typeInvalid(f, obj[f], "a map of strings");
      continue;
    }
    for (auto& [k, v] : obj[f].items()) {
      std::string p = std::string(f) + "[" + k + "]";
      if (!isConfigKey(k)) e.invalid(p, k, kConfigKeyMsg);
      if (!seen.insert(k).second) e.invalid(p, k, "duplicate of key present in " + std::string(*fields.begin()));
      if (strings && !v.is_string()) e.typeInvalid(p, v, "a string");
    }
  }
}

bool isBase64(const std::string& s) {
  if (s.size() % 4 != 0) return false;
  size_t pad = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad || !(isAlnum(c) || c == '+' || c == '/')) return false;
  }
  return pad <= 2;
}

void validateSecret(Errors& e, const Json& obj) {
  validateDataKeys(e, obj, {"data", "stringData"}, true);
  if (isObj(obj, "data"))
    for (auto& [k, v] : obj["data"].items())
      if (v.is_string() && !isBase64(v.get<std::string>()))
        e.invalid("data[" + k + "]", "<secret contents redacted>", "illegal base64 data");
  size_t total = 0;
  if (isObj(obj, "data"))
    for (auto& [k, v] : obj["data"].items()) total += v.is_string() ? v.get<std::string>().size() * 3 / 4 : 0;
  if (total > 1024 * 1024) e.tooLong("data", 1024 * 1024);
  std::string type = str(obj, "type");
  if (type == "kubernetes.io/service-account-token" && isObj(obj, "metadata") &&
      !(isObj(obj["metadata"], "annotations") && obj["metadata"]["annotations"].contains("kubernetes.io/service-account.name")))
    e.required("metadata.annotations[kubernetes.io/service-account.name]");
  if (type == "kubernetes.io/tls")
    for (const char* k : {"tls.crt", "tls.key"})
      if (!isObj(obj, "data") || !obj["data"].contains(k)) e.required(std::string("data[") + k + "]");
}

bool isIPv4(const std::string& s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find('.', i);
    std::string part = s.substr(i, j == std::string::npos ? std::string::npos : j - i);
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), ::isdigit) || std::stoi(part) > 255)
      return false;
    if (part.size() > 1 && part[0] == '0') return false;
    ++parts;
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return parts == 4;
}

bool isIP(const std::string& s) {
  if (isIPv4(s)) return true;
  // IPv6: hex groups and colons, at most one "::"; the detailed check is left to the network layer.
  if (s.find(':') == std::string::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'; });
}

void validateEndpoints(Errors& e, const Json& obj) {
  if (!isArr(obj, "subsets")) return;
  for (size_t i = 0; i < obj["subsets"].size(); ++i) {
    const Json& s = obj["subsets"][i];
    std::string sp = idx("subsets", i);
    for (const char* list : {"addresses", "notReadyAddresses"}) {
      if (!isArr(s, list)) continue;
      for (size_t j = 0; j < s[list].size(); ++j) {
        std::string ip = str(s[list][j], "ip");
        std::string p = idx(sp + "." + list, j) + ".ip";
        if (ip.empty()) e.required(p);
        else if (!isIP(ip)) e.invalid(p, ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)");
      }
    }
    if (!isArr(s, "ports")) continue;
    for (size_t j = 0; j < s["ports"].size(); ++j) {
      std::string p = idx(sp + ".ports", j);
      checkRange(e, s["ports"][j], "port", p, 1, 65535);
      checkEnum(e, s["ports"][j], "protocol", p, {"SCTP", "TCP", "UDP"});
      if (s["ports"].size() > 1 && str(s["ports"][j], "name").empty()) e.required(p + ".name");
    }
  }
}

void validateEndpointSlice(Errors& e, const Json& obj) {
  std::string type = str(obj, "addressType");
  if (type.empty()) e.required("addressType");
  else if (type != "IPv4" && type != "IPv6" && type != "FQDN")
    e.notSupported("addressType", type, {"FQDN", "IPv4", "IPv6"});
  if (isArr(obj, "endpoints"))
    for (size_t i = 0; i < obj["endpoints"].size(); ++i) {
      const Json& ep = obj["endpoints"][i];
      std::string p = idx("endpoints", i);
      if (!isArr(ep, "addresses") || ep["addresses"].empty()) {
        e.required(p + ".addresses", "must contain at least 1 address");
        continue;
      }
      for (size_t j = 0; j < ep["addresses"].size(); ++j) {
        const Json& a = ep["addresses"][j];
        std::string ap = idx(p + ".addresses", j);
        if (!a.is_string()) e.typeInvalid(ap, a, "a string");
        else if (type == "IPv4" && !isIPv4(a.get<std::string>())) e.invalid(ap, a, "must be a valid IPv4 address");
      }
    }
  if (isArr(obj, "ports"))
    for (size_t i = 0; i < obj["ports"].size(); ++i) {
      std::string p = idx("ports", i);
      checkRange(e, obj["ports"][i], "port", p, 0, 65535);
      checkEnum(e, obj["ports"][i], "protocol", p, {"SCTP", "TCP", "UDP"});
    }
}

void validateEvent(Errors& e, const Json& obj) {
  if (!isObj(obj, "involvedObject")) e.required("involvedObject");
  checkEnum(e, obj, "type", "", {"Normal", "Warning"});
}

// ---------------------------------------------------------------------------------------------
// Updates: immutable fields

/// `obj` without the fields a pod update may change, for comparing old and new specs.
Json podSpecForCompare(Json spec, const Json& old_spec) {
  if (!spec.is_object()) return spec;
  for (const char* list : {"containers", "initContainers"})
    if (isArr(spec, list))
      for (auto& c : spec[list])
        if (c.is_object()) c.erase("image");
  spec.erase("activeDeadlineSeconds");
  spec.erase("terminationGracePeriodSeconds");
  spec.erase("tolerations");
  // Binding: spec.nodeName may be set once when it was empty.
  if (str(old_spec, "nodeName").empty()) spec.erase("nodeName");
  return spec;
}

void validatePodUpdate(Errors& e, const Json& obj, const Json& old) {
  Json spec = obj.value("spec", Json::object()), old_spec = old.value("spec", Json::object());
  if (podSpecForCompare(spec, old_spec) != podSpecForCompare(old_spec, old_spec)) {
    e.forbidden("spec",
                "pod updates may not change fields other than `spec.containers[*].image`,"
                "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                "previously negative)");
    return;
  }
  // Tolerations may only be added to.
  Json old_tol = old_spec.value("tolerations", Json::array());
  Json new_tol = spec.value("tolerations", Json::array());
  for (const auto& t : old_tol)
    if (std::find(new_tol.begin(), new_tol.end(), t) == new_tol.end()) {
      e.forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds");
      break;
    }
  // Containers can neither be added nor removed (compared above); their images may change.
}

void validateImmutable(Errors& e, const ResourceInfo& r, const Json& obj, const Json& old) {
  const Json m = obj.value("metadata", Json::object()), om = old.value("metadata", Json::object());
  if (str(m, "namespace") != str(om, "namespace") && !str(m, "namespace").empty())
    e.invalid("metadata.namespace", str(m, "namespace"), "field is immutable");
  if (str(m, "name") != str(om, "name")) e.invalid("metadata.name", str(m, "name"), "field is immutable");
  if (!str(om, "uid").empty() && !str(m, "uid").empty() && str(m, "uid") != str(om, "uid"))
    e.invalid("metadata.uid", str(m, "uid"), "field is immutable");
  if (r.kind == "Pod") validatePodUpdate(e, obj, old);
  if (r.kind == "Service") {
    std::string ip = isObj(obj, "spec") ? str(obj["spec"], "clusterIP") : "";
    std::string old_ip = isObj(old, "spec") ? str(old["spec"], "clusterIP") : "";
    bool to_external = isObj(obj, "spec") && str(obj["spec"], "type") == "ExternalName";
    if (!old_ip.empty() && !ip.empty() && ip != old_ip && !to_external)
      e.invalid("spec.clusterIPs[0]", ip, "may not change once set");
  }
  if (r.kind == "Deployment" || r.kind == "ReplicaSet") {
    Json sel = isObj(obj, "spec") ? obj["spec"].value("selector", Json()) : Json();
    Json old_sel = isObj(old, "spec") ? old["spec"].value("selector", Json()) : Json();
    if (sel != old_sel) e.invalid("spec.selector", sel, "field is immutable");
  }
  if ((r.kind == "ConfigMap" || r.kind == "Secret") && old.value("immutable", false)) {
    if (!obj.value("immutable", false)) e.forbidden("immutable", "field is immutable when `immutable` is set");
    for (const char* f : {"data", "binaryData"})
      if (obj.value(f, Json::object()) != old.value(f, Json::object()))
        e.forbidden(f, "field is immutable when `immutable` is set");
  }
  if (r.kind == "Secret" && str(obj, "type") != str(old, "type"))
    e.invalid("type", str(obj, "type"), "field is immutable");
}

// ---------------------------------------------------------------------------------------------
// Unknown fields: a compact schema of the kinds' field names

struct Schema;
using SchemaPtr = std::shared_ptr<const Schema>;

/// A field schema. Any = not checked; Map = free keys (labels, data); Object = known fields; List = of elem.
struct Schema {
  enum class Type { Any, Map, Object, List } type = Type::Any;
  std::map<std::string, SchemaPtr> fields;
  SchemaPtr elem;
};

SchemaPtr any() {
  static const SchemaPtr a = std::make_shared<Schema>();
  return a;
}
SchemaPtr mapOf() {
  auto s = std::make_shared<Schema>();
  s->type = Schema::Type::Map;
  return s;
}
SchemaPtr listOf(SchemaPtr elem) {
  auto s = std::make_shared<Schema>();
  s->type = Schema::Type::List;
  s->elem = std::move(elem);
  return s;
}
/// An object whose listed fields are checked; names without a schema are leaves (Any).
SchemaPtr obj(std::initializer_list<std::pair<const char*, SchemaPtr>> known, std::initializer_list<const char*> leaves = {}) {
  auto s = std::make_shared<Schema>();
  s->type = Schema::Type::Object;
  for (auto& [k, v] : known) s->fields[k] = v;
  for (const char* k : leaves) s->fields[k] = any();
  return s;
}

SchemaPtr objectMetaSchema() {
  return obj({{"labels", mapOf()},
              {"annotations", mapOf()},
              {"ownerReferences", listOf(obj({}, {"apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion"}))}},
             {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
              "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "finalizers", "managedFields"});
}

SchemaPtr labelSelectorSchema() {
  return obj({{"matchLabels", mapOf()}, {"matchExpressions", listOf(obj({}, {"key", "operator", "values"}))}});
}

SchemaPtr probeSchema() {
  return obj({{"exec", obj({}, {"command"})},
              {"httpGet", obj({{"httpHeaders", listOf(obj({}, {"name", "value"}))}}, {"path", "port", "host", "scheme"})},
              {"tcpSocket", obj({}, {"port", "host"})},
              {"grpc", obj({}, {"port", "service"})}},
             {"initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold",
              "terminationGracePeriodSeconds"});
}

SchemaPtr containerSchema() {
  SchemaPtr probe = probeSchema();
  return obj({{"ports", listOf(obj({}, {"name", "hostPort", "containerPort", "protocol", "hostIP"}))},
              {"env", listOf(obj({}, {"name", "value", "valueFrom"}))},
              {"envFrom", listOf(obj({}, {"prefix", "configMapRef", "secretRef"}))},
              {"volumeMounts", listOf(obj({}, {"name", "readOnly", "recursiveReadOnly", "mountPath", "subPath",
                                               "mountPropagation", "subPathExpr"}))},
              {"volumeDevices", listOf(obj({}, {"name", "devicePath"}))},
              {"resources", obj({}, {"limits", "requests", "claims"})},
              {"livenessProbe", probe},
              {"readinessProbe", probe},
              {"startupProbe", probe}},
             {"name", "image", "command", "args", "workingDir", "resizePolicy", "restartPolicy", "lifecycle",
              "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext", "stdin",
              "stdinOnce", "tty", "targetContainerName"});
}

SchemaPtr podSpecSchema() {
  SchemaPtr container = containerSchema();
  return obj({{"containers", listOf(container)},
              {"initContainers", listOf(container)},
              {"ephemeralContainers", listOf(container)},
              {"nodeSelector", mapOf()},
              {"imagePullSecrets", listOf(obj({}, {"name"}))},
              {"tolerations", listOf(obj({}, {"key", "operator", "value", "effect", "tolerationSeconds"}))},
              {"readinessGates", listOf(obj({}, {"conditionType"}))}},
             {"volumes", "restartPolicy", "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy",
              "serviceAccountName", "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork",
              "hostPID", "hostIPC", "shareProcessNamespace", "securityContext", "hostname", "subdomain", "affinity",
              "schedulerName", "hostAliases", "priorityClassName", "priority", "dnsConfig", "runtimeClassName",
              "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints", "setHostnameAsFQDN",
              "os", "hostUsers", "schedulingGates", "resourceClaims", "resources"});
}

SchemaPtr templateSchema() { return obj({{"metadata", objectMetaSchema()}, {"spec", podSpecSchema()}}); }

/// The top-level schema of a kind; unknown kinds get Any (never reported).
SchemaPtr kindSchema(const std::string& kind) {
  auto top = [](std::initializer_list<std::pair<const char*, SchemaPtr>> extra, std::initializer_list<const char*> leaves = {}) {
    auto s = std::const_pointer_cast<Schema>(obj(extra, leaves));
    s->fields["apiVersion"] = any();
    s->fields["kind"] = any();
    s->fields["metadata"] = objectMetaSchema();
    if (!s->fields.count("status")) s->fields["status"] = any();
    return SchemaPtr(s);
  };
  if (kind == "Pod") return top({{"spec", podSpecSchema()}});
  if (kind == "Service")
    return top({{"spec", obj({{"ports", listOf(obj({}, {"name", "protocol", "appProtocol", "port", "targetPort", "nodePort"}))},
                              {"selector", mapOf()}},
                             {"clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity", "loadBalancerIP",
                              "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy", "healthCheckNodePort",
                              "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy",
                              "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
                              "trafficDistribution"})}});
  if (kind == "Deployment")
    return top({{"spec", obj({{"selector", labelSelectorSchema()},
                              {"template", templateSchema()},
                              {"strategy", obj({{"rollingUpdate", obj({}, {"maxUnavailable", "maxSurge"})}}, {"type"})}},
                             {"replicas", "minReadySeconds", "revisionHistoryLimit", "paused", "progressDeadlineSeconds"})}});
  if (kind == "ReplicaSet")
    return top({{"spec", obj({{"selector", labelSelectorSchema()}, {"template", templateSchema()}},
                             {"replicas", "minReadySeconds"})}});
  if (kind == "ConfigMap") return top({{"data", mapOf()}, {"binaryData", mapOf()}}, {"immutable"});
  if (kind == "Secret") return top({{"data", mapOf()}, {"stringData", mapOf()}}, {"type", "immutable"});
  if (kind == "Endpoints") {
    auto address = obj({}, {"ip", "hostname", "nodeName", "targetRef"});
    return top({{"subsets", listOf(obj({{"addresses", listOf(address)},
                                        {"notReadyAddresses", listOf(address)},
                                        {"ports", listOf(obj({}, {"name", "port", "protocol", "appProtocol"}))}}))}});
  }
  if (kind == "EndpointSlice")
    return top({{"endpoints", listOf(obj({{"conditions", obj({}, {"ready", "serving", "terminating"})},
                                          {"deprecatedTopology", mapOf()}},
                                         {"addresses", "hostname", "targetRef", "nodeName", "zone", "hints"}))},
                {"ports", listOf(obj({}, {"name", "protocol", "port", "appProtocol"}))}},
               {"addressType"});
  if (kind == "Event")
    return top({{"source", obj({}, {"component", "host"})}},
               {"involvedObject", "reason", "message", "firstTimestamp", "lastTimestamp", "count", "type", "eventTime",
                "series", "action", "related", "reportingComponent", "reportingInstance"});
  if (kind == "Namespace") return top({{"spec", obj({}, {"finalizers"})}});
  if (kind == "Node")
    return top({{"spec", obj({}, {"podCIDR", "podCIDRs", "providerID", "unschedulable", "taints", "configSource", "externalID"})}});
  return any();
}

void collectUnknown(const Schema& s, const Json& v, const std::string& path, std::vector<std::string>& out) {
  switch (s.type) {
    case Schema::Type::Any:
    case Schema::Type::Map: return;
    case Schema::Type::List:
      if (!v.is_array()) return;
      for (size_t i = 0; i < v.size(); ++i) collectUnknown(*s.elem, v[i], idx(path, i), out);
      return;
    case Schema::Type::Object:
      if (!v.is_object()) return;
      for (auto& [k, child] : v.items()) {
        auto it = s.fields.find(k);
        if (it == s.fields.end()) out.push_back(path + "." + k);
        else collectUnknown(*it->second, child, path + "." + k, out);
      }
      return;
  }
}

}  // namespace

void applyDefaults(const ResourceInfo& r, Json& obj) {
  if (!obj.is_object()) return;
  const std::string& k = r.kind;
  if (k == "Pod") {
    if (!isObj(obj, "spec")) obj["spec"] = Json::object();
    defaultPodSpec(obj["spec"], true);
  } else if (k == "Service") {
    defaultService(obj);
  } else if (k == "Deployment") {
    defaultDeployment(obj);
  } else if (k == "ReplicaSet") {
    if (!isObj(obj, "spec")) obj["spec"] = Json::object();
    setDefault(obj["spec"], "replicas", 1);
    defaultTemplate(obj);
  } else if (k == "Secret") {
    defaultSecret(obj);
  } else if (k == "Namespace") {
    defaultNamespace(obj);
  } else if (k == "Endpoints") {
    if (isArr(obj, "subsets"))
      for (auto& s : obj["subsets"])
        if (isArr(s, "ports"))
          for (auto& p : s["ports"]) setDefault(p, "protocol", "TCP");
  } else if (k == "EndpointSlice") {
    if (isArr(obj, "ports"))
      for (auto& p : obj["ports"])
        if (p.is_object()) {
          setDefault(p, "name", "");
          setDefault(p, "protocol", "TCP");
        }
  } else if (k == "Node") {
    if (isObj(obj, "status") && isObj(obj["status"], "capacity")) setDefault(obj["status"], "allocatable", obj["status"]["capacity"]);
  }
}

std::vector<Cause> validate(const ResourceInfo& r, const Json& obj, const Json* old) {
  Errors e;
  if (!obj.is_object()) {
    e.typeInvalid("", obj, "an object");
    return e.take();
  }
  validateObjectMeta(e, r, obj);
  const std::string& k = r.kind;
  if (k == "Pod") validatePodSpec(e, obj.value("spec", Json()), "spec", false);
  else if (k == "Service") validateService(e, obj);
  else if (k == "Deployment" || k == "ReplicaSet") validateWorkload(e, r, obj);
  else if (k == "ConfigMap") validateDataKeys(e, obj, {"data", "binaryData"}, true);
  else if (k == "Secret") validateSecret(e, obj);
  else if (k == "Endpoints") validateEndpoints(e, obj);
  else if (k == "EndpointSlice") validateEndpointSlice(e, obj);
  else if (k == "Event") validateEvent(e, obj);
  if (old && old->is_object()) validateImmutable(e, r, obj, *old);
  return e.take();
}

std::vector<std::string> unknownFields(const ResourceInfo& r, const Json& obj) {
  std::vector<std::string> out;
  static const std::map<std::string, SchemaPtr> schemas = [] {
    std::map<std::string, SchemaPtr> m;
    for (const auto& res : builtinResources()) m[res.kind] = kindSchema(res.kind);
    return m;
  }();
  auto it = schemas.find(r.kind);
  if (it != schemas.end()) collectUnknown(*it->second, obj, "", out);
  return out;
}

}  // namespace minikd::api
