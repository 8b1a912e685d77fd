#include "minikd/replicaset_controller.h"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <thread>

namespace minikd {
namespace workload {

using api::Json;
using std::chrono::system_clock;

std::optional<system_clock::time_point> parseTime(const std::string& text) {
  std::tm tm{};
  int y, mo, d, h, mi, s;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &s) != 6) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return system_clock::from_time_t(timegm(&tm));
}

std::string formatTime(system_clock::time_point t) {
  std::time_t tt = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

const Json* controllerRef(const Json& obj) {
  auto md = obj.find("metadata");
  if (md == obj.end()) return nullptr;
  auto refs = md->find("ownerReferences");
  if (refs == md->end() || !refs->is_array()) return nullptr;
  for (const auto& ref : *refs)
    if (ref.value("controller", false)) return &ref;
  return nullptr;
}

Json makeControllerRef(const Json& owner, const std::string& api_version, const std::string& kind) {
  return {{"apiVersion", api_version},
          {"kind", kind},
          {"name", owner["metadata"].value("name", "")},
          {"uid", owner["metadata"].value("uid", "")},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

bool isBeingDeleted(const Json& obj) {
  auto md = obj.find("metadata");
  return md != obj.end() && md->contains("deletionTimestamp") && !(*md)["deletionTimestamp"].is_null();
}

const Json* findCondition(const Json& status, const std::string& type) {
  if (!status.is_object()) return nullptr;
  auto conds = status.find("conditions");
  if (conds == status.end() || !conds->is_array()) return nullptr;
  for (const auto& c : *conds)
    if (c.value("type", "") == type) return &c;
  return nullptr;
}

bool isPodReady(const Json& pod) {
  auto st = pod.find("status");
  if (st == pod.end()) return false;
  const Json* c = findCondition(*st, "Ready");
  return c && c->value("status", "") == "True";
}

bool isPodTerminated(const Json& pod) {
  auto st = pod.find("status");
  if (st == pod.end() || !st->is_object()) return false;
  std::string phase = st->value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

bool isPodAvailable(const Json& pod, int64_t min_ready_seconds, system_clock::time_point now) {
  if (!isPodReady(pod)) return false;
  if (min_ready_seconds <= 0) return true;
  const Json* c = findCondition(pod["status"], "Ready");
  auto since = parseTime(c->value("lastTransitionTime", ""));
  if (!since) return false;
  return *since + std::chrono::seconds(min_ready_seconds) <= now;
}

int64_t specReplicas(const Json& obj) {
  auto spec = obj.find("spec");
  if (spec == obj.end() || !spec->is_object()) return 1;
  auto r = spec->find("replicas");
  return r != spec->end() && r->is_number_integer() ? r->get<int64_t>() : 1;
}

std::map<std::string, std::string> labelsOf(const Json& obj) {
  std::map<std::string, std::string> out;
  auto md = obj.find("metadata");
  if (md == obj.end()) return out;
  auto labels = md->find("labels");
  if (labels == md->end() || !labels->is_object()) return out;
  for (auto it = labels->begin(); it != labels->end(); ++it)
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  return out;
}

void recordEvent(api::Api& api, const Json& obj, const std::string& type, const std::string& reason,
                 const std::string& message, const std::string& component) {
  try {
    std::string now = api::nowRfc3339();
    const auto& md = obj["metadata"];
    Json ev = {{"metadata", {{"generateName", md.value("name", "") + "."}}},
               {"involvedObject",
                {{"apiVersion", obj.value("apiVersion", "")},
                 {"kind", obj.value("kind", "")},
                 {"name", md.value("name", "")},
                 {"namespace", md.value("namespace", "")},
                 {"uid", md.value("uid", "")},
                 {"resourceVersion", md.value("resourceVersion", "")}}},
               {"type", type},
               {"reason", reason},
               {"message", message},
               {"source", {{"component", component}}},
               {"firstTimestamp", now},
               {"lastTimestamp", now},
               {"count", 1}};
    api.create(*api::findResourceByKey("events"), md.value("namespace", ""), ev);
  } catch (const std::exception& e) {
    std::cerr << component << ": record event " << reason << " for " << obj["metadata"].value("name", "") << ": "
              << e.what() << ", ignoring\n";
  }
}

}  // namespace workload

using api::Json;
using api::ObjectPtr;
using namespace workload;

namespace {

const api::ResourceInfo& podsResource() { return *api::findResourceByKey("pods"); }
const api::ResourceInfo& rsResource() { return *api::findResourceByKey("replicasets.apps"); }

std::string uidOf(const Json& obj) { return obj["metadata"].value("uid", ""); }

/// Deletion order: unready before ready, pending before running, then the newest first.
bool deleteFirst(const ObjectPtr& a, const ObjectPtr& b) {
  bool ra = isPodReady(*a), rb = isPodReady(*b);
  if (ra != rb) return !ra;
  auto phase_rank = [](const Json& p) {
    std::string ph = p.contains("status") && p["status"].is_object() ? p["status"].value("phase", "") : "";
    return ph == "Pending" || ph.empty() ? 0 : ph == "Unknown" ? 1 : 2;
  };
  int pa = phase_rank(*a), pb = phase_rank(*b);
  if (pa != pb) return pa < pb;
  std::string ca = (*a)["metadata"].value("creationTimestamp", ""), cb = (*b)["metadata"].value("creationTimestamp", "");
  if (ca != cb) return ca > cb;
  return api::nameOf(*a) > api::nameOf(*b);
}

}  // namespace

struct ReplicaSetController::PodSets {
  std::vector<ObjectPtr> active;  // owned, not being deleted, not terminated
};

ReplicaSetController::ReplicaSetController(api::Api& api, ReplicaSetControllerConfig config)
    : api_(api), config_(std::move(config)), rs_informer_(api, rsResource()), pod_informer_(api, podsResource()) {
  if (!config_.clock) config_.clock = [] { return std::chrono::system_clock::now(); };
  rs_informer_.addHandler([this](api::EventType, const ObjectPtr& rs, const ObjectPtr&) { queue_.add(api::keyOf(*rs)); });
  pod_informer_.addHandler([this](api::EventType t, const ObjectPtr& p, const ObjectPtr& old) { onPod(t, p, old); });
}

void ReplicaSetController::onPod(api::EventType type, const ObjectPtr& pod, const ObjectPtr& old) {
  std::string ns = api::namespaceOf(*pod);
  const Json* ref = controllerRef(*pod);
  if (ref && ref->value("kind", "") == "ReplicaSet") queue_.add(ns + "/" + ref->value("name", ""));
  if (old) {
    const Json* old_ref = controllerRef(*old);
    if (old_ref && old_ref->value("kind", "") == "ReplicaSet") queue_.add(ns + "/" + old_ref->value("name", ""));
  }
  // An orphan may be adopted by any ReplicaSet whose selector it matches.
  if (!ref && type != api::EventType::Deleted) enqueueMatchingReplicaSets(*pod);
}

void ReplicaSetController::enqueueMatchingReplicaSets(const Json& pod) {
  std::string ns = api::namespaceOf(pod);
  auto labels = pod["metadata"].value("labels", Json::object());
  for (const auto& rs : rs_informer_.items()) {
    if (api::namespaceOf(*rs) != ns) continue;
    try {
      auto sel = api::LabelSelector::fromJson((*rs)["spec"].value("selector", Json()));
      if (!sel.empty() && sel.matches(labels)) queue_.add(api::keyOf(*rs));
    } catch (const std::exception&) {
      // An invalid selector selects nothing.
    }
  }
}

ReplicaSetController::PodSets ReplicaSetController::claimPods(const Json& rs, const api::LabelSelector& selector) {
  PodSets out;
  std::string ns = api::namespaceOf(rs), uid = uidOf(rs);
  bool rs_deleting = isBeingDeleted(rs);
  auto pods = api_.list(podsResource(), ns, api::Filter{}).items;
  for (const auto& pod : pods) {
    const Json* ref = controllerRef(*pod);
    bool matches = selector.matches((*pod)["metadata"].value("labels", Json::object()));
    bool owned = ref && ref->value("uid", "") == uid;
    std::string name = api::nameOf(*pod);
    if (owned && !matches && !isBeingDeleted(*pod)) {
      // Release: the pod's labels no longer match; drop our controller reference.
      api_.modify(podsResource(), ns, name, [&](Json& p) {
        auto& refs = p["metadata"]["ownerReferences"];
        if (!refs.is_array()) return false;
        Json kept = Json::array();
        for (auto& r : refs)
          if (r.value("uid", "") != uid) kept.push_back(r);
        if (kept.empty()) p["metadata"].erase("ownerReferences"); else refs = kept;
        return true;
      });
      continue;
    }
    if (!owned && !ref && matches && !rs_deleting && !isBeingDeleted(*pod)) {
      // Adopt an orphan, re-checking under the store lock that nobody else did.
      Json adopted = api_.modify(podsResource(), ns, name, [&](Json& p) {
        if (controllerRef(p)) return false;
        auto& refs = p["metadata"]["ownerReferences"];
        if (!refs.is_array()) refs = Json::array();
        refs.push_back(makeControllerRef(rs, "apps/v1", "ReplicaSet"));
        return true;
      });
      const Json* now_ref = controllerRef(adopted);
      owned = now_ref && now_ref->value("uid", "") == uid;
      if (owned && !isBeingDeleted(adopted) && !isPodTerminated(adopted))
        out.active.push_back(std::make_shared<const Json>(std::move(adopted)));
      continue;
    }
    if (owned && !isBeingDeleted(*pod) && !isPodTerminated(*pod)) out.active.push_back(pod);
  }
  return out;
}

void ReplicaSetController::createPods(const Json& rs, int64_t count) {
  Json tmpl = rs.at("spec").value("template", Json::object());
  if (!tmpl.is_object()) tmpl = Json::object();
  Json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", Json::object()}, {"spec", tmpl.value("spec", Json::object())}};
  auto& md = pod["metadata"];
  md["generateName"] = api::nameOf(rs) + "-";
  md["namespace"] = api::namespaceOf(rs);
  if (tmpl.contains("metadata")) {
    for (const char* k : {"labels", "annotations", "finalizers"})
      if (tmpl["metadata"].contains(k)) md[k] = tmpl["metadata"][k];
  }
  md["ownerReferences"] = Json::array({makeControllerRef(rs, "apps/v1", "ReplicaSet")});
  for (int64_t i = 0; i < count; ++i) {
    Json created = api_.create(podsResource(), api::namespaceOf(rs), pod);
    recordEvent(api_, rs, "Normal", "SuccessfulCreate", "Created pod: " + api::nameOf(created), "replicaset-controller");
  }
}

void ReplicaSetController::deletePods(const Json& rs, std::vector<ObjectPtr> pods, int64_t count) {
  std::sort(pods.begin(), pods.end(), deleteFirst);
  for (int64_t i = 0; i < count && i < static_cast<int64_t>(pods.size()); ++i) {
    try {
      api_.remove(podsResource(), api::namespaceOf(rs), api::nameOf(*pods[i]));
      recordEvent(api_, rs, "Normal", "SuccessfulDelete", "Deleted pod: " + api::nameOf(*pods[i]), "replicaset-controller");
    } catch (const api::ApiError& e) {
      if (e.code() != 404) throw;  // already gone: that is what we wanted
    }
  }
}

std::optional<std::chrono::milliseconds> ReplicaSetController::writeStatus(const Json& rs,
                                                                           const api::LabelSelector& selector,
                                                                           const std::string& create_error) {
  std::string ns = api::namespaceOf(rs), uid = uidOf(rs);
  int64_t min_ready = rs["spec"].value("minReadySeconds", int64_t{0});
  auto now = config_.clock();
  auto tmpl_labels = rs["spec"].contains("template") && rs["spec"]["template"].contains("metadata")
                         ? rs["spec"]["template"]["metadata"].value("labels", Json::object())
                         : Json::object();
  int64_t replicas = 0, labeled = 0, ready = 0, available = 0;
  std::optional<std::chrono::milliseconds> recheck;
  for (const auto& pod : api_.list(podsResource(), ns, api::Filter{}).items) {
    const Json* ref = controllerRef(*pod);
    if (!ref || ref->value("uid", "") != uid || isBeingDeleted(*pod) || isPodTerminated(*pod)) continue;
    ++replicas;
    auto labels = (*pod)["metadata"].value("labels", Json::object());
    bool full = true;
    for (auto it = tmpl_labels.begin(); it != tmpl_labels.end(); ++it)
      if (!labels.contains(it.key()) || labels[it.key()] != *it) full = false;
    if (full) ++labeled;
    if (!isPodReady(*pod)) continue;
    ++ready;
    if (isPodAvailable(*pod, min_ready, now)) {
      ++available;
      continue;
    }
    auto since = parseTime(findCondition((*pod)["status"], "Ready")->value("lastTransitionTime", ""));
    auto wait = since ? std::chrono::duration_cast<std::chrono::milliseconds>(*since + std::chrono::seconds(min_ready) - now)
                      : std::chrono::milliseconds(1000);
    wait = std::max(wait, std::chrono::milliseconds(100)) + std::chrono::milliseconds(50);
    if (!recheck || wait < *recheck) recheck = wait;
  }
  (void)selector;
  api_.modify(rsResource(), ns, api::nameOf(rs), [&](Json& obj) {
    if (obj["metadata"].value("uid", "") != uid) return false;
    Json& st = obj["status"];
    if (!st.is_object()) st = Json::object();
    st["replicas"] = replicas;
    st["fullyLabeledReplicas"] = labeled;
    st["readyReplicas"] = ready;
    st["availableReplicas"] = available;
    st["observedGeneration"] = rs["metadata"].value("generation", int64_t{1});
    Json conds = Json::array();
    if (st.contains("conditions") && st["conditions"].is_array())
      for (auto& c : st["conditions"])
        if (c.value("type", "") != "ReplicaFailure") conds.push_back(c);
    if (!create_error.empty()) {
      const Json* old = findCondition(st, "ReplicaFailure");
      conds.push_back({{"type", "ReplicaFailure"},
                       {"status", "True"},
                       {"reason", "FailedCreate"},
                       {"message", create_error},
                       {"lastTransitionTime", old ? old->value("lastTransitionTime", formatTime(now)) : formatTime(now)}});
    }
    if (conds.empty()) st.erase("conditions"); else st["conditions"] = conds;
    return true;
  });
  return recheck;
}

std::optional<std::chrono::milliseconds> ReplicaSetController::sync(const std::string& key) {
  auto [ns, name] = api::splitKey(key);
  Json rs;
  try {
    rs = api_.get(rsResource(), ns, name);
  } catch (const api::ApiError& e) {
    if (e.code() == 404) return std::nullopt;  // deleted: the garbage collector removes its pods
    throw;
  }
  if (!rs["spec"].is_object()) rs["spec"] = Json::object();
  api::LabelSelector selector;
  try {
    selector = api::LabelSelector::fromJson(rs["spec"].value("selector", Json()));
  } catch (const api::ApiError& e) {
    std::cerr << "replicaset " << key << ": invalid selector: " << e.what() << ", ignoring\n";
    return std::nullopt;
  }
  if (selector.empty()) return std::nullopt;  // an empty selector would claim every pod
  PodSets pods = claimPods(rs, selector);
  std::string create_error;
  if (!isBeingDeleted(rs)) {
    int64_t diff = static_cast<int64_t>(pods.active.size()) - specReplicas(rs);
    try {
      if (diff < 0) createPods(rs, -diff);
    } catch (const api::ApiError& e) {
      create_error = e.what();
      recordEvent(api_, rs, "Warning", "FailedCreate", "Error creating: " + create_error, "replicaset-controller");
    }
    if (diff > 0) deletePods(rs, pods.active, diff);
  }
  auto recheck = writeStatus(rs, selector, create_error);
  if (!create_error.empty()) throw std::runtime_error("create pods for replicaset \"" + key + "\": " + create_error);
  return recheck;
}

void ReplicaSetController::handle(const std::string& key) {
  backoff_.handle(queue_, key, "replicaset controller", [this](const std::string& k) { return sync(k); });
}

void ReplicaSetController::run(std::stop_token st) {
  std::jthread rs_thread([this](std::stop_token s) { rs_informer_.run(s); });
  std::jthread pod_thread([this](std::stop_token s) { pod_informer_.run(s); });
  std::stop_callback stop_informers(st, [&] {
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
