#pragma once
// A small in-memory cluster for the Endpoints/EndpointSlice controller tests: an Api over an
// in-memory store with graceful pod deletion (so a deleted bound pod is marked terminating), the
// ServiceAllocator hook, and helpers that write pods and services the way the runtime and users do.
#include "api/api.h"
#include "api/informer.h"
#include "minikd/service_allocator.h"

#include <chrono>
#include <string>
#include <thread>

namespace services_test {

using minikd::api::Json;
namespace api = minikd::api;

inline const api::ResourceInfo& res(const char* key) { return *api::findResourceByKey(key); }

inline api::Api::Options graceful() {
  api::Api::Options o;
  o.graceful_pod_deletion = true;
  o.node_name = "node1";
  return o;
}

struct MiniCluster {
  MiniCluster() : alloc(api_, {}) {
    alloc.install();
    api_.create(res("namespaces"), "", {{"metadata", {{"name", "default"}}}});
  }

  /// A Service selecting `selector` with `ports` (each {name?, port, targetPort?, protocol?}).
  Json createService(const std::string& name, const Json& selector, const Json& ports, Json extra = Json::object()) {
    Json spec = {{"ports", ports}};
    if (!selector.is_null()) spec["selector"] = selector;
    spec.update(extra);
    return api_.create(res("services"), "default", {{"metadata", {{"name", name}, {"labels", {{"team", "x"}}}}}, {"spec", spec}});
  }

  /// A pod bound to node1 with `labels` and container `ports`; then, as the runtime would, its status:
  /// Running, `ip` (none when empty) and the Ready condition.
  Json createPod(const std::string& name, const Json& labels, const std::string& ip, bool ready,
                 Json ports = Json::array(), Json spec_extra = Json::object()) {
    Json container = {{"name", "c"}, {"image", "busybox"}, {"command", Json::array({"sleep", "3600"})}};
    if (!ports.empty()) container["ports"] = ports;
    Json spec = {{"nodeName", "node1"}, {"containers", Json::array({container})}};
    spec.update(spec_extra);
    api_.create(res("pods"), "default", {{"metadata", {{"name", name}, {"labels", labels}}}, {"spec", spec}});
    return setStatus(name, ip, ready);
  }

  Json setStatus(const std::string& name, const std::string& ip, bool ready) {
    Json status = {{"phase", "Running"},
                   {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}}};
    if (!ip.empty()) {
      status["podIP"] = ip;
      status["podIPs"] = Json::array({{{"ip", ip}}});
    }
    return api_.update(res("pods"), "default", name, {{"status", status}}, api::Subresource::Status);
  }

  Json setLabels(const std::string& name, const Json& labels) {
    return api_.modify(res("pods"), "default", name, [&](Json& o) {
      o["metadata"]["labels"] = labels;
      return true;
    });
  }

  /// Marks a bound pod terminating (graceful deletion).
  void deletePod(const std::string& name) { api_.remove(res("pods"), "default", name); }

  api::Store store{":memory:"};
  api::Api api_{store, graceful()};
  minikd::ServiceAllocator alloc;
};

/// Polls `pred` every millisecond until it holds or `limit` passes; returns the time it took.
template <class Pred>
std::chrono::microseconds waitFor(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(2000)) {
  auto start = std::chrono::steady_clock::now();
  while (!pred()) {
    if (std::chrono::steady_clock::now() - start > limit) return std::chrono::duration_cast<std::chrono::microseconds>(limit) * 2;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace services_test
