#include "minikd/deployment_controller.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <set>
#include <stdexcept>
#include <thread>

namespace minikd {
namespace workload {

using api::Json;

namespace {

/// Drops nulls, empty objects and empty arrays, recursively: a template sent by kubectl (Go structs:
/// `creationTimestamp: null`, `resources: {}`) equals the same template without them, as in Kubernetes'
/// semantic equality.
Json normalized(const Json& v) {
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      Json n = normalized(*it);
      if (n.is_null() || ((n.is_object() || n.is_array()) && n.empty())) continue;
      out[it.key()] = std::move(n);
    }
    return out;
  }
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& item : v) out.push_back(normalized(item));
    return out;
  }
  return v;
}

}  // namespace

std::string podTemplateHash(const Json& pod_template, std::optional<int64_t> collision_count) {
  uint32_t h = 2166136261u;
  auto feed = [&h](const std::string& bytes) {
    for (unsigned char c : bytes) {
      h ^= c;
      h *= 16777619u;
    }
  };
  feed(normalized(pod_template).dump());
  if (collision_count) feed(std::to_string(*collision_count));
  // Kubernetes' rand.SafeEncodeString: no vowels (no words) and no look-alike characters.
  static constexpr std::string_view kAlphanums = "bcdfghjklmnpqrstvwxz2456789";
  std::string out;
  for (char c : std::to_string(h)) out += kAlphanums[static_cast<unsigned char>(c) % kAlphanums.size()];
  return out;
}

int64_t scaledValue(const Json& value, int64_t total, bool round_up) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (!value.is_string()) throw std::invalid_argument("invalid int-or-percent value " + value.dump());
  std::string s = value.get<std::string>();
  if (!s.empty() && s.back() != '%' && s.find_first_not_of("0123456789") == std::string::npos) return std::stoll(s);
  if (s.empty() || s.back() != '%')
    throw std::invalid_argument("invalid int-or-percent value \"" + s + "\": must be an integer or a percentage");
  int64_t pct;
  try {
    size_t used = 0;
    pct = std::stoll(s.substr(0, s.size() - 1), &used);
    if (used != s.size() - 1) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    throw std::invalid_argument("invalid int-or-percent value \"" + s + "\": must be an integer or a percentage");
  }
  int64_t scaled = pct * total;
  return round_up ? (scaled + 99) / 100 : scaled / 100;
}

std::pair<int64_t, int64_t> resolveFenceposts(const Json& rolling_update, int64_t replicas) {
  Json ru = rolling_update.is_object() ? rolling_update : Json::object();
  int64_t surge = scaledValue(ru.value("maxSurge", Json("25%")), replicas, true);
  int64_t unavailable = scaledValue(ru.value("maxUnavailable", Json("25%")), replicas, false);
  if (surge == 0 && unavailable == 0) unavailable = 1;  // a rollout must be able to make progress
  return {surge, unavailable};
}

bool equalIgnoreHash(const Json& a, const Json& b) {
  auto strip = [](Json t) {
    if (t.is_object() && t.contains("metadata") && t["metadata"].contains("labels")) {
      auto& labels = t["metadata"]["labels"];
      labels.erase(kPodTemplateHashLabel);
      if (labels.empty()) t["metadata"].erase("labels");
    }
    if (t.is_object() && t.contains("metadata") && t["metadata"].empty()) t.erase("metadata");
    return t;
  };
  return normalized(strip(a)) == normalized(strip(b));
}

}  // namespace workload

using api::Json;
using api::ObjectPtr;
using namespace workload;

namespace {

const api::ResourceInfo& podsResource() { return *api::findResourceByKey("pods"); }
const api::ResourceInfo& rsResource() { return *api::findResourceByKey("replicasets.apps"); }
const api::ResourceInfo& deployResource() { return *api::findResourceByKey("deployments.apps"); }

std::string uidOf(const Json& obj) { return obj["metadata"].value("uid", ""); }

int64_t revisionOf(const Json& rs) {
  auto md = rs.find("metadata");
  if (md == rs.end() || !md->contains("annotations")) return 0;
  try {
    return std::stoll((*md)["annotations"].value(kRevisionAnnotation, "0"));
  } catch (const std::exception&) {
    return 0;
  }
}

int64_t statusInt(const Json& obj, const char* field) {
  auto st = obj.find("status");
  if (st == obj.end() || !st->is_object()) return 0;
  return st->value(field, int64_t{0});
}

/// Annotations a Deployment passes on to its ReplicaSets (all but the controller's own and kubectl's).
bool copiedAnnotation(const std::string& key) {
  return key != kRevisionAnnotation && key != kRevisionHistoryAnnotation && key != kDesiredReplicasAnnotation &&
         key != kMaxReplicasAnnotation && key != "kubectl.kubernetes.io/last-applied-configuration" &&
         key != "deprecated.deployment.rollback.to";
}

bool byCreation(const Json& a, const Json& b) {
  std::string ca = a["metadata"].value("creationTimestamp", ""), cb = b["metadata"].value("creationTimestamp", "");
  if (ca != cb) return ca < cb;
  return api::nameOf(a) < api::nameOf(b);
}

Json condition(const std::string& type, const std::string& status, const std::string& reason, const std::string& message,
               const std::string& now) {
  return {{"type", type}, {"status", status}, {"lastUpdateTime", now}, {"lastTransitionTime", now},
          {"reason", reason}, {"message", message}};
}

/// Kubernetes' SetDeploymentCondition: no change when status and reason are the same; the
/// transition time survives when only the reason changes.
void setCondition(Json& status, Json cond) {
  Json& conds = status["conditions"];
  if (!conds.is_array()) conds = Json::array();
  for (auto it = conds.begin(); it != conds.end(); ++it) {
    if ((*it).value("type", "") != cond["type"]) continue;
    if ((*it).value("status", "") == cond["status"] && (*it).value("reason", "") == cond["reason"]) return;
    if ((*it).value("status", "") == cond["status"]) cond["lastTransitionTime"] = (*it)["lastTransitionTime"];
    conds.erase(it);
    break;
  }
  conds.push_back(std::move(cond));
}

void removeCondition(Json& status, const std::string& type) {
  if (!status.contains("conditions")) return;
  Json kept = Json::array();
  for (auto& c : status["conditions"])
    if (c.value("type", "") != type) kept.push_back(c);
  status["conditions"] = kept;
}

}  // namespace

struct DeploymentController::State {
  Json d;
  std::string ns;
  std::string hash;
  std::vector<Json> all;     // owned ReplicaSets, not being deleted
  std::optional<Json> fresh; // the new ReplicaSet (matches the current template)
  std::vector<Json> olds;    // the others, oldest first
  std::string progress_reason;   // NewReplicaSetCreated / FoundNewReplicaSet set during this sync
  bool rolling = true;
  int64_t max_surge = 0;
  int64_t max_unavailable = 0;

  int64_t replicas() const { return specReplicas(d); }
  void regroup() {
    olds.clear();
    for (const auto& rs : all)
      if (!fresh || uidOf(rs) != uidOf(*fresh)) olds.push_back(rs);
    std::sort(olds.begin(), olds.end(), byCreation);
  }
};

DeploymentController::DeploymentController(api::Api& api, DeploymentControllerConfig config)
    : api_(api),
      config_(std::move(config)),
      d_informer_(api, deployResource()),
      rs_informer_(api, rsResource()),
      pod_informer_(api, podsResource()) {
  if (!config_.clock) config_.clock = [] { return std::chrono::system_clock::now(); };
  d_informer_.addHandler([this](api::EventType, const ObjectPtr& d, const ObjectPtr&) { queue_.add(api::keyOf(*d)); });
  rs_informer_.addHandler([this](api::EventType, const ObjectPtr& rs, const ObjectPtr& old) {
    enqueueOwner(*rs, "Deployment");
    if (old) enqueueOwner(*old, "Deployment");
    // An orphaned ReplicaSet may be adopted by a Deployment whose selector matches it.
    if (!controllerRef(*rs))
      for (const auto& d : d_informer_.items())
        if (api::namespaceOf(*d) == api::namespaceOf(*rs)) queue_.add(api::keyOf(*d));
  });
  // Recreate waits for the old pods to be gone: a pod's change wakes its Deployment.
  pod_informer_.addHandler([this](api::EventType, const ObjectPtr& pod, const ObjectPtr&) {
    const Json* ref = controllerRef(*pod);
    if (!ref || ref->value("kind", "") != "ReplicaSet") return;
    if (auto rs = rs_informer_.get(api::namespaceOf(*pod), ref->value("name", ""))) enqueueOwner(*rs, "Deployment");
  });
}

void DeploymentController::enqueueOwner(const Json& obj, const std::string& kind) {
  const Json* ref = controllerRef(obj);
  if (ref && ref->value("kind", "") == kind) queue_.add(api::namespaceOf(obj) + "/" + ref->value("name", ""));
}

std::vector<Json> DeploymentController::claimReplicaSets(const Json& d, const api::LabelSelector& selector) {
  std::vector<Json> owned;
  std::string ns = api::namespaceOf(d), uid = uidOf(d);
  for (const auto& rs : api_.list(rsResource(), ns, api::Filter{}).items) {
    const Json* ref = controllerRef(*rs);
    bool matches = selector.matches((*rs)["metadata"].value("labels", Json::object()));
    bool mine = ref && ref->value("uid", "") == uid;
    std::string name = api::nameOf(*rs);
    if (mine && !matches) {
      api_.modify(rsResource(), ns, name, [&](Json& obj) {
        Json kept = Json::array();
        for (auto& r : obj["metadata"]["ownerReferences"])
          if (r.value("uid", "") != uid) kept.push_back(r);
        if (kept.empty()) obj["metadata"].erase("ownerReferences"); else obj["metadata"]["ownerReferences"] = kept;
        return true;
      });
      continue;
    }
    if (!ref && matches && !isBeingDeleted(d) && !isBeingDeleted(*rs)) {
      Json adopted = api_.modify(rsResource(), ns, name, [&](Json& obj) {
        if (controllerRef(obj)) return false;
        auto& refs = obj["metadata"]["ownerReferences"];
        if (!refs.is_array()) refs = Json::array();
        refs.push_back(makeControllerRef(d, "apps/v1", "Deployment"));
        return true;
      });
      const Json* now_ref = controllerRef(adopted);
      if (now_ref && now_ref->value("uid", "") == uid) owned.push_back(std::move(adopted));
      continue;
    }
    if (mine && !isBeingDeleted(*rs)) owned.push_back(*rs);
  }
  return owned;
}

Json DeploymentController::createNewReplicaSet(State& s, int64_t max_old_revision) {
  const Json& tmpl_in = s.d["spec"]["template"];
  Json tmpl = tmpl_in;
  tmpl["metadata"]["labels"][kPodTemplateHashLabel] = s.hash;
  Json selector = s.d["spec"].value("selector", Json::object());
  selector["matchLabels"][kPodTemplateHashLabel] = s.hash;

  // Initial size: Recreate starts at full size once the old pods are gone; RollingUpdate up to the surge.
  int64_t replicas = s.replicas();
  if (s.rolling) {
    int64_t current = 0;
    for (const auto& rs : s.all) current += specReplicas(rs);
    replicas = std::max<int64_t>(0, std::min(s.replicas() + s.max_surge - current, s.replicas()));
  }
  Json annotations = Json::object();
  if (s.d["metadata"].contains("annotations"))
    for (auto it = s.d["metadata"]["annotations"].begin(); it != s.d["metadata"]["annotations"].end(); ++it)
      if (copiedAnnotation(it.key())) annotations[it.key()] = *it;
  annotations[kRevisionAnnotation] = std::to_string(max_old_revision + 1);
  annotations[kDesiredReplicasAnnotation] = std::to_string(s.replicas());
  annotations[kMaxReplicasAnnotation] = std::to_string(s.replicas() + s.max_surge);

  Json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata",
              {{"name", api::nameOf(s.d) + "-" + s.hash},
               {"namespace", s.ns},
               {"labels", tmpl["metadata"]["labels"]},
               {"annotations", annotations},
               {"ownerReferences", Json::array({makeControllerRef(s.d, "apps/v1", "Deployment")})}}},
             {"spec",
              {{"replicas", replicas},
               {"minReadySeconds", s.d["spec"].value("minReadySeconds", int64_t{0})},
               {"selector", selector},
               {"template", tmpl}}}};
  try {
    Json created = api_.create(rsResource(), s.ns, rs);
    s.progress_reason = "NewReplicaSetCreated";
    recordEvent(api_, s.d, "Normal", "ScalingReplicaSet",
                "Scaled up replica set " + api::nameOf(created) + " from 0 to " + std::to_string(specReplicas(created)),
                "deployment-controller");
    return created;
  } catch (const api::ApiError& e) {
    if (e.code() != 409) throw;
  }
  // The name is taken. Ours (created by an earlier sync): use it. Someone else's: a hash collision,
  // so bump status.collisionCount, which changes the hash on the next sync.
  Json existing = api_.get(rsResource(), s.ns, api::nameOf(rs));
  const Json* ref = controllerRef(existing);
  if (ref && ref->value("uid", "") == uidOf(s.d) && equalIgnoreHash(existing["spec"]["template"], tmpl_in))
    return existing;
  api_.modify(deployResource(), s.ns, api::nameOf(s.d), [&](Json& obj) {
    obj["status"]["collisionCount"] = obj["status"].value("collisionCount", int64_t{0}) + 1;
    return true;
  });
  throw std::runtime_error("replicaset \"" + api::nameOf(rs) + "\" exists and is not deployment \"" +
                           api::nameOf(s.d) + "\"'s: hash collision, retrying with a new hash");
}

std::optional<Json> DeploymentController::syncNewReplicaSet(State& s, bool create) {
  int64_t max_old = 0;
  for (const auto& rs : s.olds) max_old = std::max(max_old, revisionOf(rs));
  if (!s.fresh) {
    if (!create) return std::nullopt;
    Json created = createNewReplicaSet(s, max_old);
    bool known = false;
    for (const auto& rs : s.all) known = known || uidOf(rs) == uidOf(created);
    if (!known) s.all.push_back(created);
    s.fresh = created;
    s.regroup();
    // createNewReplicaSet may hand back our existing ReplicaSet of this template (its name was
    // taken): like a rollback, it then needs the next revision below.
    if (revisionOf(created) > max_old) return created;
  }
  // An existing ReplicaSet that becomes new again (rollback) gets the next revision and remembers
  // its old one in revision-history; it also picks up the Deployment's annotations.
  std::string new_rev = std::to_string(max_old + 1);
  Json updated = api_.modify(rsResource(), s.ns, api::nameOf(*s.fresh), [&](Json& rs) {
    Json& ann = rs["metadata"]["annotations"];
    if (!ann.is_object()) ann = Json::object();
    bool changed = false;
    if (s.d["metadata"].contains("annotations"))
      for (auto it = s.d["metadata"]["annotations"].begin(); it != s.d["metadata"]["annotations"].end(); ++it)
        if (copiedAnnotation(it.key()) && ann.value(it.key(), Json()) != *it) {
          ann[it.key()] = *it;
          changed = true;
        }
    int64_t old_rev = revisionOf(rs);
    if (old_rev < max_old + 1) {
      if (ann.contains(kRevisionAnnotation)) {
        std::string hist = ann.value(kRevisionHistoryAnnotation, "");
        ann[kRevisionHistoryAnnotation] = hist.empty() ? std::to_string(old_rev) : hist + "," + std::to_string(old_rev);
      }
      ann[kRevisionAnnotation] = new_rev;
      changed = true;
    }
    return changed;
  });
  for (auto& rs : s.all)
    if (uidOf(rs) == uidOf(updated)) rs = updated;
  s.fresh = updated;
  if (!findCondition(s.d.value("status", Json::object()), "Progressing")) s.progress_reason = "FoundNewReplicaSet";
  return updated;
}

void DeploymentController::scaleReplicaSet(State& s, Json& rs, int64_t replicas) {
  std::string desired = std::to_string(s.replicas()), max = std::to_string(s.replicas() + s.max_surge);
  int64_t before = specReplicas(rs);
  rs = api_.modify(rsResource(), s.ns, api::nameOf(rs), [&](Json& obj) {
    bool changed = specReplicas(obj) != replicas;
    obj["spec"]["replicas"] = replicas;
    Json& ann = obj["metadata"]["annotations"];
    if (!ann.is_object()) ann = Json::object();
    if (ann.value(kDesiredReplicasAnnotation, "") != desired || ann.value(kMaxReplicasAnnotation, "") != max) changed = true;
    ann[kDesiredReplicasAnnotation] = desired;
    ann[kMaxReplicasAnnotation] = max;
    return changed;
  });
  for (auto& other : s.all)
    if (uidOf(other) == uidOf(rs)) other = rs;
  if (s.fresh && uidOf(*s.fresh) == uidOf(rs)) s.fresh = rs;
  if (before != replicas)
    recordEvent(api_, s.d, "Normal", "ScalingReplicaSet",
                std::string(replicas > before ? "Scaled up" : "Scaled down") + " replica set " + api::nameOf(rs) + " from " +
                    std::to_string(before) + " to " + std::to_string(replicas),
                "deployment-controller");
}

bool DeploymentController::reconcileNewReplicaSet(State& s) {
  Json& rs = *s.fresh;
  int64_t want = s.replicas(), have = specReplicas(rs);
  if (have == want) return false;
  if (have > want) {
    scaleReplicaSet(s, rs, want);
    return true;
  }
  int64_t target = want;
  if (s.rolling) {
    int64_t current = 0;
    for (const auto& r : s.all) current += specReplicas(r);
    int64_t max_total = want + s.max_surge;
    if (current >= max_total) return false;
    target = have + std::min(max_total - current, want - have);
  }
  scaleReplicaSet(s, rs, target);
  s.regroup();
  return true;
}

bool DeploymentController::reconcileOldReplicaSets(State& s) {
  int64_t old_count = 0, all_count = 0;
  for (const auto& rs : s.olds) old_count += specReplicas(rs);
  if (old_count == 0) return false;
  for (const auto& rs : s.all) all_count += specReplicas(rs);
  int64_t min_available = s.replicas() - s.max_unavailable;
  int64_t new_unavailable = s.fresh ? specReplicas(*s.fresh) - statusInt(*s.fresh, "availableReplicas") : 0;
  int64_t max_scaled_down = all_count - min_available - new_unavailable;
  if (max_scaled_down <= 0) return false;

  // First the old pods that are not available anyway: removing them costs no availability.
  int64_t cleaned = 0;
  for (auto& rs : s.olds) {
    if (cleaned >= max_scaled_down) break;
    int64_t spec = specReplicas(rs), avail = statusInt(rs, "availableReplicas");
    if (spec <= avail) continue;
    int64_t down = std::min(max_scaled_down - cleaned, spec - avail);
    scaleReplicaSet(s, rs, spec - down);
    cleaned += down;
  }
  // Then available old pods, as far as minAvailable allows.
  int64_t available = 0;
  for (const auto& rs : s.all) available += statusInt(rs, "availableReplicas");
  int64_t total_down = std::min(available - min_available, max_scaled_down - cleaned), scaled = 0;
  for (auto& rs : s.olds) {
    if (scaled >= total_down) break;
    int64_t spec = specReplicas(rs);
    if (spec == 0) continue;
    int64_t down = std::min(spec, total_down - scaled);
    scaleReplicaSet(s, rs, spec - down);
    scaled += down;
  }
  s.regroup();
  return cleaned + scaled > 0;
}

void DeploymentController::rolloutRolling(State& s) {
  syncNewReplicaSet(s, true);
  if (reconcileNewReplicaSet(s)) return;
  reconcileOldReplicaSets(s);
}

bool DeploymentController::oldPodsRunning(const State& s) {
  std::set<std::string> old_uids;
  for (const auto& rs : s.olds) {
    if (statusInt(rs, "replicas") > 0) return true;
    old_uids.insert(uidOf(rs));
  }
  for (const auto& pod : api_.list(podsResource(), s.ns, api::Filter{}).items) {
    const Json* ref = controllerRef(*pod);
    if (ref && old_uids.count(ref->value("uid", "")) && !isPodTerminated(*pod)) return true;
  }
  return false;
}

void DeploymentController::rolloutRecreate(State& s) {
  syncNewReplicaSet(s, false);
  bool scaled = false;
  for (auto& rs : s.olds)
    if (specReplicas(rs) > 0) {
      scaleReplicaSet(s, rs, 0);
      scaled = true;
    }
  if (scaled || oldPodsRunning(s)) return;  // pod events bring us back
  syncNewReplicaSet(s, true);
  reconcileNewReplicaSet(s);
}

void DeploymentController::scalePaused(State& s) {
  std::vector<Json*> active;
  for (auto& rs : s.all)
    if (specReplicas(rs) > 0) active.push_back(&rs);
  if (active.empty()) {
    Json* target = s.fresh ? &*s.fresh : nullptr;
    if (!target && !s.all.empty())
      target = &*std::max_element(s.all.begin(), s.all.end(), [](const Json& a, const Json& b) { return byCreation(a, b); });
    if (target && s.replicas() > 0) scaleReplicaSet(s, *target, s.replicas());
    s.regroup();
    return;
  }
  if (active.size() == 1) {
    scaleReplicaSet(s, *active[0], s.replicas());
    s.regroup();
    return;
  }
  // Several active ReplicaSets mid-rollout: give the difference to the newest (or take it from the oldest).
  int64_t total = 0;
  for (auto* rs : active) total += specReplicas(*rs);
  int64_t diff = s.replicas() + (s.rolling ? s.max_surge : 0) - total;
  if (diff > 0) {
    Json* newest = s.fresh ? &*s.fresh : active.back();
    scaleReplicaSet(s, *newest, specReplicas(*newest) + diff);
  } else if (diff < 0) {
    std::sort(active.begin(), active.end(), [](const Json* a, const Json* b) { return byCreation(*a, *b); });
    for (auto* rs : active) {
      if (diff == 0) break;
      int64_t down = std::min(specReplicas(*rs), -diff);
      scaleReplicaSet(s, *rs, specReplicas(*rs) - down);
      diff += down;
    }
  }
  s.regroup();
}

void DeploymentController::cleanupOldReplicaSets(State& s) {
  int64_t limit = s.d["spec"].value("revisionHistoryLimit", int64_t{10});
  std::vector<Json> idle;
  for (const auto& rs : s.olds)
    if (specReplicas(rs) == 0 && statusInt(rs, "replicas") == 0) idle.push_back(rs);
  if (static_cast<int64_t>(idle.size()) <= limit) return;
  std::sort(idle.begin(), idle.end(), [](const Json& a, const Json& b) {
    int64_t ra = revisionOf(a), rb = revisionOf(b);
    return ra != rb ? ra < rb : byCreation(a, b);
  });
  for (size_t i = 0; i < idle.size() - static_cast<size_t>(limit); ++i) {
    try {
      api::DeleteRequest req;
      req.options.uid = uidOf(idle[i]);
      api_.remove(rsResource(), s.ns, api::nameOf(idle[i]), req);
    } catch (const api::ApiError& e) {
      if (e.code() != 404 && e.code() != 409) throw;
    }
  }
}

std::optional<std::chrono::milliseconds> DeploymentController::writeStatus(State& s) {
  auto now_tp = config_.clock();
  std::string now = formatTime(now_tp);
  Json old_status = s.d.value("status", Json::object());
  if (!old_status.is_object()) old_status = Json::object();
  Json st = old_status;
  int64_t replicas = 0, ready = 0, available = 0;
  for (const auto& rs : s.all) {
    replicas += statusInt(rs, "replicas");
    ready += statusInt(rs, "readyReplicas");
    available += statusInt(rs, "availableReplicas");
  }
  int64_t updated = s.fresh ? statusInt(*s.fresh, "replicas") : 0;
  int64_t want = s.replicas();
  st["replicas"] = replicas;
  st["updatedReplicas"] = updated;
  st["readyReplicas"] = ready;
  st["availableReplicas"] = available;
  st["unavailableReplicas"] = std::max<int64_t>(0, want - available);
  int64_t generation = s.d["metadata"].value("generation", int64_t{1});
  st["observedGeneration"] = generation;

  int64_t max_unavailable = s.rolling ? std::min(s.max_unavailable, want) : 0;
  if (available >= want - max_unavailable)
    setCondition(st, condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now));
  else
    setCondition(st, condition("Available", "False", "MinimumReplicasUnavailable",
                               "Deployment does not have minimum availability.", now));

  bool paused = s.d["spec"].value("paused", false);
  std::string rs_name = s.fresh ? api::nameOf(*s.fresh) : "";
  const Json* cur = findCondition(st, "Progressing");
  std::optional<std::chrono::milliseconds> recheck;
  auto deadline_it = s.d["spec"].find("progressDeadlineSeconds");
  bool has_deadline = deadline_it != s.d["spec"].end() && deadline_it->is_number_integer();
  if (paused) {
    if (!cur || cur->value("reason", "") != "DeploymentPaused")
      setCondition(st, condition("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused", now));
  } else if (has_deadline) {
    if (cur && cur->value("reason", "") == "DeploymentPaused")
      setCondition(st, condition("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now));
    if (s.progress_reason == "NewReplicaSetCreated")
      setCondition(st, condition("Progressing", "True", "NewReplicaSetCreated", "Created new replica set \"" + rs_name + "\"", now));
    else if (s.progress_reason == "FoundNewReplicaSet")
      setCondition(st, condition("Progressing", "True", "FoundNewReplicaSet", "Found new replica set \"" + rs_name + "\"", now));
    cur = findCondition(st, "Progressing");
    bool already_complete = replicas == updated && cur && cur->value("reason", "") == "NewReplicaSetAvailable";
    bool complete = updated == want && replicas == want && available == want;
    int64_t old_old = statusInt(s.d, "replicas") - statusInt(s.d, "updatedReplicas");
    bool progressing = updated > statusInt(s.d, "updatedReplicas") || (replicas - updated) < old_old ||
                       ready > statusInt(s.d, "readyReplicas") || available > statusInt(s.d, "availableReplicas");
    auto deadline = std::chrono::seconds(deadline_it->get<int64_t>());
    if (!already_complete) {
      if (complete) {
        setCondition(st, condition("Progressing", "True", "NewReplicaSetAvailable",
                                   "ReplicaSet \"" + rs_name + "\" has successfully progressed.", now));
      } else if (progressing) {
        Json c = condition("Progressing", "True", "ReplicaSetUpdated",
                           rs_name.empty() ? "Deployment \"" + api::nameOf(s.d) + "\" is progressing."
                                           : "ReplicaSet \"" + rs_name + "\" is progressing.",
                           now);
        if (cur && cur->value("status", "") == "True") c["lastTransitionTime"] = (*cur)["lastTransitionTime"];
        removeCondition(st, "Progressing");
        setCondition(st, c);
      } else if (cur && cur->value("reason", "") != "ProgressDeadlineExceeded") {
        auto since = parseTime(cur->value("lastUpdateTime", ""));
        if (since && *since + deadline < now_tp)
          setCondition(st, condition("Progressing", "False", "ProgressDeadlineExceeded",
                                     "ReplicaSet \"" + rs_name + "\" has timed out progressing.", now));
      }
      cur = findCondition(st, "Progressing");
      if (!complete && cur && cur->value("reason", "") != "ProgressDeadlineExceeded") {
        auto since = parseTime(cur->value("lastUpdateTime", "")).value_or(now_tp);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(since + deadline - now_tp);
        recheck = std::max(left, std::chrono::milliseconds(0)) + std::chrono::milliseconds(1000);
      }
    }
  }
  std::string revision = s.fresh ? std::to_string(revisionOf(*s.fresh)) : "";
  std::string uid = uidOf(s.d);
  api_.modify(deployResource(), s.ns, api::nameOf(s.d), [&](Json& obj) {
    if (uidOf(obj) != uid) return false;
    if (obj["status"].is_object() && obj["status"].contains("collisionCount")) st["collisionCount"] = obj["status"]["collisionCount"];
    // observedGeneration says which spec this status describes: never claim a newer one.
    st["observedGeneration"] = std::min(generation, obj["metadata"].value("generation", generation));
    obj["status"] = st;
    if (!revision.empty() && revision != "0") obj["metadata"]["annotations"][kRevisionAnnotation] = revision;
    return true;
  });
  return recheck;
}

std::optional<std::chrono::milliseconds> DeploymentController::sync(const std::string& key) {
  auto [ns, name] = api::splitKey(key);
  State s;
  try {
    s.d = api_.get(deployResource(), ns, name);
  } catch (const api::ApiError& e) {
    if (e.code() == 404) return std::nullopt;
    throw;
  }
  s.ns = ns;
  if (!s.d["spec"].is_object() || !s.d["spec"].contains("template")) return std::nullopt;
  auto selector = api::LabelSelector::fromJson(s.d["spec"].value("selector", Json()));
  if (selector.empty()) return std::nullopt;  // validation rejects this; never claim everything
  s.all = claimReplicaSets(s.d, selector);
  if (isBeingDeleted(s.d)) return writeStatus(s);

  const Json& strategy = s.d["spec"].value("strategy", Json::object());
  s.rolling = !strategy.is_object() || strategy.value("type", "RollingUpdate") != "Recreate";
  if (s.rolling) {
    auto [surge, unavailable] = resolveFenceposts(strategy.value("rollingUpdate", Json::object()), s.replicas());
    s.max_surge = surge;
    s.max_unavailable = unavailable;
  }
  std::optional<int64_t> collisions;
  if (s.d.contains("status") && s.d["status"].contains("collisionCount")) collisions = s.d["status"]["collisionCount"].get<int64_t>();
  s.hash = podTemplateHash(s.d["spec"]["template"], collisions);
  std::string expected_name = name + "-" + s.hash;
  for (const auto& rs : s.all)
    if (equalIgnoreHash(rs["spec"].value("template", Json::object()), s.d["spec"]["template"]) ||
        api::nameOf(rs) == expected_name) {
      if (!s.fresh || api::nameOf(rs) == expected_name) s.fresh = rs;
    }
  s.regroup();

  if (s.d["spec"].value("paused", false)) {
    syncNewReplicaSet(s, false);
    scalePaused(s);
  } else if (s.rolling) {
    rolloutRolling(s);
  } else {
    rolloutRecreate(s);
  }
  cleanupOldReplicaSets(s);
  return writeStatus(s);
}

void DeploymentController::handle(const std::string& key) {
  backoff_.handle(queue_, key, "deployment controller", [this](const std::string& k) { return sync(k); });
}

void DeploymentController::run(std::stop_token st) {
  std::jthread d_thread([this](std::stop_token s) { d_informer_.run(s); });
  std::jthread rs_thread([this](std::stop_token s) { rs_informer_.run(s); });
  std::jthread pod_thread([this](std::stop_token s) { pod_informer_.run(s); });
  std::stop_callback stop_informers(st, [&] {
    d_thread.request_stop();
    rs_thread.request_stop();
    pod_thread.request_stop();
  });
  while (!st.stop_requested()) {
    auto key = queue_.get(st);
    if (!key) break;
    handle(*key);
    queue_.done(*key);
  }
}

}  // namespace minikd
