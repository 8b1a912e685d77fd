// Workloads benchmark: one Deployment scaled 0 → 100 → 0, in process.
//
// What runs: an in-memory Store + Api, the real ReplicaSetController, DeploymentController and
// GarbageCollector on their own threads, and a FAKE POD RUNTIME (FakeKubelet below) that marks every
// pod Running/Ready as soon as it sees it. No process is started, no network namespace is created:
// the figures measure the control plane (API writes, watches, informers, controllers), not pod start-up.
//
// Baseline (same run): the same 100 pods created, marked ready and deleted directly through the Api
// with no controllers — the cost of the writes alone. The ratio shows the controllers' overhead.
#include "api/api.h"
#include "api/informer.h"
#include "minikd/deployment_controller.h"
#include "minikd/garbage_collector.h"
#include "minikd/replicaset_controller.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <vector>
#include <cstdio>
#include <thread>

using namespace minikd;
using api::Json;
using Clock = std::chrono::steady_clock;

namespace {

const api::ResourceInfo& R(const char* key) { return *api::findResourceByKey(key); }

Json podTemplate() {
  return {{"metadata", {{"labels", {{"app", "bench"}}}}},
          {"spec",
           {{"containers", Json::array({{{"name", "main"}, {"image", "minikd"},
                                          {"command", Json::array({"/usr/local/bin/minikd", "tool", "pause"})}}})}}}};
}

/// FAKE runtime: marks each new pod Running and Ready at once (what a kubelet does after start-up).
class FakeKubelet {
 public:
  explicit FakeKubelet(api::Api& api) : api_(api), informer_(api, R("pods")) {
    informer_.addHandler([this](api::EventType t, const api::ObjectPtr& pod, const api::ObjectPtr&) {
      if (t == api::EventType::Deleted || workload::isPodReady(*pod) || workload::isBeingDeleted(*pod)) return;
      markReady(api_, api::namespaceOf(*pod), api::nameOf(*pod));
    });
  }
  void run(std::stop_token st) { informer_.run(st); }
  static void markReady(api::Api& api, const std::string& ns, const std::string& name) {
    try {
      api.modify(R("pods"), ns, name, [](Json& p) {
        p["status"]["phase"] = "Running";
        p["status"]["podIP"] = "10.244.0.2";
        p["status"]["conditions"] = Json::array({{{"type", "Ready"}, {"status", "True"}, {"lastTransitionTime", api::nowRfc3339()}}});
        return true;
      });
    } catch (const api::ApiError&) {
      // Deleted meanwhile.
    }
  }

 private:
  api::Api& api_;
  api::Informer informer_;
};

double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long peakRssKb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

template <class F>
double waitFor(F cond, Clock::time_point start, std::chrono::seconds timeout = std::chrono::seconds(120)) {
  while (!cond()) {
    if (Clock::now() - start > timeout) {
      std::fprintf(stderr, "deployment_bench: timed out\n");
      std::exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void setReplicas(api::Api& api, int n) {
  api.modify(R("deployments.apps"), "default", "bench", [n](Json& d) {
    d["spec"]["replicas"] = n;
    return true;
  });
}

struct Figures {
  double ready_ms, gone_ms, cpu_s;
};

Figures runControllers(int n) {
  api::Store store(":memory:");
  api::Api api(store);
  api.create(R("namespaces"), "", {{"metadata", {{"name", "default"}}}});
  ReplicaSetController rsc(api);
  DeploymentController dc(api);
  GarbageCollector gc(api);
  FakeKubelet kubelet(api);
  std::jthread t1([&](std::stop_token st) { rsc.run(st); });
  std::jthread t2([&](std::stop_token st) { dc.run(st); });
  std::jthread t3([&](std::stop_token st) { gc.run(st); });
  std::jthread t4([&](std::stop_token st) { kubelet.run(st); });
  api.create(R("deployments.apps"), "default",
             {{"metadata", {{"name", "bench"}}},
              {"spec", {{"replicas", 0}, {"selector", {{"matchLabels", {{"app", "bench"}}}}}, {"template", podTemplate()}}}});
  auto status = [&](const char* f) {
    Json d = api.get(R("deployments.apps"), "default", "bench");
    return d.contains("status") ? d["status"].value(f, int64_t{-1}) : int64_t{-1};
  };
  waitFor([&] { return status("observedGeneration") >= 1; }, Clock::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  double cpu0 = cpuSeconds();
  auto t0 = Clock::now();
  setReplicas(api, n);
  double ready = waitFor([&] { return status("availableReplicas") == n && status("updatedReplicas") == n; }, t0);
  auto t1s = Clock::now();
  setReplicas(api, 0);
  double gone = waitFor([&] {
    return api.list(R("pods"), "default", api::Filter{}).items.empty() && status("replicas") == 0;
  }, t1s);
  return {ready, gone, cpuSeconds() - cpu0};
}

Figures runBaseline(int n) {
  api::Store store(":memory:");
  api::Api api(store);
  api.create(R("namespaces"), "", {{"metadata", {{"name", "default"}}}});
  double cpu0 = cpuSeconds();
  auto t0 = Clock::now();
  Json pod = {{"metadata", {{"generateName", "bench-"}, {"labels", {{"app", "bench"}}}}}, {"spec", podTemplate()["spec"]}};
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back(api::nameOf(api.create(R("pods"), "default", pod)));
  for (auto& name : names) FakeKubelet::markReady(api, "default", name);
  double ready = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  auto t1 = Clock::now();
  for (auto& name : names) api.remove(R("pods"), "default", name);
  double gone = std::chrono::duration<double, std::milli>(Clock::now() - t1).count();
  return {ready, gone, cpuSeconds() - cpu0};
}

/// The median of each figure over the runs (the machine is shared: single runs are noisy).
Figures median(std::vector<Figures> runs) {
  auto med = [&](double Figures::*f) {
    std::vector<double> v;
    for (auto& r : runs) v.push_back(r.*f);
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return {med(&Figures::ready_ms), med(&Figures::gone_ms), med(&Figures::cpu_s)};
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 100;
  int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  long rss_before = peakRssKb();
  std::vector<Figures> base_runs, ctl_runs;
  for (int i = 0; i < runs; ++i) {
    base_runs.push_back(runBaseline(n));
    ctl_runs.push_back(runControllers(n));
  }
  Figures base = median(base_runs), ctl = median(ctl_runs);
  std::printf("deployment_bench: Deployment scaled 0 -> %d -> 0, median of %d runs (in-process store + controllers, FAKE pod runtime)\n", n, runs);
  std::printf("  time until all %d Ready/available : %8.1f ms   (baseline, direct Api writes: %6.1f ms, ratio %.1fx)\n", n,
              ctl.ready_ms, base.ready_ms, ctl.ready_ms / base.ready_ms);
  std::printf("  time until all gone             : %8.1f ms   (baseline, direct Api deletes: %6.1f ms, ratio %.1fx)\n",
              ctl.gone_ms, base.gone_ms, ctl.gone_ms / base.gone_ms);
  std::printf("  CPU time (user+sys, whole process): %6.3f s    (baseline %.3f s, ratio %.1fx)\n", ctl.cpu_s, base.cpu_s,
              ctl.cpu_s / base.cpu_s);
  std::printf("  peak RSS over all runs: %ld KiB (at start %ld KiB)\n", peakRssKb(), rss_before);
  return 0;
}
