// minikd scale, rollout (status, restart, history, undo) and wait.
#include "minikd/cli_apply.h"
#include "minikd/cli_common.h"
#include "minikd/printer.h"
#include "minikd/printer_jsonpath.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace minikd::cli {
namespace {

using Clock = std::chrono::steady_clock;

/// "deployment/web" or "deployment web" → resource and name.
std::pair<const api::ResourceInfo*, std::string> oneTarget(const std::vector<std::string>& pos, const std::string& verb) {
  auto targets = parseTargets(pos);
  if (targets.size() != 1 || targets[0].names.size() != 1)
    throw UsageError("error: " + verb + " needs exactly one resource, as TYPE NAME or TYPE/NAME");
  return {targets[0].r, targets[0].names[0]};
}

Clock::time_point deadlineFrom(Context& ctx, double dflt) {
  double s = ctx.args.has("timeout") ? parseDurationSeconds(ctx.args.get("timeout")) : dflt;
  if (s <= 0) s = 365.0 * 24 * 3600;
  return Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(s * 1000));
}

int revisionOf(const Json& obj) {
  return std::atoi(obj["metadata"].value("annotations", Json::object()).value("deployment.kubernetes.io/revision", "0").c_str());
}

/// The ReplicaSets a deployment owns, newest revision first.
std::vector<Json> ownedReplicaSets(Context& ctx, const Json& d) {
  const auto* rs_r = api::findResource("apps", "replicasets");
  std::string uid = d["metadata"].value("uid", "");
  std::vector<Json> owned;
  for (const auto& rs : listObjects(ctx, *rs_r, d["metadata"].value("namespace", "default")))
    for (const auto& o : rs["metadata"].value("ownerReferences", Json::array()))
      if (o.value("uid", "") == uid) owned.push_back(rs);
  std::sort(owned.begin(), owned.end(), [](const Json& a, const Json& b) { return revisionOf(a) > revisionOf(b); });
  return owned;
}

/// kubectl's rollout status message for a deployment; empty `done` false while waiting.
std::string rolloutMessage(const Json& d, bool& done) {
  const Json spec = d.value("spec", Json::object()), st = d.value("status", Json::object());
  std::string name = d["metadata"].value("name", "");
  done = false;
  if (d["metadata"].value("generation", 0) > st.value("observedGeneration", 0))
    return "Waiting for deployment spec update to be observed...";
  int want = spec.value("replicas", 1), updated = st.value("updatedReplicas", 0), total = st.value("replicas", 0),
      avail = st.value("availableReplicas", 0);
  if (updated < want)
    return "Waiting for deployment \"" + name + "\" rollout to finish: " + std::to_string(updated) + " out of " +
           std::to_string(want) + " new replicas have been updated...";
  if (total > updated)
    return "Waiting for deployment \"" + name + "\" rollout to finish: " + std::to_string(total - updated) +
           " old replicas are pending termination...";
  if (avail < updated)
    return "Waiting for deployment \"" + name + "\" rollout to finish: " + std::to_string(avail) + " of " +
           std::to_string(updated) + " updated replicas are available...";
  done = true;
  return "deployment \"" + name + "\" successfully rolled out";
}

int rolloutStatus(Context& ctx, const api::ResourceInfo& r, const std::string& path) {
  auto deadline = deadlineFrom(ctx, 0);
  std::string last;
  bool watch = !ctx.args.has("watch") || ctx.args.flag("watch");
  while (true) {
    Json d = ctx.api().get(path);
    bool done = false;
    std::string msg = rolloutMessage(d, done);
    if (msg != last) ctx.out << msg << "\n" << std::flush;
    last = msg;
    if (done || !watch) return 0;
    if (Clock::now() > deadline) return fail(ctx, "timed out waiting for the condition");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

int rolloutHistory(Context& ctx, const api::ResourceInfo& r, const Json& d) {
  auto owned = ownedReplicaSets(ctx, d);
  std::reverse(owned.begin(), owned.end());
  ctx.out << qualifiedName(r, d["metadata"].value("name", "")) << "\n";
  TextTable t;
  t.addRow({"REVISION", "CHANGE-CAUSE"});
  for (const auto& rs : owned) {
    std::string cause = rs["metadata"].value("annotations", Json::object()).value("kubernetes.io/change-cause", "<none>");
    t.addRow({std::to_string(revisionOf(rs)), cause});
  }
  ctx.out << t.render() << "\n";
  return 0;
}

int rolloutUndo(Context& ctx, const api::ResourceInfo& r, const std::string& path, Json d) {
  auto owned = ownedReplicaSets(ctx, d);
  long long to = ctx.args.getInt("to-revision").value_or(0);
  const Json* target = nullptr;
  if (to == 0) {
    if (owned.size() < 2) return fail(ctx, "no rollout history found for " + qualifiedName(r, d["metadata"].value("name", "")));
    target = &owned[1];
  } else {
    for (const auto& rs : owned)
      if (revisionOf(rs) == to) target = &rs;
    if (!target) return fail(ctx, "unable to find specified revision " + std::to_string(to) + " in history");
  }
  Json tmpl = (*target)["spec"]["template"];
  if (tmpl.contains("metadata") && tmpl["metadata"].contains("labels")) tmpl["metadata"]["labels"].erase("pod-template-hash");
  if (subsetEqual(tmpl["spec"], d["spec"]["template"]["spec"]) && subsetEqual(d["spec"]["template"]["spec"], tmpl["spec"])) {
    ctx.out << qualifiedName(r, d["metadata"].value("name", "")) << " skipped rollback (current template already matches revision "
            << revisionOf(*target) << ")\n";
    return 0;
  }
  d["spec"]["template"] = tmpl;
  ctx.api().call("PUT", path, d);
  ctx.out << qualifiedName(r, d["metadata"].value("name", "")) << " rolled back\n";
  return 0;
}

/// Whether `obj` meets --for: condition=Type[=Value] or jsonpath={…}=value.
bool conditionMet(const std::string& cond, const Json& obj) {
  if (cond.rfind("condition=", 0) == 0) {
    std::string rest = cond.substr(10), type = rest, want = "True";
    if (size_t eq = rest.find('='); eq != std::string::npos) type = rest.substr(0, eq), want = rest.substr(eq + 1);
    for (const auto& c : obj.value("status", Json::object()).value("conditions", Json::array())) {
      std::string t = c.value("type", "");
      if (t.size() == type.size() && std::equal(t.begin(), t.end(), type.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
        return c.value("status", "") == want || (want.size() == c.value("status", "").size() &&
                                                 std::equal(want.begin(), want.end(), c.value("status", "").begin(),
                                                            [](char a, char b) { return std::tolower(a) == std::tolower(b); }));
    }
    return false;
  }
  if (cond.rfind("jsonpath=", 0) == 0) {
    std::string rest = cond.substr(9);
    size_t close = rest.rfind('}');
    if (close == std::string::npos) throw UsageError("error: jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3");
    std::string expr = rest.substr(0, close + 1), want;
    if (close + 1 < rest.size() && rest[close + 1] == '=') want = rest.substr(close + 2);
    std::string got = renderJsonPath(expr, obj);
    return want.empty() ? !got.empty() : got == want;
  }
  throw UsageError("error: unrecognized condition: \"" + cond + "\"");
}

}  // namespace

int cmdScale(Context& ctx) {
  auto [r, name] = oneTarget(ctx.args.positional, "scale");
  auto replicas = ctx.args.getInt("replicas");
  if (!replicas || *replicas < 0) return fail(ctx, "The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0");
  std::string path = objectPath(*r, r->namespaced ? ctx.ns() : "", name);
  if (auto cur = ctx.args.getInt("current-replicas")) {
    Json obj = ctx.api().get(path);
    if (obj["spec"].value("replicas", 1) != *cur)
      return fail(ctx, "Expected replicas to be " + std::to_string(*cur) + ", was " + std::to_string(obj["spec"].value("replicas", 1)));
  }
  Json patch = {{"spec", {{"replicas", *replicas}}}};
  if (r->has_scale) {
    ctx.api().call("PATCH", path + "/scale", patch, "application/merge-patch+json");
  } else if (r->kind == "Deployment" || r->kind == "ReplicaSet") {
    ctx.api().call("PATCH", path, patch, "application/merge-patch+json");
  } else {
    return fail(ctx, "cannot scale " + r->plural);
  }
  ctx.out << qualifiedName(*r, name) << " scaled\n";
  return 0;
}

int cmdRollout(Context& ctx) {
  auto& pos = ctx.args.positional;
  if (pos.empty()) return fail(ctx, "rollout needs a subcommand: status, restart, history or undo");
  std::string sub = pos[0];
  auto [r, name] = oneTarget(std::vector<std::string>(pos.begin() + 1, pos.end()), "rollout " + sub);
  if (r->kind != "Deployment") return fail(ctx, "rollout is supported for deployments only, not " + r->plural);
  std::string path = objectPath(*r, ctx.ns(), name);
  if (sub == "status") return rolloutStatus(ctx, *r, path);
  if (sub == "restart") {
    Json patch = {{"spec", {{"template", {{"metadata", {{"annotations", {{"kubectl.kubernetes.io/restartedAt", nowRfc3339()}}}}}}}}}};
    ctx.api().call("PATCH", withQuery(path, "fieldManager", "kubectl-rollout"), patch, "application/merge-patch+json");
    ctx.out << qualifiedName(*r, name) << " restarted\n";
    return 0;
  }
  Json d = ctx.api().get(path);
  if (sub == "history") return rolloutHistory(ctx, *r, d);
  if (sub == "undo") return rolloutUndo(ctx, *r, path, d);
  return fail(ctx, "unknown rollout subcommand \"" + sub + "\" (status, restart, history, undo)");
}

int cmdWait(Context& ctx) {
  std::string cond = ctx.args.get("for");
  if (cond.empty()) return fail(ctx, "--for must be specified: condition=Ready, delete, or jsonpath='{…}'=value");
  auto targets = parseTargets(ctx.args.positional);
  if (targets.empty()) return fail(ctx, "resource(s) were not provided");
  auto deadline = deadlineFrom(ctx, 30);
  struct Item {
    const api::ResourceInfo* r;
    std::string ns, name;
  };
  std::vector<Item> items;
  for (const auto& t : targets) {
    std::string ns = t.r->namespaced ? (ctx.allNamespaces() ? "" : ctx.ns()) : "";
    if (!t.names.empty()) {
      for (const auto& n : t.names) items.push_back({t.r, ns, n});
      continue;
    }
    for (const auto& o : listObjects(ctx, *t.r, ns, ctx.args.get("selector")))
      items.push_back({t.r, o["metadata"].value("namespace", ""), o["metadata"].value("name", "")});
  }
  if (items.empty()) return fail(ctx, "no matching resources found");
  for (const auto& it : items) {
    std::string path = objectPath(*it.r, it.ns, it.name);
    while (true) {
      bool met = false;
      try {
        Json obj = ctx.api().get(path);
        met = cond != "delete" && conditionMet(cond, obj);
      } catch (const ServerError& e) {
        if (e.code() != 404) throw;
        if (cond != "delete") {
          // kubectl waits for the object to appear until the timeout.
          if (Clock::now() > deadline) throw;
        } else {
          met = true;
        }
      }
      if (met) break;
      if (Clock::now() > deadline)
        return fail(ctx, "timed out waiting for the condition on " + it.r->plural + "/" + it.name);
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    ctx.out << qualifiedName(*it.r, it.name) << " condition met\n" << std::flush;
  }
  return 0;
}

}  // namespace minikd::cli
