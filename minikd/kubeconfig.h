#pragma once
// Reading, choosing and merging kubeconfig files (the file `minikd up` writes and ~/.kube/config).
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace minikd {

using Json = nlohmann::json;

/// A kubeconfig that cannot be read or lacks what the CLI needs; the message names the file.
class KubeconfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What the CLI needs to talk to one cluster: the context's cluster, user and namespace.
struct ClusterAccess {
  std::string server;          // "https://127.0.0.1:6443"
  std::string ca_pem;          // the CA certificate(s), PEM; empty = system default
  bool insecure = false;       // insecure-skip-tls-verify
  std::string token;           // bearer token; empty = none
  std::string ns = "default";  // the context's namespace
  std::string context;         // the context's name
  std::string dashboard_url;   // from the cluster's "minikd.dev" extension, if any
  std::string source;          // the file it came from
};

/// Where the environment says the kubeconfig is, for the CLI: $KUBECONFIG (first existing entry of a
/// colon-separated list), else `state_dir_kubeconfig` if readable, else $HOME/.kube/config.
/// Pure: `env` looks up variables, `readable` checks a path.
std::string chooseKubeconfigPath(const std::function<std::optional<std::string>(const char*)>& env,
                                 const std::function<bool(const std::string&)>& readable,
                                 const std::string& state_dir_kubeconfig = "/var/lib/minikd/kubeconfig");

/// Parses kubeconfig text (YAML or JSON). Throws KubeconfigError.
Json parseKubeconfig(const std::string& text, const std::string& source);

/// Reads and parses a kubeconfig file. Throws KubeconfigError naming the path.
Json loadKubeconfig(const std::string& path);

/// The cluster access of context `context` (empty: "minikd" when `prefer_minikd` and it exists, else
/// current-context). Decodes certificate-authority-data, reads certificate-authority and tokenFile
/// files. Throws KubeconfigError naming what is missing.
ClusterAccess resolveAccess(const Json& config, const std::string& context = "", bool prefer_minikd = false,
                            const std::string& source = "");

/// Merges the current context of `add` into `base` under the name `name`: its cluster, user and context
/// are all called `name` (replacing entries of that name), and current-context becomes `name`. Other
/// entries of `base` are kept. `base` may be null (a new file).
Json mergeKubeconfig(const Json& base, const Json& add, const std::string& name);

/// Base64 (RFC 4648, padding optional, whitespace ignored). Throws KubeconfigError on bad input.
std::string base64Decode(const std::string& in);
std::string base64Encode(const std::string& in);

}  // namespace minikd
