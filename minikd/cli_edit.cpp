// minikd edit ($EDITOR), label, annotate and patch.
#include "minikd/cli_common.h"
#include "minikd/printer.h"
#include "minikd/yaml.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace minikd::cli {
namespace {

/// The objects a label/annotate/patch command names: TYPE NAME…, TYPE/NAME…, or TYPE with -l/--all.
/// `rest` receives the arguments after the names (KEY=VAL for label/annotate).
std::vector<std::pair<const api::ResourceInfo*, std::string>> namedObjects(Context& ctx, std::vector<std::string>& rest,
                                                                           bool allow_pairs) {
  std::vector<std::string> pos = ctx.args.positional;
  std::vector<std::string> names_part;
  for (const auto& p : pos) {
    bool is_pair = allow_pairs && (p.find('=') != std::string::npos || (!p.empty() && p.back() == '-'));
    (is_pair ? rest : names_part).push_back(p);
  }
  auto targets = parseTargets(names_part);
  if (targets.empty()) throw UsageError("error: You must provide one or more resources by argument or filename.");
  std::vector<std::pair<const api::ResourceInfo*, std::string>> out;
  for (const auto& t : targets) {
    if (!t.names.empty()) {
      for (const auto& n : t.names) out.push_back({t.r, n});
    } else if (ctx.args.has("selector") || ctx.args.flag("all")) {
      for (const auto& o : listObjects(ctx, *t.r, t.r->namespaced ? ctx.ns() : "", ctx.args.get("selector")))
        out.push_back({t.r, o["metadata"].value("name", "")});
    } else {
      throw UsageError("error: resource(s) were provided, but no name was specified");
    }
  }
  return out;
}

int updateMetadataMap(Context& ctx, const char* field, const char* past) {
  std::vector<std::string> pairs;
  auto objs = namedObjects(ctx, pairs, true);
  if (pairs.empty()) return fail(ctx, std::string("at least one ") + (std::string(field) == "labels" ? "label" : "annotation") + " update is required");
  Json changes = Json::object();
  for (const auto& p : pairs) {
    if (p.back() == '-' && p.find('=') == std::string::npos) {
      changes[p.substr(0, p.size() - 1)] = nullptr;
      continue;
    }
    size_t eq = p.find('=');
    changes[p.substr(0, eq)] = p.substr(eq + 1);
  }
  int rc = 0;
  for (const auto& [r, name] : objs) {
    std::string path = objectPath(*r, r->namespaced ? ctx.ns() : "", name);
    try {
      Json obj = ctx.api().get(path);
      Json current = obj["metadata"].value(field, Json::object());
      bool changed = false;
      for (auto it = changes.begin(); it != changes.end(); ++it) {
        if (it.value().is_null()) {
          changed |= current.contains(it.key());
          continue;
        }
        if (current.contains(it.key()) && current[it.key()] != it.value() && !ctx.args.flag("overwrite"))
          throw UsageError("error: '" + it.key() + "' already has a value (" + current[it.key()].get<std::string>() +
                           "), and --overwrite is false");
        changed |= !current.contains(it.key()) || current[it.key()] != it.value();
      }
      if (!changed) {
        ctx.out << qualifiedName(*r, name) << " not " << past << "\n";
        continue;
      }
      Json patch = {{"metadata", {{field, changes}}}};
      ctx.api().call("PATCH", withQuery(path, "fieldManager", std::string("kubectl-") + (std::string(field) == "labels" ? "label" : "annotate")),
                     patch, "application/merge-patch+json");
      ctx.out << qualifiedName(*r, name) << " " << past << "\n";
    } catch (const ServerError& e) {
      ctx.err << e.what() << "\n";
      rc = 1;
    }
  }
  return rc;
}

std::string readFileText(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError("error: cannot read \"" + path + "\"");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Runs $KUBE_EDITOR / $EDITOR (default vi) on `file` through the shell; returns its exit status.
int runEditor(const std::string& file) {
  const char* ed = std::getenv("KUBE_EDITOR");
  if (!ed || !*ed) ed = std::getenv("EDITOR");
  std::string editor = ed && *ed ? ed : "vi";
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::string cmd = editor + " \"$1\"";
    execl("/bin/sh", "sh", "-c", cmd.c_str(), "sh", file.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string stripComments(const std::string& text) {
  std::stringstream in(text), out;
  for (std::string line; std::getline(in, line);)
    if (line.rfind("#", 0) != 0) out << line << "\n";
  return out.str();
}

}  // namespace

int cmdLabel(Context& ctx) { return updateMetadataMap(ctx, "labels", "labeled"); }
int cmdAnnotate(Context& ctx) { return updateMetadataMap(ctx, "annotations", "annotated"); }

int cmdPatch(Context& ctx) {
  std::vector<std::string> unused;
  auto objs = namedObjects(ctx, unused, false);
  std::string body = ctx.args.get("patch");
  if (ctx.args.has("patch-file")) body = readFileText(ctx.args.get("patch-file"));
  if (body.empty()) return fail(ctx, "must specify --patch or --patch-file containing the contents of the patch");
  std::string type = ctx.args.get("type", "strategic");
  std::string content_type = type == "strategic" ? "application/strategic-merge-patch+json"
                             : type == "merge"   ? "application/merge-patch+json"
                             : type == "json"    ? "application/json-patch+json"
                                                 : "";
  if (content_type.empty()) return fail(ctx, "--type must be one of [json merge strategic], not \"" + type + "\"");
  Json patch;
  try {
    patch = parseYaml(body);  // kubectl accepts the patch as JSON or YAML
  } catch (const YamlError& e) {
    return fail(ctx, std::string("unable to parse \"") + body + "\": " + e.what());
  }
  int rc = 0;
  for (const auto& [r, name] : objs) {
    std::string path = objectPath(*r, r->namespaced ? ctx.ns() : "", name);
    if (ctx.args.has("subresource")) path += "/" + ctx.args.get("subresource");
    try {
      Json before = ctx.api().get(path);
      Json after = ctx.api().call("PATCH", withQuery(path, "fieldManager", "kubectl-patch"), patch, content_type);
      if (ctx.args.has("output")) {
        printObjects(ctx, ctx.args.get("output"), {{r, after}});
        continue;
      }
      bool same = before["metadata"].value("resourceVersion", "") == after["metadata"].value("resourceVersion", "");
      ctx.out << qualifiedName(*r, name) << " patched" << (same ? " (no change)" : "") << "\n";
    } catch (const ServerError& e) {
      ctx.err << e.what() << "\n";
      rc = 1;
    }
  }
  return rc;
}

int cmdEdit(Context& ctx) {
  std::vector<std::string> unused;
  auto objs = namedObjects(ctx, unused, false);
  int rc = 0;
  for (const auto& [r, name] : objs) {
    std::string path = objectPath(*r, r->namespaced ? ctx.ns() : "", name);
    Json obj = ctx.api().get(path);
    std::string header =
        "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
        "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
        "# reopened with the relevant failures.\n#\n";
    std::string original = toYaml(obj);
    char tmpl[] = "/tmp/minikd-edit-XXXXXX.yaml";
    int fd = mkstemps(tmpl, 5);
    if (fd < 0) return fail(ctx, "cannot create a temporary file for editing");
    std::string text = header + original;
    while (true) {
      if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
        ::close(fd);
        return fail(ctx, std::string("cannot write ") + tmpl);
      }
      ::close(fd);
      if (runEditor(tmpl) != 0) {
        ctx.err << "error: the editor exited with an error; the edit is kept in " << tmpl << "\n";
        return 1;
      }
      std::string edited = stripComments(readFileText(tmpl));
      if (edited.find_first_not_of(" \t\r\n") == std::string::npos) {
        ctx.out << "Edit cancelled, no changes made.\n";
        ::unlink(tmpl);
        break;
      }
      Json updated;
      std::string problem;
      try {
        updated = parseYaml(edited);
        if (updated == obj) {
          ctx.out << "Edit cancelled, no changes made.\n";
          ::unlink(tmpl);
          break;
        }
        ctx.api().call("PUT", path, updated);
        ctx.out << qualifiedName(*r, name) << " edited\n";
        ::unlink(tmpl);
        break;
      } catch (const YamlError& e) {
        problem = e.what();
      } catch (const ServerError& e) {
        problem = e.what();
      }
      // Reopen with the error on top, like kubectl; an unchanged second attempt gives up.
      std::string again = header + "# " + problem + "\n#\n" + edited;
      if (again == text) {
        ctx.err << (problem.rfind("error", 0) == 0 || problem.rfind("Error", 0) == 0 || problem.rfind("The ", 0) == 0 ? "" : "error: ")
                << problem << "\nA copy of your changes has been stored to \"" << tmpl << "\"\n";
        rc = 1;
        break;
      }
      text = again;
      fd = ::open(tmpl, O_WRONLY | O_TRUNC);
      if (fd < 0) return fail(ctx, std::string("cannot reopen ") + tmpl);
    }
  }
  return rc;
}

}  // namespace minikd::cli
