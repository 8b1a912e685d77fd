#include "minikd/endpoints_controller.h"

#include "api/validation.h"
#include "minikd/endpoint_planner.h"

#include <thread>

namespace minikd {

using api::Json;

namespace {

const api::ResourceInfo& resource(const char* key) {
  const api::ResourceInfo* r = api::findResourceByKey(key);
  if (!r) throw std::logic_error(std::string("resource ") + key + " is not built in");
  return *r;
}

bool isOurs(const Json& endpoints) {
  const Json& md = endpoints["metadata"];
  return md.contains("labels") && md["labels"].is_object() &&
         md["labels"].value(kEndpointsManagedByLabel, "") == kEndpointsControllerName;
}

Json orEmpty(const Json& obj, const char* key, const Json& empty) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? empty : *it;
}

/// True when `current` already says what `desired` says (labels and subsets).
bool sameEndpoints(const Json& current, const Json& desired) {
  return orEmpty(current["metadata"], "labels", Json::object()) == orEmpty(desired["metadata"], "labels", Json::object()) &&
         orEmpty(current, "subsets", Json::array()) == orEmpty(desired, "subsets", Json::array());
}

}  // namespace

EndpointsController::EndpointsController(api::Api& api, Options options)
    : api_(api),
      options_(options),
      services_r_(resource("services")),
      pods_r_(resource("pods")),
      endpoints_r_(resource("endpoints")),
      services_(api, services_r_),
      pods_(api, pods_r_),
      endpoints_(api, endpoints_r_) {
  queueServicesAndPods(services_, pods_, index_, queue_);
  // Someone else changed or deleted our Endpoints: put them back. At start, Endpoints left behind by
  // a Service deleted while we were down are removed.
  endpoints_.addHandler([this](api::EventType, const api::ObjectPtr& o, const api::ObjectPtr&) {
    queue_.add(api::keyOf(*o));
  });
}

void EndpointsController::run(std::stop_token st) {
  std::vector<std::jthread> threads;
  threads.emplace_back([this, st] { services_.run(st); });
  threads.emplace_back([this, st] { pods_.run(st); });
  threads.emplace_back([this, st] { endpoints_.run(st); });
  auto sync = [this](const std::string& ns, const std::string& name) { syncService(ns, name); };
  for (int i = 1; i < options_.workers; ++i)
    threads.emplace_back([this, st, sync] { processQueue(queue_, st, "endpoints controller", sync); });
  processQueue(queue_, st, "endpoints controller", sync);
}

void EndpointsController::syncService(const std::string& ns, const std::string& name) {
  auto& store = api_.store();
  auto svc = store.getPtr(services_r_.key(), ns, name);
  auto current = store.getPtr(endpoints_r_.key(), ns, name);
  if (!svc) {
    if (!current || !isOurs(*current)) return;
    try {
      api_.remove(endpoints_r_, ns, name);
    } catch (const api::ApiError& e) {
      if (e.code() != 404) throw;
    }
    return;
  }
  if (!serviceHasSelector(*svc)) return;

  api::Filter f;
  f.resource = pods_r_.key();
  f.ns = ns;
  f.labels = serviceSelector(*svc);
  Json desired = planEndpoints(*svc, store.list(f).items);
  api::applyDefaults(endpoints_r_, desired);
  if (!current) {
    api_.create(endpoints_r_, ns, desired);
    return;
  }
  if (sameEndpoints(*current, desired)) return;
  api_.modify(endpoints_r_, ns, name, [&](Json& obj) {
    if (sameEndpoints(obj, desired)) return false;
    obj["metadata"]["labels"] = desired["metadata"]["labels"];
    if (desired.contains("subsets"))
      obj["subsets"] = desired["subsets"];
    else
      obj.erase("subsets");
    return true;
  });
}

}  // namespace minikd
