// minikd version, api-resources, kubeconfig, dashboard and status.
#include "minikd/cli_common.h"
#include "minikd/printer.h"
#include "minikd/yaml.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace minikd::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kClientVersion = "v0.1.0";

std::string readText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trimmed(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t a = s.find_first_not_of(" \t\r\n");
  return a == std::string::npos ? "" : s.substr(a);
}

/// Writes `text` to `path` atomically with mode 0600 (a kubeconfig holds the token).
void writePrivate(const std::string& path, const std::string& text) {
  fs::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    ::chmod(p.parent_path().c_str(), 0700);
  }
  std::string tmp = path + ".minikd-tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw UsageError("error: cannot write \"" + tmp + "\": " + std::strerror(errno));
    out << text;
    if (!out.flush()) throw UsageError("error: cannot write \"" + tmp + "\"");
  }
  ::chmod(tmp.c_str(), 0600);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw UsageError("error: cannot replace \"" + path + "\": " + std::strerror(errno));
}

}  // namespace

int cmdVersion(Context& ctx) {
  std::string format = ctx.args.get("output");
  Json client = {{"major", "1"}, {"minor", "32"}, {"gitVersion", std::string(kClientVersion) + "-minikd"}, {"platform", "linux/amd64"}};
  if (ctx.args.flag("client")) {
    if (format.empty()) ctx.out << "Client Version: " << kClientVersion << " (minikd)\n";
    else printObjects(ctx, format == "yaml" ? "yaml" : "json", {{nullptr, {{"clientVersion", client}}}});
    return 0;
  }
  Json server = ctx.api().get("/version");
  if (!format.empty()) {
    printObjects(ctx, format == "yaml" ? "yaml" : "json", {{nullptr, {{"clientVersion", client}, {"serverVersion", server}}}});
    return 0;
  }
  ctx.out << "Client Version: " << kClientVersion << " (minikd)\n";
  ctx.out << "Server Version: " << server.value("gitVersion", "unknown") << "\n";
  return 0;
}

int cmdApiResources(Context& ctx) {
  std::string namespaced = ctx.args.get("namespaced");
  std::string format = ctx.args.get("output");
  TextTable t;
  if (!ctx.args.flag("no-headers") && format != "name") {
    std::vector<std::string> h = {"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"};
    if (format == "wide") h.insert(h.end(), {"VERBS", "CATEGORIES"});
    t.addRow(h);
  }
  for (const auto& r : api::builtinResources()) {
    if (!namespaced.empty() && (namespaced == "true") != r.namespaced) continue;
    if (format == "name") {
      ctx.out << r.key() << "\n";
      continue;
    }
    std::string shorts;
    for (const auto& s : r.short_names) shorts += (shorts.empty() ? "" : ",") + s;
    std::vector<std::string> row = {r.plural, shorts, r.apiVersion(), r.namespaced ? "true" : "false", r.kind};
    if (format == "wide") {
      std::string cats;
      for (const auto& c : r.categories) cats += (cats.empty() ? "" : ",") + c;
      row.push_back("[create delete deletecollection get list patch update watch]");
      row.push_back(cats);
    }
    t.addRow(row);
  }
  ctx.out << t.render();
  return 0;
}

int cmdKubeconfig(Context& ctx) {
  std::string path = ctx.kubeconfigPath();
  std::string text = readText(path);
  if (text.empty()) throw UnreachableError("minikd is not running (no kubeconfig at " + path + "): start it with `sudo minikd up`");
  if (!ctx.args.flag("merge")) {
    ctx.out << text;
    if (text.back() != '\n') ctx.out << "\n";
    return 0;
  }
  Json add = parseKubeconfig(text, path);
  const char* home = std::getenv("HOME");
  std::string into = ctx.args.get("into", std::string(home && *home ? home : "/root") + "/.kube/config");
  std::error_code ec;
  if (into == path || fs::equivalent(fs::path(into), fs::path(path), ec)) return fail(ctx, "cannot merge \"" + path + "\" into itself");
  Json base;
  std::string existing = readText(into);
  if (!trimmed(existing).empty()) base = parseKubeconfig(existing, into);
  Json merged = mergeKubeconfig(base, add, "minikd");
  writePrivate(into, toYaml(merged));
  ctx.out << "Merged context \"minikd\" into " << into << " (current-context is now \"minikd\")\n";
  return 0;
}

int cmdDashboard(Context& ctx) {
  std::string url;
  try {
    url = ctx.access().dashboard_url;
  } catch (const std::exception&) {
  }
  std::string state_file = (fs::path(ctx.kubeconfigPath()).parent_path() / "dashboard-url").string();
  if (url.empty()) url = trimmed(readText(state_file));
  if (url.empty())
    return fail(ctx, "no dashboard URL: `minikd up` writes it to " + state_file + " (is minikd running, and without --no-dashboard?)");
  ctx.out << url << "\n" << std::flush;
  if (ctx.args.flag("open")) {
    pid_t pid = fork();
    if (pid == 0) {
      execlp("xdg-open", "xdg-open", url.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    if (pid > 0) waitpid(pid, &status, 0);
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return fail(ctx, "could not open a browser (xdg-open); open the URL above yourself");
  }
  return 0;
}

int cmdStatus(Context& ctx) {
  HttpResponse ready = ctx.api().request("GET", "/readyz?verbose", "", "", "text/plain");
  int rc = ready.status == 200 ? 0 : 1;
  Json comps = Json::array();
  HttpResponse st = ctx.api().request("GET", "/minikd/status");
  if (st.status == 200) {
    Json body = Json::parse(st.body, nullptr, false);
    if (body.is_object()) comps = body.value("components", Json::array());
  }
  std::string format = ctx.args.get("output");
  if (format == "json" || format == "yaml") {
    Json out = {{"server", ctx.access().server}, {"ready", ready.status == 200}, {"components", comps}};
    printObjects(ctx, format, {{nullptr, out}});
    return rc;
  }
  ctx.out << "minikd at " << ctx.access().server << ": " << (ready.status == 200 ? "ready" : "NOT ready") << "\n";
  TextTable t;
  t.addRow({"COMPONENT", "STATUS", "MESSAGE"});
  for (const auto& c : comps) {
    bool healthy = c.value("healthy", false);
    if (!healthy) rc = 1;
    std::string status = healthy ? "Healthy" : "Unhealthy";
    if (ctx.tty()) status = std::string(healthy ? "\033[32m" : "\033[31m") + status + "\033[0m";
    t.addRow({c.value("name", ""), status, c.value("message", "")});
  }
  if (!comps.empty()) {
    ctx.out << t.render();
  } else {
    // No component list: show the readiness checks the server reported.
    ctx.out << ready.body;
    if (!ready.body.empty() && ready.body.back() != '\n') ctx.out << "\n";
  }
  return rc;
}

}  // namespace minikd::cli
