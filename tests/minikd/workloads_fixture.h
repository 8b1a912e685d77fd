#pragma once
// Shared by the workload controller tests: an in-memory store and Api with a "default" namespace, a
// settable clock, and helpers that play the kubelet's part (pods have no runtime in unit tests).
#include "api/api.h"
#include "minikd/replicaset_controller.h"

#include <chrono>
#include <string>
#include <thread>

namespace minikd::testing {

using api::Json;

inline const api::ResourceInfo& podsR() { return *api::findResourceByKey("pods"); }
inline const api::ResourceInfo& rsR() { return *api::findResourceByKey("replicasets.apps"); }
inline const api::ResourceInfo& deployR() { return *api::findResourceByKey("deployments.apps"); }
inline const api::ResourceInfo& nsR() { return *api::findResourceByKey("namespaces"); }

struct WorkloadFixture {
  api::Store store{":memory:"};
  api::Api api{store};
  std::chrono::system_clock::time_point now = std::chrono::system_clock::from_time_t(1'800'000'000);
  WallClock clock = [this] { return now; };

  WorkloadFixture() { createNamespace("default"); }

  void createNamespace(const std::string& name) { api.create(nsR(), "", {{"metadata", {{"name", name}}}}); }

  /// A pod template running `minikd tool pause`, labelled app=<app>, with an env var to vary it.
  static Json podTemplate(const std::string& app, const std::string& version = "v1") {
    return {{"metadata", {{"labels", {{"app", app}}}}},
            {"spec",
             {{"containers",
               Json::array({{{"name", "main"},
                             {"image", "minikd"},
                             {"command", Json::array({"/usr/local/bin/minikd", "tool", "pause"})},
                             {"env", Json::array({{{"name", "VERSION"}, {"value", version}}})}}})}}}};
  }

  std::vector<Json> pods(const std::string& ns = "default") {
    std::vector<Json> out;
    for (auto& p : api.list(podsR(), ns, api::Filter{}).items) out.push_back(*p);
    return out;
  }
  std::vector<Json> replicaSets(const std::string& ns = "default") {
    std::vector<Json> out;
    for (auto& p : api.list(rsR(), ns, api::Filter{}).items) out.push_back(*p);
    return out;
  }

  /// What a kubelet would write: Running and Ready (or not) since now.
  void setReady(const Json& pod, bool ready) {
    api.modify(podsR(), api::namespaceOf(pod), api::nameOf(pod), [&](Json& p) {
      p["status"]["phase"] = "Running";
      p["status"]["conditions"] = Json::array({{{"type", "Ready"},
                                                {"status", ready ? "True" : "False"},
                                                {"lastTransitionTime", workload::formatTime(now)}}});
      return true;
    });
  }
  /// Marks every pod that is not Ready yet as Ready.
  int readyAll(const std::string& ns = "default") {
    int n = 0;
    for (auto& p : pods(ns))
      if (!workload::isPodReady(p) && !workload::isBeingDeleted(p)) {
        setReady(p, true);
        ++n;
      }
    return n;
  }
};

/// Polls `cond` every 10 ms for up to `timeout`.
template <class F>
bool eventually(F cond, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

}  // namespace minikd::testing
