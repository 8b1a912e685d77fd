#include "minikd/endpointslice_controller.h"

#include "api/validation.h"

#include <thread>

namespace minikd {

using api::Json;

namespace {

const api::ResourceInfo& resource(const char* key) {
  const api::ResourceInfo* r = api::findResourceByKey(key);
  if (!r) throw std::logic_error(std::string("resource ") + key + " is not built in");
  return *r;
}

std::string labelOf(const Json& obj, const char* key) {
  const Json& md = obj["metadata"];
  if (!md.contains("labels") || !md["labels"].is_object()) return {};
  return md["labels"].value(key, "");
}

Json orEmpty(const Json& obj, const char* key, const Json& empty) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? empty : *it;
}

const char* kSliceFields[] = {"addressType", "ports", "endpoints"};

/// True when the stored slice already holds what `desired` (defaults applied) says.
bool sameSlice(const Json& current, const Json& desired) {
  const Json& cm = current["metadata"];
  const Json& dm = desired["metadata"];
  if (orEmpty(cm, "labels", Json::object()) != orEmpty(dm, "labels", Json::object())) return false;
  if (orEmpty(cm, "ownerReferences", Json::array()) != orEmpty(dm, "ownerReferences", Json::array())) return false;
  for (const char* k : kSliceFields)
    if (orEmpty(current, k, Json::array()) != orEmpty(desired, k, Json::array())) return false;
  return true;
}

void copyContent(Json& obj, const Json& desired) {
  obj["metadata"]["labels"] = desired["metadata"]["labels"];
  obj["metadata"]["ownerReferences"] = desired["metadata"]["ownerReferences"];
  for (const char* k : kSliceFields) obj[k] = desired[k];
}

std::string specString(const Json& obj, const char* key) {
  auto it = obj.find("spec");
  return it != obj.end() && it->is_object() ? it->value(key, "") : std::string();
}

Json labelsOf(const Json& obj) {
  const Json& md = obj["metadata"];
  return md.contains("labels") && md["labels"].is_object() ? md["labels"] : Json::object();
}

}  // namespace

EndpointSliceController::EndpointSliceController(api::Api& api, Options options)
    : api_(api),
      options_(options),
      services_r_(resource("services")),
      pods_r_(resource("pods")),
      endpoints_r_(resource("endpoints")),
      slices_r_(resource("endpointslices.discovery.k8s.io")),
      services_(api, services_r_),
      pods_(api, pods_r_),
      endpoints_(api, endpoints_r_),
      slices_(api, slices_r_) {
  queueServicesAndPods(services_, pods_, index_, queue_);
  // Hand-written Endpoints are mirrored into slices.
  endpoints_.addHandler([this](api::EventType, const api::ObjectPtr& o, const api::ObjectPtr&) {
    queue_.add(api::keyOf(*o));
  });
  // A slice changed or deleted by someone else is put back (our own writes come back as no-op syncs).
  slices_.addHandler([this](api::EventType, const api::ObjectPtr& o, const api::ObjectPtr&) {
    std::string by = labelOf(*o, kSliceManagedByLabel);
    std::string svc = labelOf(*o, kServiceNameLabel);
    if (svc.empty() || (by != kSliceControllerName && by != kMirrorControllerName)) return;
    queue_.add(api::namespaceOf(*o) + "/" + svc);
  });
}

void EndpointSliceController::run(std::stop_token st) {
  std::vector<std::jthread> threads;
  for (api::Informer* inf : {&services_, &pods_, &endpoints_, &slices_})
    threads.emplace_back([inf, st] { inf->run(st); });
  auto sync = [this](const std::string& ns, const std::string& name) { syncService(ns, name); };
  for (int i = 1; i < options_.workers; ++i)
    threads.emplace_back([this, st, sync] { processQueue(queue_, st, "endpointslice controller", sync); });
  processQueue(queue_, st, "endpointslice controller", sync);
}

void EndpointSliceController::syncService(const std::string& ns, const std::string& name) {
  auto& store = api_.store();
  auto svc = store.getPtr(services_r_.key(), ns, name);
  api::Filter f;
  f.resource = slices_r_.key();
  f.ns = ns;
  f.labels = api::LabelSelector::fromMap({{kServiceNameLabel, name}});
  std::vector<api::ObjectPtr> ours, mirrored;
  for (auto& s : store.list(f).items) {
    std::string by = labelOf(*s, kSliceManagedByLabel);
    if (by == kSliceControllerName) ours.push_back(s);
    if (by == kMirrorControllerName) mirrored.push_back(s);
  }
  bool external = svc && specString(*svc, "type") == "ExternalName";
  if (!svc || external) {
    removeAll(ns, ours);
    removeAll(ns, mirrored);
    return;
  }
  if (serviceHasSelector(*svc)) {
    api::Filter pf;
    pf.resource = pods_r_.key();
    pf.ns = ns;
    pf.labels = serviceSelector(*svc);
    Json labels = labelsOf(*svc);
    labels[kServiceNameLabel] = name;
    labels[kSliceManagedByLabel] = kSliceControllerName;
    if (specString(*svc, "clusterIP") == "None") labels[kHeadlessLabel] = "";
    reconcile(ns, name, ours, planSlices(*svc, store.list(pf).items), labels, controllerRef(*svc));
    removeAll(ns, mirrored);
    return;
  }
  removeAll(ns, ours);
  auto ep = store.getPtr(endpoints_r_.key(), ns, name);
  if (!ep || labelOf(*ep, kSkipMirrorLabel) == "true") {
    removeAll(ns, mirrored);
    return;
  }
  auto desired = planMirroredSlices(*ep);
  if (desired.size() == 1 && desired[0].endpoints.empty()) desired.clear();  // nothing to mirror
  Json labels = labelsOf(*ep);
  labels.erase(kEndpointsManagedByLabel);
  labels[kServiceNameLabel] = name;
  labels[kSliceManagedByLabel] = kMirrorControllerName;
  reconcile(ns, name, mirrored, desired, labels, controllerRef(*ep));
}

void EndpointSliceController::reconcile(const std::string& ns, const std::string& service,
                                        const std::vector<api::ObjectPtr>& existing,
                                        const std::vector<SliceContent>& desired, const Json& labels,
                                        const Json& owner) {
  std::vector<Json> want;
  for (const auto& d : desired) {
    Json obj = buildSlice(ns, service, d, labels, owner);
    api::applyDefaults(slices_r_, obj);
    want.push_back(std::move(obj));
  }
  // Pair each desired slice with an existing one: identical first, then same ports, then any, so a
  // change rewrites as few slices as possible and keeps their names.
  std::vector<int> match(want.size(), -1);
  std::vector<bool> used(existing.size(), false);
  auto pair = [&](auto&& fits) {
    for (size_t i = 0; i < want.size(); ++i) {
      if (match[i] >= 0) continue;
      for (size_t j = 0; j < existing.size(); ++j)
        if (!used[j] && fits(*existing[j], want[i])) {
          match[i] = static_cast<int>(j);
          used[j] = true;
          break;
        }
    }
  };
  pair([](const Json& e, const Json& w) { return sameSlice(e, w); });
  pair([](const Json& e, const Json& w) { return orEmpty(e, "ports", Json::array()) == w["ports"]; });
  pair([](const Json&, const Json&) { return true; });

  for (size_t i = 0; i < want.size(); ++i) {
    if (match[i] < 0) {
      api_.create(slices_r_, ns, want[i]);
      continue;
    }
    const Json& cur = *existing[match[i]];
    if (sameSlice(cur, want[i])) continue;
    api_.modify(slices_r_, ns, api::nameOf(cur), [&](Json& obj) {
      if (sameSlice(obj, want[i])) return false;
      copyContent(obj, want[i]);
      return true;
    });
  }
  std::vector<api::ObjectPtr> surplus;
  for (size_t j = 0; j < existing.size(); ++j)
    if (!used[j]) surplus.push_back(existing[j]);
  removeAll(ns, surplus);
}

void EndpointSliceController::removeAll(const std::string& ns, const std::vector<api::ObjectPtr>& slices) {
  for (const auto& s : slices) {
    try {
      api_.remove(slices_r_, ns, api::nameOf(*s));
    } catch (const api::ApiError& e) {
      if (e.code() != 404) throw;
    }
  }
}

}  // namespace minikd
