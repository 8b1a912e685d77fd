// minikd apply / create / replace / delete.
#include "minikd/cli_apply.h"

#include "minikd/cli_common.h"
#include "minikd/printer.h"

#include <chrono>
#include <thread>

namespace minikd::cli {

const char* const kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

Json stripNulls(const Json& v) {
  if (!v.is_object()) return v;
  Json out = Json::object();
  for (auto it = v.begin(); it != v.end(); ++it)
    if (!it.value().is_null()) out[it.key()] = stripNulls(it.value());
  return out;
}

bool subsetEqual(const Json& a, const Json& b) {
  if (a.is_object()) {
    if (!b.is_object()) return false;
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!b.contains(it.key()) || !subsetEqual(it.value(), b[it.key()])) return false;
    return true;
  }
  if (a.is_array()) {
    if (!b.is_array() || a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!subsetEqual(a[i], b[i])) return false;
    return true;
  }
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

Json threeWayMergePatch(const Json& original, const Json& modified, const Json& current) {
  Json patch = Json::object();
  for (auto it = modified.begin(); it != modified.end(); ++it) {
    const std::string& k = it.key();
    const Json& v = it.value();
    bool has_cur = current.is_object() && current.contains(k);
    if (v.is_object() && has_cur && current[k].is_object()) {
      Json orig_k = original.is_object() && original.contains(k) ? original[k] : Json();
      Json sub = threeWayMergePatch(orig_k, v, current[k]);
      if (!sub.empty()) patch[k] = std::move(sub);
    } else if (!has_cur || !subsetEqual(v, current[k])) {
      patch[k] = v;
    }
  }
  if (original.is_object()) {
    for (auto it = original.begin(); it != original.end(); ++it)
      if (!modified.contains(it.key()) && current.is_object() && current.contains(it.key())) patch[it.key()] = nullptr;
  }
  return patch;
}

namespace {

std::string nameOf(const Json& obj) { return obj.contains("metadata") ? obj["metadata"].value("name", "") : ""; }

/// kubectl's wording for an error while handling a manifest.
std::string manifestError(const ServerError& e, const std::string& op, const std::string& source) {
  if (e.reason() == "Invalid" && e.message().rfind("The ", 0) == 0) return e.message();
  return "Error from server (" + e.reason() + "): error when " + op + " \"" + source + "\": " + e.message();
}

void report(Context& ctx, const api::ResourceInfo& r, const Json& result, const std::string& name, const std::string& what) {
  std::string format = ctx.args.get("output");
  if (format.empty()) {
    ctx.out << qualifiedName(r, name) << " " << what << "\n";
    return;
  }
  Json obj = result;
  if (!obj.contains("kind")) obj["kind"] = r.kind;
  if (!obj.contains("apiVersion")) obj["apiVersion"] = r.apiVersion();
  printObjects(ctx, format, {{&r, obj}});
}

void applyOne(Context& ctx, const Manifest& m) {
  const auto& r = resourceOf(m);
  std::string ns = namespaceOf(ctx, r, m.object);
  Json desired = stripNulls(m.object);
  std::string name = nameOf(desired);
  if (name.empty())
    throw UsageError("error: error when retrieving current configuration of:\nResource: \"" + r.key() +
                     "\", Name: \"\", Namespace: \"" + ns + "\"\nfrom server for: \"" + m.source +
                     "\": resource name may not be empty");
  if (r.namespaced) desired["metadata"]["namespace"] = ns;
  std::string path = objectPath(r, ns, name);

  if (ctx.args.flag("server-side")) {
    std::string mgr = ctx.args.get("field-manager", "minikd");
    std::string q = withQuery(withQuery(path, "fieldManager", mgr), "force", ctx.args.flag("force-conflicts") ? "true" : "false");
    HttpResponse res = ctx.api().request("PATCH", q, desired.dump(), "application/apply-patch+yaml");
    if (res.status < 200 || res.status > 299) throw makeServerError(res.status, res.body);
    report(ctx, r, Json::parse(res.body, nullptr, false), name, "serverside-applied");
    return;
  }

  Json applied = desired;
  if (applied["metadata"].contains("annotations") && applied["metadata"]["annotations"].is_object())
    applied["metadata"]["annotations"].erase(kLastApplied);
  if (applied["metadata"].contains("annotations") && applied["metadata"]["annotations"].empty())
    applied["metadata"].erase("annotations");
  desired["metadata"]["annotations"][kLastApplied] = applied.dump() + "\n";

  Json live;
  try {
    live = ctx.api().get(path);
  } catch (const ServerError& e) {
    if (e.code() != 404) throw;
    std::string post = withQuery(collectionPath(r, ns), "fieldManager", "kubectl-client-side-apply");
    Json created = ctx.api().call("POST", post, desired);
    report(ctx, r, created, name, "created");
    return;
  }
  Json original;
  const Json annotations = live["metadata"].value("annotations", Json::object());
  if (annotations.contains(kLastApplied) && annotations[kLastApplied].is_string())
    original = Json::parse(annotations[kLastApplied].get<std::string>(), nullptr, false);
  if (original.is_discarded()) original = Json();
  Json patch = threeWayMergePatch(original, desired, live);
  // The last-applied annotation alone differing only in formatting is not a change.
  if (patch.size() == 1 && patch.contains("metadata") && patch["metadata"].size() == 1 &&
      patch["metadata"].contains("annotations") && patch["metadata"]["annotations"].size() == 1 &&
      patch["metadata"]["annotations"].contains(kLastApplied) && original == applied)
    patch = Json::object();
  if (patch.empty()) {
    report(ctx, r, live, name, "unchanged");
    return;
  }
  std::string q = withQuery(path, "fieldManager", "kubectl-client-side-apply");
  Json updated = ctx.api().call("PATCH", q, patch, "application/merge-patch+json");
  report(ctx, r, updated, name, "configured");
}

/// Runs `one` for every manifest of -f, printing kubectl-style errors; returns the exit code.
int forEachManifest(Context& ctx, const std::string& op, void (*one)(Context&, const Manifest&)) {
  auto manifests = readManifests(ctx.args.getAll("filename"), ctx.args.flag("recursive"));
  if (manifests.empty()) return fail(ctx, "no objects passed to " + ctx.verb);
  int rc = 0;
  for (const auto& m : manifests) {
    try {
      one(ctx, m);
    } catch (const ServerError& e) {
      ctx.err << manifestError(e, op, m.source) << "\n";
      rc = 1;
    } catch (const UsageError& e) {
      ctx.err << e.what() << "\n";
      rc = 1;
    }
  }
  return rc;
}

void createOne(Context& ctx, const Manifest& m) {
  const auto& r = resourceOf(m);
  std::string ns = namespaceOf(ctx, r, m.object);
  Json obj = stripNulls(m.object);
  if (r.namespaced) obj["metadata"]["namespace"] = ns;
  if (ctx.args.flag("save-config")) {
    Json applied = obj;
    obj["metadata"]["annotations"][kLastApplied] = applied.dump() + "\n";
  }
  Json created = ctx.api().call("POST", withQuery(collectionPath(r, ns), "fieldManager", "kubectl-create"), obj);
  report(ctx, r, created, nameOf(created).empty() ? nameOf(obj) : nameOf(created), "created");
}

void replaceOne(Context& ctx, const Manifest& m) {
  const auto& r = resourceOf(m);
  std::string ns = namespaceOf(ctx, r, m.object);
  Json obj = stripNulls(m.object);
  std::string name = nameOf(obj);
  if (r.namespaced) obj["metadata"]["namespace"] = ns;
  std::string path = objectPath(r, ns, name);
  if (obj["metadata"].value("resourceVersion", "").empty()) {
    Json live = ctx.api().get(path);
    obj["metadata"]["resourceVersion"] = live["metadata"].value("resourceVersion", "");
  }
  Json replaced = ctx.api().call("PUT", path, obj);
  report(ctx, r, replaced, name, "replaced");
}

/// One object to delete.
struct Victim {
  const api::ResourceInfo* r;
  std::string ns;
  std::string name;
};

std::string propagationPolicy(const std::string& cascade) {
  if (cascade.empty() || cascade == "background" || cascade == "true") return "Background";
  if (cascade == "foreground") return "Foreground";
  if (cascade == "orphan" || cascade == "false") return "Orphan";
  throw UsageError("error: invalid cascade value (" + cascade + "). Must be \"background\", \"foreground\", or \"orphan\".");
}

std::vector<Victim> victims(Context& ctx, int& rc) {
  std::vector<Victim> out;
  if (ctx.args.has("filename")) {
    for (const auto& m : readManifests(ctx.args.getAll("filename"), ctx.args.flag("recursive"))) {
      const auto& r = resourceOf(m);
      out.push_back({&r, namespaceOf(ctx, r, m.object), nameOf(m.object)});
    }
    return out;
  }
  auto targets = parseTargets(ctx.args.positional);
  if (targets.empty())
    throw UsageError("error: You must provide one or more resources by argument or filename.");
  bool by_selector = ctx.args.has("selector") || ctx.args.flag("all");
  for (const auto& t : targets) {
    std::string ns = ctx.allNamespaces() ? "" : ctx.ns();
    if (!t.names.empty()) {
      for (const auto& n : t.names) out.push_back({t.r, t.r->namespaced ? ctx.ns() : "", n});
      continue;
    }
    if (!by_selector)
      throw UsageError("error: resource(s) were provided, but no name was specified");
    for (const auto& obj : listObjects(ctx, *t.r, ns, ctx.args.get("selector")))
      out.push_back({t.r, obj["metadata"].value("namespace", ""), nameOf(obj)});
  }
  if (out.empty() && by_selector) {
    ctx.err << "No resources found\n";
    rc = 0;
  }
  return out;
}

bool gone(Context& ctx, const Victim& v) {
  try {
    ctx.api().get(objectPath(*v.r, v.ns, v.name));
    return false;
  } catch (const ServerError& e) {
    if (e.code() == 404) return true;
    throw;
  }
}

}  // namespace

int cmdApply(Context& ctx) { return forEachManifest(ctx, "applying", applyOne); }
int cmdCreate(Context& ctx) { return forEachManifest(ctx, "creating", createOne); }
int cmdReplace(Context& ctx) { return forEachManifest(ctx, "replacing", replaceOne); }

int cmdDelete(Context& ctx) {
  int rc = 0;
  auto list = victims(ctx, rc);
  Json options = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}, {"propagationPolicy", propagationPolicy(ctx.args.get("cascade"))}};
  if (ctx.args.flag("now")) options["gracePeriodSeconds"] = 1;
  if (ctx.args.flag("force")) options["gracePeriodSeconds"] = 0;
  if (auto g = ctx.args.getInt("grace-period"); g && *g >= 0) options["gracePeriodSeconds"] = *g;
  std::vector<Victim> deleted;
  for (const auto& v : list) {
    try {
      ctx.api().call("DELETE", objectPath(*v.r, v.ns, v.name), options);
      if (ctx.args.get("output") == "name") ctx.out << qualifiedName(*v.r, v.name) << "\n";
      else ctx.out << kindPrefix(*v.r) << " \"" << v.name << "\" deleted\n";
      ctx.out << std::flush;
      deleted.push_back(v);
    } catch (const ServerError& e) {
      if (e.code() == 404 && ctx.args.flag("ignore-not-found")) continue;
      ctx.err << e.what() << "\n";
      rc = 1;
    }
  }
  bool wait = !ctx.args.has("wait") || ctx.args.flag("wait");
  if (!wait) return rc;
  double timeout = ctx.args.has("timeout") ? parseDurationSeconds(ctx.args.get("timeout")) : 300;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
  for (const auto& v : deleted) {
    while (!gone(ctx, v)) {
      if (std::chrono::steady_clock::now() > deadline)
        return fail(ctx, "timed out waiting for the condition on " + v.r->plural + "/" + v.name);
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  return rc;
}

}  // namespace minikd::cli
