#include "minikd/garbage_collector.h"

#include "minikd/replicaset_controller.h"

#include <algorithm>
#include <iostream>
#include <thread>

namespace minikd {

using api::Json;
using api::ObjectPtr;

namespace {

constexpr const char* kForegroundFinalizer = "foregroundDeletion";
constexpr const char* kOrphanFinalizer = "orphan";

bool hasFinalizer(const Json& obj, const std::string& f) {
  auto md = obj.find("metadata");
  if (md == obj.end() || !md->contains("finalizers") || !(*md)["finalizers"].is_array()) return false;
  const auto& fs = (*md)["finalizers"];
  return std::find(fs.begin(), fs.end(), Json(f)) != fs.end();
}

const Json& ownerRefs(const Json& obj) {
  static const Json kNone = Json::array();
  auto md = obj.find("metadata");
  if (md == obj.end()) return kNone;
  auto refs = md->find("ownerReferences");
  return refs != md->end() && refs->is_array() ? *refs : kNone;
}

std::string uidOf(const Json& obj) { return obj["metadata"].value("uid", ""); }

std::vector<std::string> split(const std::string& key, size_t parts) {
  std::vector<std::string> out;
  size_t start = 0;
  while (out.size() + 1 < parts) {
    size_t bar = key.find('|', start);
    if (bar == std::string::npos) break;
    out.push_back(key.substr(start, bar - start));
    start = bar + 1;
  }
  out.push_back(key.substr(start));
  return out;
}

}  // namespace

GarbageCollector::GarbageCollector(api::Api& api, GarbageCollectorConfig config) : api_(api) {
  for (const auto& r : api::builtinResources())
    if (config.resources.empty() ||
        std::find(config.resources.begin(), config.resources.end(), r.key()) != config.resources.end())
      kinds_.push_back(&r);
  for (const auto* r : kinds_) {
    auto inf = std::make_unique<api::Informer>(api, *r);
    inf->addHandler([this, r](api::EventType t, const ObjectPtr& o, const ObjectPtr& old) { onEvent(*r, t, o, old); });
    informers_.push_back(std::move(inf));
  }
}

std::string GarbageCollector::objectKey(const api::ResourceInfo& r, const Json& obj) {
  return "o|" + r.key() + "|" + api::namespaceOf(obj) + "|" + api::nameOf(obj);
}

std::string GarbageCollector::goneOwnerKey(const std::string& ns, const std::string& uid) { return "g|" + ns + "|" + uid; }

void GarbageCollector::onEvent(const api::ResourceInfo& r, api::EventType type, const ObjectPtr& obj, const ObjectPtr& old) {
  const Json& o = *obj;
  if (type == api::EventType::Deleted) {
    queue_.add(goneOwnerKey(r.namespaced ? api::namespaceOf(o) : "", uidOf(o)));
  } else {
    if (!ownerRefs(o).empty()) queue_.add(objectKey(r, o));
    if (workload::isBeingDeleted(o) && (hasFinalizer(o, kForegroundFinalizer) || hasFinalizer(o, kOrphanFinalizer)))
      queue_.add(objectKey(r, o));
  }
  // An owner in foreground deletion waits for this dependent: wake it when the dependent goes away
  // (or is marked, or stops pointing at it).
  bool dependent_changed = type == api::EventType::Deleted || workload::isBeingDeleted(o) ||
                           (old && ownerRefs(*old) != ownerRefs(o));
  if (!dependent_changed) return;
  for (const Json* refs : {&ownerRefs(o), old ? &ownerRefs(*old) : nullptr}) {
    if (!refs) continue;
    for (const auto& ref : *refs) {
      const api::ResourceInfo* owner_r = api::findResourceByKind(ref.value("apiVersion", ""), ref.value("kind", ""));
      if (!owner_r) continue;
      std::string ns = owner_r->namespaced ? api::namespaceOf(o) : "";
      queue_.add("o|" + owner_r->key() + "|" + ns + "|" + ref.value("name", ""));
    }
  }
}

std::vector<GarbageCollector::Ref> GarbageCollector::findDependents(const std::string& ns, const std::string& uid) {
  std::vector<Ref> out;
  for (const auto* r : kinds_) {
    if (!ns.empty() && !r->namespaced) continue;
    for (const auto& obj : api_.list(*r, ns, api::Filter{}).items)
      for (const auto& ref : ownerRefs(*obj))
        if (ref.value("uid", "") == uid) {
          out.push_back({r, *obj});
          break;
        }
  }
  return out;
}

void GarbageCollector::deleteObject(const api::ResourceInfo& r, const Json& obj, const std::string& policy) {
  api::DeleteRequest req;
  req.options.uid = uidOf(obj);  // never delete a namesake created since
  req.propagation_policy = policy;
  try {
    api_.remove(r, api::namespaceOf(obj), api::nameOf(obj), req);
  } catch (const api::ApiError& e) {
    if (e.code() != 404 && e.code() != 409) throw;
  }
}

void GarbageCollector::removeFinalizer(const api::ResourceInfo& r, const Json& obj, const std::string& finalizer) {
  std::string uid = uidOf(obj);
  try {
    api_.modify(r, api::namespaceOf(obj), api::nameOf(obj), [&](Json& cur) {
      if (uidOf(cur) != uid || !hasFinalizer(cur, finalizer)) return false;
      Json kept = Json::array();
      for (auto& f : cur["metadata"]["finalizers"])
        if (f != finalizer) kept.push_back(f);
      cur["metadata"]["finalizers"] = kept;
      return true;
    });
  } catch (const api::ApiError& e) {
    if (e.code() != 404) throw;
  }
}

void GarbageCollector::syncDependent(const Ref& dep) {
  // Decide on the dependent as it is now: a queued snapshot may miss an owner added since.
  std::string ns = api::namespaceOf(dep.obj);
  ObjectPtr current = api_.store().getPtr(dep.r->key(), dep.r->namespaced ? ns : "", api::nameOf(dep.obj));
  if (!current || uidOf(*current) != uidOf(dep.obj)) return;
  const Json& obj = *current;
  if (workload::isBeingDeleted(obj)) return;
  int solid = 0, waiting = 0;
  std::vector<std::string> absent;
  for (const auto& ref : ownerRefs(obj)) {
    const api::ResourceInfo* owner_r = api::findResourceByKind(ref.value("apiVersion", ""), ref.value("kind", ""));
    if (!owner_r) {
      ++solid;  // a kind we do not serve: never delete on its account
      continue;
    }
    ObjectPtr owner = api_.store().getPtr(owner_r->key(), owner_r->namespaced ? ns : "", ref.value("name", ""));
    if (!owner || uidOf(*owner) != ref.value("uid", "")) {
      absent.push_back(ref.value("uid", ""));
    } else if (workload::isBeingDeleted(*owner) && hasFinalizer(*owner, kForegroundFinalizer)) {
      ++waiting;
    } else {
      ++solid;
    }
  }
  if (solid > 0) {
    if (absent.empty()) return;
    // Still owned by someone: only forget the owners that are gone.
    std::string uid = uidOf(obj);
    api_.modify(*dep.r, ns, api::nameOf(obj), [&](Json& cur) {
      if (uidOf(cur) != uid) return false;
      Json kept = Json::array();
      for (auto& ref : cur["metadata"]["ownerReferences"])
        if (std::find(absent.begin(), absent.end(), ref.value("uid", "")) == absent.end()) kept.push_back(ref);
      cur["metadata"]["ownerReferences"] = kept;
      return true;
    });
    return;
  }
  if (waiting == 0 && absent.empty()) return;
  // Every owner is gone or waiting for its dependents: delete, cascading in the foreground when an
  // owner waits (so it keeps waiting for our own dependents too).
  deleteObject(*dep.r, obj, waiting > 0 ? "Foreground" : "Background");
}

void GarbageCollector::syncForeground(const api::ResourceInfo& r, const Json& owner) {
  std::string uid = uidOf(owner);
  bool blocked = false;
  for (const auto& dep : findDependents(r.namespaced ? api::namespaceOf(owner) : "", uid)) {
    for (const auto& ref : ownerRefs(dep.obj))
      if (ref.value("uid", "") == uid && ref.value("blockOwnerDeletion", false)) blocked = true;
    syncDependent(dep);
  }
  if (!blocked) removeFinalizer(r, owner, kForegroundFinalizer);
}

void GarbageCollector::syncOrphan(const api::ResourceInfo& r, const Json& owner) {
  std::string uid = uidOf(owner);
  for (const auto& dep : findDependents(r.namespaced ? api::namespaceOf(owner) : "", uid)) {
    std::string dep_uid = uidOf(dep.obj);
    try {
      api_.modify(*dep.r, api::namespaceOf(dep.obj), api::nameOf(dep.obj), [&](Json& cur) {
        if (uidOf(cur) != dep_uid) return false;
        Json kept = Json::array();
        for (auto& ref : cur["metadata"]["ownerReferences"])
          if (ref.value("uid", "") != uid) kept.push_back(ref);
        if (kept.empty()) cur["metadata"].erase("ownerReferences"); else cur["metadata"]["ownerReferences"] = kept;
        return true;
      });
    } catch (const api::ApiError& e) {
      if (e.code() != 404) throw;
    }
  }
  removeFinalizer(r, owner, kOrphanFinalizer);
}

void GarbageCollector::sync(const std::string& key) {
  if (key.rfind("g|", 0) == 0) {
    auto parts = split(key, 3);
    for (const auto& dep : findDependents(parts[1], parts[2])) syncDependent(dep);
    return;
  }
  auto parts = split(key, 4);
  if (parts.size() != 4) return;
  const api::ResourceInfo* r = api::findResourceByKey(parts[1]);
  if (!r) return;
  ObjectPtr obj = api_.store().getPtr(r->key(), parts[2], parts[3]);
  if (!obj) return;
  if (workload::isBeingDeleted(*obj)) {
    // Orphan first: an object carrying both finalizers keeps its dependents.
    if (hasFinalizer(*obj, kOrphanFinalizer)) {
      syncOrphan(*r, *obj);
    } else if (hasFinalizer(*obj, kForegroundFinalizer)) {
      syncForeground(*r, *obj);
    }
    return;
  }
  if (!ownerRefs(*obj).empty()) syncDependent({r, *obj});
}

void GarbageCollector::handle(const std::string& key) {
  try {
    sync(key);
    std::lock_guard lk(failures_mu_);
    failures_.erase(key);
  } catch (const std::exception& e) {
    int n;
    {
      std::lock_guard lk(failures_mu_);
      n = ++failures_[key];
    }
    if (n <= 3 || n % 10 == 0) std::cerr << "garbage collector: " << key << ": " << e.what() << ", retrying\n";
    queue_.addAfter(key, std::chrono::milliseconds(std::min<int64_t>(int64_t{100} << std::min(n, 9), 30000)));
  }
}

void GarbageCollector::run(std::stop_token st) {
  std::vector<std::jthread> threads;
  for (auto& inf : informers_) threads.emplace_back([&inf](std::stop_token s) { inf->run(s); });
  std::stop_callback stop_informers(st, [&] {
    for (auto& t : threads) t.request_stop();
  });
  while (!st.stop_requested()) {
    auto key = queue_.get(st);
    if (!key) break;
    handle(*key);
    queue_.done(*key);
  }
}

}  // namespace minikd
