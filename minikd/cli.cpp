#include "minikd/cli.h"

#include "minikd/cli_common.h"
#include "minikd/printer.h"
#include "minikd/printer_jsonpath.h"
#include "minikd/yaml.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace minikd {
namespace cli {
namespace fs = std::filesystem;

std::string Context::kubeconfigPath() const {
  if (args.has("kubeconfig") && !args.get("kubeconfig").empty()) return args.get("kubeconfig");
  return chooseKubeconfigPath(
      [](const char* name) -> std::optional<std::string> {
        const char* v = std::getenv(name);
        return v ? std::optional<std::string>(v) : std::nullopt;
      },
      [](const std::string& p) { return ::access(p.c_str(), R_OK) == 0; });
}

const ClusterAccess& Context::access() {
  if (access_) return *access_;
  std::string path = kubeconfigPath();
  if (::access(path.c_str(), F_OK) != 0) {
    bool defaulted = !args.has("kubeconfig") && !std::getenv("KUBECONFIG");
    throw UnreachableError("minikd is not running (no kubeconfig at " +
                           (defaulted ? "/var/lib/minikd/kubeconfig or " + path : path) +
                           "): start it with `sudo minikd up`");
  }
  Json config = loadKubeconfig(path);
  // ~/.kube/config may hold other clusters: prefer the context `minikd kubeconfig --merge` adds.
  bool shared_file = !args.has("kubeconfig") && !std::getenv("KUBECONFIG") && path.find("/.kube/config") != std::string::npos;
  access_ = std::make_unique<ClusterAccess>(resolveAccess(config, args.get("context"), shared_file, path));
  return *access_;
}

ApiClient& Context::api() {
  if (!api_) api_ = std::make_unique<ApiClient>(access());
  return *api_;
}

std::string Context::ns() {
  if (args.has("namespace") && !args.get("namespace").empty()) return args.get("namespace");
  return access().ns.empty() ? "default" : access().ns;
}

bool Context::tty() const { return ::isatty(STDOUT_FILENO) == 1 && !std::getenv("NO_COLOR"); }

const api::ResourceInfo& resolveType(const std::string& name) {
  if (const auto* r = api::findResourceByName(name)) return *r;
  throw UsageError("error: the server doesn't have a resource type \"" + name + "\"");
}

std::vector<Target> parseTargets(const std::vector<std::string>& positional) {
  std::vector<Target> out;
  if (positional.empty()) return out;
  auto addType = [&](const std::string& type) {
    if (type == "all") {
      for (const auto& r : api::builtinResources())
        if (std::find(r.categories.begin(), r.categories.end(), "all") != r.categories.end()) out.push_back({&r, {}});
      return;
    }
    out.push_back({&resolveType(type), {}});
  };
  if (positional[0].find('/') != std::string::npos) {
    // TYPE/NAME TYPE/NAME ...: one target per argument, merged by type.
    for (const auto& p : positional) {
      size_t slash = p.find('/');
      if (slash == std::string::npos)
        throw UsageError("error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'minikd get resource/<resource_name>' instead of 'minikd get resource resource/<resource_name>'");
      const auto& r = resolveType(p.substr(0, slash));
      auto it = std::find_if(out.begin(), out.end(), [&](const Target& t) { return t.r == &r; });
      if (it == out.end()) out.push_back({&r, {p.substr(slash + 1)}});
      else it->names.push_back(p.substr(slash + 1));
    }
    return out;
  }
  std::stringstream ss(positional[0]);
  std::string type;
  while (std::getline(ss, type, ',')) {
    if (!type.empty()) addType(type);
  }
  std::vector<std::string> names(positional.begin() + 1, positional.end());
  if (!names.empty()) {
    if (out.size() != 1 && !names.empty())
      throw UsageError("error: arguments in resource/name form must have a single resource and name");
    out[0].names = names;
  }
  return out;
}

std::string collectionPath(const api::ResourceInfo& r, const std::string& ns) {
  std::string p = r.basePath();
  if (r.namespaced && !ns.empty()) p += "/namespaces/" + ns;
  return p + "/" + r.plural;
}

std::string objectPath(const api::ResourceInfo& r, const std::string& ns, const std::string& name) {
  return collectionPath(r, ns) + "/" + name;
}

std::string withQuery(const std::string& path, const std::string& key, const std::string& value) {
  return path + (path.find('?') == std::string::npos ? "?" : "&") + key + "=" + urlEncode(value);
}

namespace {

std::string readAll(std::istream& in) {
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void addDocuments(const std::string& text, const std::string& source, std::vector<Manifest>& out) {
  std::vector<Json> docs;
  try {
    docs = parseYamlDocuments(text);
  } catch (const YamlError& e) {
    throw UsageError("error: error parsing " + source + ": " + e.what());
  }
  for (auto& d : docs) {
    if (!d.is_object()) throw UsageError("error: error parsing " + source + ": a document is not an object");
    if (d.value("kind", "") == "List" || (d.contains("items") && d.value("kind", "").size() > 4 &&
                                          d.value("kind", "").substr(d.value("kind", "").size() - 4) == "List")) {
      for (auto& item : d.value("items", Json::array())) out.push_back({item, source});
      continue;
    }
    out.push_back({std::move(d), source});
  }
}

bool isManifestFile(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

std::vector<Manifest> readManifests(const std::vector<std::string>& paths, bool recursive) {
  std::vector<Manifest> out;
  if (paths.empty()) throw UsageError("error: must specify one of -f and -k");
  for (const auto& p : paths) {
    if (p == "-") {
      addDocuments(readAll(std::cin), "STDIN", out);
      continue;
    }
    std::error_code ec;
    if (!fs::exists(p, ec)) throw UsageError("error: the path \"" + p + "\" does not exist");
    if (fs::is_directory(p, ec)) {
      std::vector<fs::path> files;
      if (recursive) {
        for (const auto& e : fs::recursive_directory_iterator(p))
          if (e.is_regular_file() && isManifestFile(e.path())) files.push_back(e.path());
      } else {
        for (const auto& e : fs::directory_iterator(p))
          if (e.is_regular_file() && isManifestFile(e.path())) files.push_back(e.path());
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        std::ifstream in(f);
        addDocuments(readAll(in), f.string(), out);
      }
      continue;
    }
    std::ifstream in(p);
    if (!in) throw UsageError("error: cannot read \"" + p + "\"");
    addDocuments(readAll(in), p, out);
  }
  return out;
}

const api::ResourceInfo& resourceOf(const Manifest& m) {
  std::string kind = m.object.value("kind", "");
  std::string av = m.object.value("apiVersion", "");
  if (kind.empty() || av.empty())
    throw UsageError("error: error validating \"" + m.source + "\": error validating data: " +
                     std::string(kind.empty() ? "kind not set" : "apiVersion not set"));
  if (const auto* r = api::findResourceByKind(av, kind)) return *r;
  const Json meta = m.object.value("metadata", Json::object());
  throw UsageError("error: resource mapping not found for name: \"" + meta.value("name", "") + "\" namespace: \"" +
                   meta.value("namespace", "") + "\" from \"" + m.source + "\": no matches for kind \"" + kind +
                   "\" in version \"" + av + "\"");
}

std::string namespaceOf(Context& ctx, const api::ResourceInfo& r, const Json& obj) {
  if (!r.namespaced) return "";
  std::string in_obj = obj.contains("metadata") ? obj["metadata"].value("namespace", "") : "";
  std::string flag = ctx.args.get("namespace");
  if (!in_obj.empty() && !flag.empty() && in_obj != flag)
    throw UsageError("error: the namespace from the provided object \"" + in_obj +
                     "\" does not match the namespace \"" + flag + "\". You must pass '--namespace=" + in_obj +
                     "' to perform this operation.");
  return in_obj.empty() ? ctx.ns() : in_obj;
}

void printObjects(Context& ctx, const std::string& format,
                  const std::vector<std::pair<const api::ResourceInfo*, Json>>& objs) {
  if (format == "name") {
    for (const auto& [r, o] : objs) ctx.out << qualifiedName(*r, o["metadata"].value("name", "")) << "\n";
    return;
  }
  Json data;
  if (objs.size() == 1) {
    data = objs.front().second;
  } else {
    std::vector<Json> items;
    for (const auto& p : objs) items.push_back(p.second);
    data = asList(items);
  }
  if (format == "json") {
    ctx.out << data.dump(4) << "\n";
  } else if (format == "yaml") {
    ctx.out << toYaml(data);
  } else if (format.rfind("jsonpath=", 0) == 0 || format.rfind("jsonpath:", 0) == 0) {
    ctx.out << renderJsonPath(format.substr(9), data);
  } else {
    throw UsageError("error: unable to match a printer suitable for the output format \"" + format +
                     "\", allowed formats are: json,jsonpath,name,wide,yaml");
  }
}

std::vector<Json> listObjects(Context& ctx, const api::ResourceInfo& r, const std::string& ns,
                              const std::string& label_selector, const std::string& field_selector) {
  std::string path = collectionPath(r, ns);
  if (!label_selector.empty()) path = withQuery(path, "labelSelector", label_selector);
  if (!field_selector.empty()) path = withQuery(path, "fieldSelector", field_selector);
  Json list = ctx.api().get(path);
  std::vector<Json> items;
  for (auto& item : list.value("items", Json::array())) {
    if (!item.contains("kind")) item["kind"] = r.kind;
    if (!item.contains("apiVersion")) item["apiVersion"] = r.apiVersion();
    items.push_back(std::move(item));
  }
  return items;
}

int fail(Context& ctx, const std::string& message) {
  ctx.err << (message.rfind("error", 0) == 0 ? message : "error: " + message) << "\n";
  return 1;
}

namespace {

std::vector<FlagSpec> outputFlag() { return {{"output", 'o', true, "Output format: json|yaml|name|wide|jsonpath=…"}}; }

std::vector<FlagSpec> join(std::initializer_list<std::vector<FlagSpec>> parts) {
  std::vector<FlagSpec> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const FlagSpec kSelector{"selector", 'l', true, "Label selector (e.g. app=web,tier!=db)"};
const FlagSpec kAllNs{"all-namespaces", 'A', false, "Across all namespaces"};
const FlagSpec kFilename{"filename", 'f', true, "File, directory or - (stdin) with manifests"};
const FlagSpec kRecursive{"recursive", 'R', false, "Read directories recursively"};

}  // namespace

const std::vector<VerbSpec>& verbs() {
  static const std::vector<VerbSpec> all = {
      {"get", cmdGet,
       join({outputFlag(),
             {kSelector, kAllNs, {"field-selector", 0, true, "Field selector (metadata.name=x)"},
              {"watch", 'w', false, "Watch for changes after listing"}, {"watch-only", 0, false, "Watch without listing first"},
              {"show-labels", 0, false, "Show labels as the last column"}, {"no-headers", 0, false, "No header row"},
              {"ignore-not-found", 0, false, "Not found is not an error"}, {"chunk-size", 0, true, "Ignored"}}}),
       "get TYPE[,TYPE…] [NAME…] | TYPE/NAME… | all", "Display one or many resources"},
      {"describe", cmdDescribe, {kSelector, kAllNs}, "describe TYPE [NAME] | TYPE/NAME", "Show details of resources, with events"},
      {"apply", cmdApply,
       join({outputFlag(),
             {kFilename, kRecursive, {"server-side", 0, false, "Server-side apply"},
              {"force-conflicts", 0, false, "Take over fields of other managers (server-side)"},
              {"field-manager", 0, true, "Field manager name"}, {"validate", 0, true, "Ignored"}}}),
       "apply -f FILE|DIR|-", "Create or update resources from manifests"},
      {"create", cmdCreate, join({outputFlag(), {kFilename, kRecursive, {"validate", 0, true, "Ignored"}, {"save-config", 0, false, "Record last-applied-configuration"}}}),
       "create -f FILE|DIR|-", "Create resources from manifests"},
      {"replace", cmdReplace, join({outputFlag(), {kFilename, kRecursive, {"validate", 0, true, "Ignored"}}}),
       "replace -f FILE|DIR|-", "Replace resources from manifests"},
      {"delete", cmdDelete,
       join({outputFlag(),
             {kFilename, kRecursive, kSelector, kAllNs, {"all", 0, false, "Delete all resources of the type"},
              {"cascade", 0, true, "background|foreground|orphan"}, {"wait", 0, false, "Wait until gone (default true)"},
              {"grace-period", 0, true, "Seconds"}, {"now", 0, false, "grace-period=1"}, {"force", 0, false, "grace-period=0"},
              {"ignore-not-found", 0, false, "Not found is not an error"}, {"timeout", 0, true, "How long to wait"}}}),
       "delete TYPE NAME… | TYPE/NAME… | -f FILE | TYPE -l SEL | TYPE --all", "Delete resources"},
      {"logs", cmdLogs,
       {{"container", 'c', true, "Container name"}, {"follow", 'f', false, "Stream the log"},
        {"tail", 0, true, "Lines from the end"}, {"previous", 'p', false, "The previous instance's log"},
        {"timestamps", 0, false, "Prefix each line with its time"}, {"since", 0, true, "Only newer than (e.g. 5m)"},
        kSelector},
       "logs POD | TYPE/NAME [-c CONTAINER]", "Print a container's log"},
      {"exec", cmdExec,
       {{"container", 'c', true, "Container name"}, {"stdin", 'i', false, "Pass stdin to the container"},
        {"tty", 't', false, "Stdin is a terminal"}},
       "exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] -- COMMAND [args…]", "Run a command in a container"},
      {"port-forward", cmdPortForward, {{"address", 0, true, "Local address to listen on (default 127.0.0.1)"}},
       "port-forward (POD | TYPE/NAME) [LOCAL:]REMOTE…", "Forward local ports to a pod"},
      {"scale", cmdScale, {{"replicas", 0, true, "The new replica count"}, {"current-replicas", 0, true, "Precondition"}},
       "scale TYPE NAME | TYPE/NAME --replicas=N", "Set the replica count of a deployment or replicaset"},
      {"rollout", cmdRollout,
       {{"timeout", 0, true, "How long to wait (status)"}, {"to-revision", 0, true, "Revision (undo)"},
        {"watch", 'w', false, "Watch (status; default true)"}, {"revision", 0, true, "Revision (history)"}},
       "rollout status|restart|history|undo deployment/NAME", "Manage a deployment's rollout"},
      {"wait", cmdWait,
       {kSelector, kAllNs, {"all", 0, false, "All resources of the type"}, {"for", 0, true, "condition=C[=V] | delete | jsonpath={…}=V"},
        {"timeout", 0, true, "How long to wait (default 30s)"}},
       "wait TYPE/NAME --for=condition=Ready", "Wait for a condition on resources"},
      {"edit", cmdEdit, join({outputFlag()}), "edit TYPE NAME | TYPE/NAME", "Edit a resource in $EDITOR"},
      {"label", cmdLabel, {kSelector, {"all", 0, false, "All of the type"}, {"overwrite", 0, false, "Replace existing values"}},
       "label TYPE NAME KEY=VAL… KEY-…", "Update labels"},
      {"annotate", cmdAnnotate, {kSelector, {"all", 0, false, "All of the type"}, {"overwrite", 0, false, "Replace existing values"}},
       "annotate TYPE NAME KEY=VAL… KEY-…", "Update annotations"},
      {"patch", cmdPatch,
       join({outputFlag(), {{"patch", 'p', true, "The patch"}, {"patch-file", 0, true, "File with the patch"},
                            {"type", 0, true, "strategic|merge|json"}, {"subresource", 0, true, "status|scale"}}}),
       "patch TYPE NAME -p PATCH [--type strategic|merge|json]", "Patch a resource"},
      {"version", cmdVersion, join({outputFlag(), {{"client", 0, false, "Client version only"}}}), "version",
       "Print the client and server versions"},
      {"api-resources", cmdApiResources,
       join({outputFlag(), {{"namespaced", 0, true, "true|false"}, {"no-headers", 0, false, "No header row"}}}),
       "api-resources", "List the resource types"},
      {"kubeconfig", cmdKubeconfig, {{"merge", 0, false, "Merge into ~/.kube/config as context minikd"}, {"into", 0, true, "The file to merge into"}},
       "kubeconfig [--merge]", "Print the kubeconfig, or merge it into ~/.kube/config"},
      {"dashboard", cmdDashboard, {{"open", 0, false, "Open it in a browser"}}, "dashboard [--open]", "Print the dashboard URL"},
      {"status", cmdStatus, join({outputFlag()}), "status", "Show each component and its health"},
      {"completion", cmdCompletion, {}, "completion bash|zsh", "Print a shell completion script"},
  };
  return all;
}

}  // namespace cli

namespace {

std::string usageText() {
  std::string out = "Usage: minikd COMMAND [ARGS] [FLAGS]\n\nCommands:\n";
  out += "  up          Start minikd (API, controllers, pods, DNS, proxy, dashboard)\n";
  out += "  down        Stop minikd and clean up\n";
  for (const auto& v : cli::verbs()) {
    std::string name = v.name;
    out += "  " + name + std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') + v.summary + "\n";
  }
  out += "\nGlobal flags: --kubeconfig PATH, -n/--namespace NS, --context NAME\n";
  return out;
}

std::string verbHelp(const cli::VerbSpec& v) {
  std::string out = std::string(v.summary) + ".\n\nUsage:\n  minikd " + v.usage + "\n\nFlags:\n";
  auto flags = v.flags;
  for (const auto& g : globalFlags()) flags.push_back(g);
  for (const auto& f : flags) {
    std::string left = f.short_name ? std::string("  -") + f.short_name + ", --" + f.name : "      --" + f.name;
    if (f.takes_value) left += " VALUE";
    out += left + std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') + f.help + "\n";
  }
  return out;
}

}  // namespace

const char* cliUsage() {
  static const std::string text = usageText();
  return text.c_str();
}

bool isCliVerb(const char* verb) {
  for (const auto& v : cli::verbs())
    if (std::string(v.name) == verb) return true;
  return false;
}

int runCli(int argc, char** argv) {
  if (argc < 1 || !argv[0]) {
    std::cerr << cliUsage();
    return 1;
  }
  std::string verb = argv[0];
  if (verb == "help" || verb == "--help" || verb == "-h") {
    std::cout << cliUsage();
    return 0;
  }
  const cli::VerbSpec* spec = nullptr;
  for (const auto& v : cli::verbs())
    if (verb == v.name) spec = &v;
  if (!spec) {
    std::cerr << "error: unknown command \"" << verb << "\" for \"minikd\"\nRun 'minikd --help' for usage.\n";
    return 1;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  auto flags = spec->flags;
  for (const auto& g : globalFlags()) flags.push_back(g);
  try {
    cli::Context ctx(verb, parseArgs(args, flags));
    if (ctx.args.flag("help")) {
      std::cout << verbHelp(*spec);
      return 0;
    }
    int rc = spec->run(ctx);
    std::cout.flush();
    return rc;
  } catch (const ServerError& e) {
    std::cout.flush();
    std::cerr << e.what() << "\n";
  } catch (const UnreachableError& e) {
    std::cout.flush();
    std::cerr << e.what() << "\n";
  } catch (const UsageError& e) {
    std::cout.flush();
    std::cerr << e.what() << "\n";
    if (std::string(e.what()).find("unknown") != std::string::npos)
      std::cerr << "See 'minikd " << verb << " --help' for usage.\n";
  } catch (const std::exception& e) {
    std::cout.flush();
    std::string msg = e.what();
    std::cerr << (msg.rfind("error", 0) == 0 ? msg : "error: " + msg) << "\n";
  }
  return 1;
}

}  // namespace minikd
