#include "api/api.h"

#include "api/apply.h"
#include "api/patch.h"
#include "api/validation.h"

#include <openssl/rand.h>

namespace minikd::api {
namespace {

constexpr int kMaxRetries = 8;

std::string randomSuffix() {
  static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
  unsigned char b[5];
  RAND_bytes(b, sizeof b);
  std::string s;
  for (unsigned char c : b) s += alphabet[c % (sizeof alphabet - 1)];
  return s;
}

void checkWarnings(const ResourceInfo& r, const Json& obj, const WriteOptions& w) {
  if (w.field_validation == "Ignore") return;
  auto unknown = unknownFields(r, obj);
  if (unknown.empty()) return;
  if (w.field_validation == "Strict") {
    std::string msg;
    for (const auto& f : unknown) msg += (msg.empty() ? "" : ", ") + std::string("unknown field \"") + f + "\"";
    throw ApiError(400, "BadRequest", r.kind + " in version \"" + r.version + "\" cannot be handled as a " + r.kind +
                                          ": strict decoding error: " + msg);
  }
  if (w.warnings)
    for (const auto& f : unknown) w.warnings->push_back("unknown field \"" + f + "\"");
}

/// Status and scale views share the object's metadata.
Json scaleOf(const ResourceInfo& r, const Json& obj) {
  const auto& md = obj["metadata"];
  Json scale = {{"kind", "Scale"},
                {"apiVersion", "autoscaling/v1"},
                {"metadata",
                 {{"name", md["name"]},
                  {"namespace", md.value("namespace", "")},
                  {"uid", md.value("uid", "")},
                  {"resourceVersion", md.value("resourceVersion", "")},
                  {"creationTimestamp", md.value("creationTimestamp", "")}}},
                {"spec", {{"replicas", obj["spec"].value("replicas", 0)}}},
                {"status", {{"replicas", obj.contains("status") ? obj["status"].value("replicas", 0) : 0}}}};
  if (obj["spec"].contains("selector")) {
    try {
      scale["status"]["selector"] = LabelSelector::fromJson(obj["spec"]["selector"]).toString();
    } catch (const ApiError&) {
    }
  }
  return scale;
}

std::string metaRv(const Json& obj) {
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) return {};
  auto it = obj["metadata"].find("resourceVersion");
  return it != obj["metadata"].end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string namespaceOf(const Json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return {};
  auto it = md->find("namespace");
  return it != md->end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string nameOf(const Json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->is_object()) return {};
  auto it = md->find("name");
  return it != md->end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string qualifiedResource(const ResourceInfo& r) { return r.group.empty() ? r.plural : r.plural + "." + r.group; }

void Api::addAdmission(const std::string& key, Admission fn) { admission_[key].push_back(std::move(fn)); }

Json Api::admit(const ResourceInfo& r, Operation op, Json obj, const Json* old, const WriteOptions& w) {
  applyDefaults(r, obj);
  auto causes = validate(r, obj, old);
  if (!causes.empty()) throw invalid(r.kind, nameOf(obj), causes);
  if (auto it = admission_.find(r.key()); it != admission_.end())
    for (auto& fn : it->second) fn(op, obj, old);
  return obj;
}

Json Api::create(const ResourceInfo& r, const std::string& ns, Json obj, const WriteOptions& w) {
  if (!obj.is_object()) throw badRequest("the body of the request must be a JSON object");
  if (obj.contains("kind") && obj["kind"] != r.kind)
    throw badRequest("the kind \"" + obj["kind"].dump() + "\" of the object does not match the resource \"" +
                     qualifiedResource(r) + "\"");
  if (obj.contains("apiVersion") && obj["apiVersion"] != r.apiVersion())
    throw badRequest("the apiVersion " + obj["apiVersion"].dump() + " does not match " + r.apiVersion());
  obj["kind"] = r.kind;
  obj["apiVersion"] = r.apiVersion();
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  auto& md = obj["metadata"];
  if (r.namespaced) {
    std::string want = ns.empty() ? "default" : ns;
    if (md.contains("namespace") && md["namespace"].is_string() && !md["namespace"].get<std::string>().empty() &&
        md["namespace"] != want)
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    md["namespace"] = want;
    auto nsobj = store_.getPtr("namespaces", "", want);
    if (!nsobj) throw notFound("namespaces", want);
    if ((*nsobj)["metadata"].contains("deletionTimestamp"))
      throw ApiError(403, "Forbidden",
                     qualifiedResource(r) + " \"" + nameOf(obj) + "\" is forbidden: unable to create new content in namespace " +
                         want + " because it is being terminated");
  } else {
    md.erase("namespace");
  }
  for (const char* k : {"uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation", "selfLink",
                        "deletionGracePeriodSeconds"})
    md.erase(k);
  if (r.has_status && r.kind != "Node" && r.kind != "Namespace") obj.erase("status");
  // As the apiserver's pod strategy: a new pod is Pending until a node runs it.
  if (r.kind == "Pod") obj["status"] = {{"phase", "Pending"}, {"qosClass", "BestEffort"}};
  checkWarnings(r, obj, w);
  bool generated = nameOf(obj).empty() && md.contains("generateName") && md["generateName"].is_string();
  for (int attempt = 0;; ++attempt) {
    Json candidate = obj;
    if (generated) candidate["metadata"]["name"] = md["generateName"].get<std::string>() + randomSuffix();
    if (nameOf(candidate).empty())
      throw invalid(r.kind, "", {{"FieldValueRequired", "Required value: name or generateName is required", "metadata.name"}});
    candidate = admit(r, Operation::Create, std::move(candidate), nullptr, w);
    if (w.record_managed && !w.field_manager.empty())
      candidate = recordManagedUpdate(r, nullptr, std::move(candidate), {w.field_manager, r.apiVersion(), nowRfc3339()});
    if (w.dry_run) return candidate;
    try {
      return store_.create(r.key(), std::move(candidate));
    } catch (const ApiError& e) {
      if (!generated || e.code() != 409 || attempt >= kMaxRetries) throw;
    }
  }
}

Json Api::get(const ResourceInfo& r, const std::string& ns, const std::string& name, Subresource sub) {
  auto obj = store_.getPtr(r.key(), r.namespaced ? ns : "", name);
  if (!obj) throw notFound(qualifiedResource(r), name);
  if (sub == Subresource::Scale) return scaleOf(r, *obj);
  return *obj;
}

ListResult Api::list(const ResourceInfo& r, const std::string& ns, Filter filter, const ListOptions& o) {
  filter.resource = r.key();
  filter.ns = r.namespaced ? ns : "";
  return store_.list(filter, o);
}

Json Api::update(const ResourceInfo& r, const std::string& ns, const std::string& name, Json obj, Subresource sub,
                 const WriteOptions& w) {
  if (!obj.is_object()) throw badRequest("the body of the request must be a JSON object");
  if (!nameOf(obj).empty() && nameOf(obj) != name)
    throw badRequest("the name of the object (" + nameOf(obj) + ") does not match the name on the URL (" + name + ")");
  std::string want_rv = metaRv(obj);
  if (sub == Subresource::None) checkWarnings(r, obj, w);
  for (int attempt = 0;; ++attempt) {
    Json current = get(r, ns, name);
    Json next;
    if (sub == Subresource::Status) {
      next = current;
      if (obj.contains("status")) next["status"] = obj["status"];
    } else if (sub == Subresource::Scale) {
      if (!r.has_scale) throw notFound(qualifiedResource(r), name + "/scale");
      next = current;
      next["spec"]["replicas"] = obj.contains("spec") ? obj["spec"].value("replicas", 0) : 0;
    } else {
      next = obj;
      next["kind"] = r.kind;
      next["apiVersion"] = r.apiVersion();
      if (!next.contains("metadata") || !next["metadata"].is_object()) next["metadata"] = Json::object();
      next["metadata"]["name"] = name;
      if (r.namespaced) next["metadata"]["namespace"] = namespaceOf(current);
      if (r.has_status) {
        if (current.contains("status"))
          next["status"] = current["status"];
        else
          next.erase("status");
      }
    }
    next["metadata"]["resourceVersion"] = want_rv.empty() ? metaRv(current) : want_rv;
    next = admit(r, Operation::Update, std::move(next), &current, w);
    if (w.record_managed && !w.field_manager.empty() && sub == Subresource::None)
      next = recordManagedUpdate(r, &current, std::move(next), {w.field_manager, r.apiVersion(), nowRfc3339()});
    if (w.dry_run) return next;
    try {
      Json out = store_.update(r.key(), std::move(next));
      return sub == Subresource::Scale ? scaleOf(r, out) : out;
    } catch (const ApiError& e) {
      if (e.code() != 409 || !want_rv.empty() || attempt >= kMaxRetries) throw;
    }
  }
}

Json Api::applyPatchToObject(const ResourceInfo& r, const Json& current, const std::string& content_type,
                             const Json& patch, const WriteOptions& w) {
  if (content_type == "application/merge-patch+json") return applyMergePatch(current, patch);
  if (content_type == "application/json-patch+json") return applyJsonPatch(current, patch);
  if (content_type == "application/strategic-merge-patch+json") return applyStrategicMergePatch(r, current, patch);
  if (content_type == "application/apply-patch+yaml") return applyStrategicMergePatch(r, current, patch);
  throw unsupportedMediaType("the body of the request was in an unknown format - accepted media types include: "
                             "application/json-patch+json, application/merge-patch+json, "
                             "application/apply-patch+yaml, application/strategic-merge-patch+json");
}

Json Api::patch(const ResourceInfo& r, const std::string& ns, const std::string& name, const std::string& content_type,
                const Json& patch, Subresource sub, const WriteOptions& w) {
  bool apply = content_type == "application/apply-patch+yaml";
  std::string want_rv = patch.is_object() ? metaRv(patch) : std::string();
  WriteOptions wo = w;
  if (apply) {
    if (w.field_manager.empty())
      throw badRequest("PATCH requests of type application/apply-patch+yaml must specify a fieldManager");
    if (!patch.is_object()) throw badRequest("an apply patch must be an object");
    wo.record_managed = false;
  }
  ManagedWrite mw{w.field_manager, r.apiVersion(), nowRfc3339(), w.force};
  for (int attempt = 0;; ++attempt) {
    auto cur = store_.getPtr(r.key(), r.namespaced ? ns : "", name);
    if (!cur) {
      if (!apply) throw notFound(qualifiedResource(r), name);
      Json obj = serverSideApply(r, nullptr, patch, mw);
      obj["metadata"]["name"] = name;
      return create(r, ns, obj, wo);
    }
    Json current = *cur;
    Json view = sub == Subresource::Scale ? scaleOf(r, current) : current;
    Json patched = apply && sub == Subresource::None ? serverSideApply(r, &current, patch, mw)
                                                     : applyPatchToObject(r, view, content_type, patch, w);
    if (!patched.is_object()) throw badRequest("the patch does not produce an object");
    if (nameOf(patched) != name) throw badRequest("the patch may not change the object's name");
    patched["metadata"]["resourceVersion"] = want_rv.empty() ? metaRv(current) : want_rv;
    try {
      return update(r, ns, name, std::move(patched), sub, wo);
    } catch (const ApiError& e) {
      if (e.code() != 409 || !want_rv.empty() || attempt >= kMaxRetries) throw;
    }
  }
}

Json Api::remove(const ResourceInfo& r, const std::string& ns, const std::string& name, const DeleteRequest& d) {
  std::string sns = r.namespaced ? ns : "";
  auto cur = store_.getPtr(r.key(), sns, name);
  if (!cur) throw notFound(qualifiedResource(r), name);
  const Json& obj = *cur;
  if (r.kind == "Namespace") {
    if (name == "default" || name == "kube-system" || name == "kube-public")
      throw forbidden("namespaces \"" + name + "\" is forbidden: this namespace may not be deleted");
    return store_.modify(r.key(), "", name, [](Json& o) {
      if (o["metadata"].contains("deletionTimestamp")) return false;
      o["metadata"]["deletionTimestamp"] = nowRfc3339();
      o["metadata"]["deletionGracePeriodSeconds"] = 0;
      o["spec"]["finalizers"] = Json::array({"kubernetes"});
      o["status"]["phase"] = "Terminating";
      return true;
    });
  }
  std::string finalizer;
  if (d.propagation_policy == "Foreground") finalizer = "foregroundDeletion";
  if (d.propagation_policy == "Orphan") finalizer = "orphan";
  if (!finalizer.empty() && !obj["metadata"].contains("deletionTimestamp")) {
    store_.modify(r.key(), sns, name, [&](Json& o) {
      auto& f = o["metadata"]["finalizers"];
      if (!f.is_array()) f = Json::array();
      for (auto& x : f)
        if (x == finalizer) return false;
      f.push_back(finalizer);
      return true;
    });
  }
  DeleteOptions opts = d.options;
  if (r.kind == "Pod" && options_.graceful_pod_deletion) {
    bool bound = obj.contains("spec") && !obj["spec"].value("nodeName", "").empty();
    std::string phase = obj.contains("status") ? obj["status"].value("phase", "") : "";
    if (!opts.grace_period_seconds) opts.grace_period_seconds = obj["spec"].value("terminationGracePeriodSeconds", 30);
    // A pod nobody runs goes at once; a running one is marked and the runtime stops it, then deletes it.
    if (!bound) opts.grace_period_seconds = 0;
    if (*opts.grace_period_seconds == 0 && bound && phase != "Succeeded" && phase != "Failed")
      opts.grace_period_seconds = 1;
  } else {
    opts.grace_period_seconds.reset();
  }
  return store_.remove(r.key(), sns, name, opts);
}

Api::WatchStart Api::watch(const ResourceInfo& r, const std::string& ns, Filter filter, int64_t rv) {
  filter.resource = r.key();
  filter.ns = r.namespaced ? ns : "";
  WatchStart out;
  if (rv == 0) {
    auto res = store_.list(filter);
    out.initial = std::move(res.items);
    rv = res.resource_version;
  }
  out.watch = store_.watch(filter, rv);
  return out;
}

Json Api::modify(const ResourceInfo& r, const std::string& ns, const std::string& name,
                 const std::function<bool(Json&)>& fn) {
  return store_.modify(r.key(), r.namespaced ? ns : "", name, [&](Json& obj) {
    Json before = obj;
    if (!fn(obj)) return false;
    applyDefaults(r, obj);
    auto causes = validate(r, obj, &before);
    if (!causes.empty()) throw invalid(r.kind, nameOf(obj), causes);
    return true;
  });
}

}  // namespace minikd::api
