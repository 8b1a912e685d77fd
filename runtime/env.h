#pragma once
// A container's environment from its manifest: env[].value, valueFrom.fieldRef (metadata.name,
// metadata.namespace, metadata.uid, status.podIP, spec.nodeName, …), configMapKeyRef and
// secretKeyRef (base64-decoded), envFrom, and $(VAR) expansion in values, command and args.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace minikd::runtime {

/// A reference that cannot be resolved (a missing ConfigMap, Secret or key): the container waits
/// with reason CreateContainerConfigError and this message.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Reads a ConfigMap or Secret ("configmaps"/"secrets", namespace, name); nullopt when missing.
using ObjectLookup =
    std::function<std::optional<nlohmann::json>(const std::string& resource, const std::string& ns, const std::string& name)>;

/// The environment of `container` in `pod` (whose status.podIP is `pod_ip`), on top of `base`
/// (PATH, HOSTNAME). Throws ConfigError for a missing non-optional reference.
std::map<std::string, std::string> resolveEnv(const nlohmann::json& pod, const nlohmann::json& container,
                                              const std::string& pod_ip, const ObjectLookup& lookup,
                                              std::map<std::string, std::string> base);

/// Kubernetes $(VAR) expansion: $(NAME) becomes env[NAME] when defined (else stays), $$ becomes $.
std::string expandVars(const std::string& s, const std::map<std::string, std::string>& env);

/// command + args with $(VAR) expanded.
std::vector<std::string> containerArgv(const nlohmann::json& container, const std::map<std::string, std::string>& env);

/// Standard base64 decoding (Secret data). Throws ConfigError on bad input.
std::string base64Decode(const std::string& in);

}  // namespace minikd::runtime
