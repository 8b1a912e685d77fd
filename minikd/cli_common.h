#pragma once
// Internal to the CLI: the per-command context and helpers shared by the verb files (cli_*.cpp).
#include "api/resources.h"
#include "minikd/cli_args.h"
#include "minikd/client.h"
#include "minikd/kubeconfig.h"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace minikd::cli {

/// Everything a verb needs: its parsed arguments and, on first use, the API client from the kubeconfig.
class Context {
 public:
  Context(std::string verb, ParsedArgs args) : verb(std::move(verb)), args(std::move(args)) {}

  std::string verb;
  ParsedArgs args;
  std::ostream& out = std::cout;
  std::ostream& err = std::cerr;

  /// The kubeconfig path (--kubeconfig, $KUBECONFIG, /var/lib/minikd/kubeconfig, ~/.kube/config).
  std::string kubeconfigPath() const;
  /// Loads the kubeconfig on first use. Throws KubeconfigError.
  const ClusterAccess& access();
  /// The API client, built on first use. Throws KubeconfigError / UnreachableError.
  ApiClient& api();
  /// -n, else the context's namespace, else "default".
  std::string ns();
  /// True when -A/--all-namespaces was given.
  bool allNamespaces() const { return args.has("all-namespaces") && args.flag("all-namespaces"); }
  /// Whether stdout is a terminal (colour).
  bool tty() const;

 private:
  std::unique_ptr<ClusterAccess> access_;
  std::unique_ptr<ApiClient> api_;
};

/// A resource type with the names asked for (empty = all of that type).
struct Target {
  const api::ResourceInfo* r = nullptr;
  std::vector<std::string> names;
};

/// Resolves a type name ("po", "deploy", "deployments.apps"). Throws UsageError in kubectl's words.
const api::ResourceInfo& resolveType(const std::string& name);

/// Reads `get`-style positional arguments: `TYPE[,TYPE…] [NAME…]`, `TYPE/NAME…`, `all`.
/// Throws UsageError.
std::vector<Target> parseTargets(const std::vector<std::string>& positional);

/// "/api/v1/namespaces/ns/pods" (ns ignored for cluster-scoped kinds; empty ns = all namespaces).
std::string collectionPath(const api::ResourceInfo& r, const std::string& ns);
/// "/api/v1/namespaces/ns/pods/name".
std::string objectPath(const api::ResourceInfo& r, const std::string& ns, const std::string& name);
/// Appends `key=value` (URL-encoded) to a path's query.
std::string withQuery(const std::string& path, const std::string& key, const std::string& value);

/// One manifest read from a file: the object and where it came from.
struct Manifest {
  Json object;
  std::string source;  // file name, or "STDIN"
};

/// Reads -f arguments: files, directories (*.yaml, *.yml, *.json; recursive with `recursive`) and "-"
/// (stdin). `kind: List` documents are expanded. Throws UsageError / YamlError naming the file.
std::vector<Manifest> readManifests(const std::vector<std::string>& paths, bool recursive);

/// The resource of a manifest (apiVersion + kind). Throws UsageError in kubectl's words.
const api::ResourceInfo& resourceOf(const Manifest& m);

/// The namespace a manifest goes to: metadata.namespace, else -n, else the context's. Throws UsageError
/// when -n disagrees with the manifest.
std::string namespaceOf(Context& ctx, const api::ResourceInfo& r, const Json& obj);

/// Prints objects in the -o format (json, yaml, name, jsonpath=…); one object alone, several as a List.
void printObjects(Context& ctx, const std::string& format, const std::vector<std::pair<const api::ResourceInfo*, Json>>& objs);

/// Lists objects of `r` (plain JSON), with -l / --field-selector from the context when asked.
std::vector<Json> listObjects(Context& ctx, const api::ResourceInfo& r, const std::string& ns,
                              const std::string& label_selector = "", const std::string& field_selector = "");

/// The pod an argument names: "web-1", "pod/web-1", "deploy/web", "rs/web-x", "svc/web" (or TYPE NAME as
/// two arguments): a Running pod of the owner's selector when there are several.
Json resolvePod(Context& ctx, const std::string& arg, const std::string& maybe_name = "");
/// -c, else the pod's kubectl.kubernetes.io/default-container, else its first container (saying so on
/// stderr when it has several, as kubectl does).
std::string defaultContainer(Context& ctx, const Json& pod);

/// "error: ..." line and exit code 1.
int fail(Context& ctx, const std::string& message);

// The verbs. Each returns the exit code; errors thrown out of them are printed by runCli.
int cmdGet(Context& ctx);
int cmdDescribe(Context& ctx);
int cmdApply(Context& ctx);
int cmdCreate(Context& ctx);
int cmdReplace(Context& ctx);
int cmdDelete(Context& ctx);
int cmdLogs(Context& ctx);
int cmdExec(Context& ctx);
int cmdPortForward(Context& ctx);
int cmdScale(Context& ctx);
int cmdRollout(Context& ctx);
int cmdWait(Context& ctx);
int cmdEdit(Context& ctx);
int cmdLabel(Context& ctx);
int cmdAnnotate(Context& ctx);
int cmdPatch(Context& ctx);
int cmdVersion(Context& ctx);
int cmdKubeconfig(Context& ctx);
int cmdDashboard(Context& ctx);
int cmdStatus(Context& ctx);
int cmdApiResources(Context& ctx);
int cmdCompletion(Context& ctx);

/// The verbs and their flags (for parsing, help and completion).
struct VerbSpec {
  const char* name;
  int (*run)(Context&);
  std::vector<FlagSpec> flags;  // besides globalFlags()
  const char* usage;
  const char* summary;
};
const std::vector<VerbSpec>& verbs();

}  // namespace minikd::cli
