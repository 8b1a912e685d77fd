#include "minikd/cluster_bootstrap.h"

#include "api/informer.h"

#include <sys/utsname.h>

#include <iostream>
#include <thread>

namespace minikd {

using api::Json;

void ensureNamespaces(api::Api& api) {
  const auto* ns = api::findResource("", "namespaces");
  for (const char* name : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    if (api.store().getPtr(ns->key(), "", name)) continue;
    try {
      api.create(*ns, "", {{"metadata", {{"name", name}}}});
    } catch (const api::ApiError& e) {
      if (e.code() != 409) throw;
    }
  }
}

namespace {

Json nodeStatus(const NodeInfo& node) {
  std::string now = api::nowRfc3339();
  utsname u{};
  uname(&u);
  auto cond = [&](const char* type, const char* status, const char* reason, const char* msg) {
    return Json{{"type", type}, {"status", status}, {"reason", reason}, {"message", msg},
                {"lastHeartbeatTime", now}, {"lastTransitionTime", now}};
  };
  long cpus = static_cast<long>(std::thread::hardware_concurrency());
  return {{"conditions",
           {cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "minikd has sufficient memory available"),
            cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "minikd has no disk pressure"),
            cond("PIDPressure", "False", "KubeletHasSufficientPID", "minikd has sufficient PID available"),
            cond("Ready", "True", "KubeletReady", "minikd is posting ready status")}},
          {"addresses", {{{"type", "InternalIP"}, {"address", node.ip}}, {{"type", "Hostname"}, {"address", node.name}}}},
          {"capacity", {{"cpu", std::to_string(cpus)}, {"pods", "110"}}},
          {"allocatable", {{"cpu", std::to_string(cpus)}, {"pods", "110"}}},
          {"nodeInfo",
           {{"kubeletVersion", "v1.32.0-minikd"}, {"kubeProxyVersion", "v1.32.0-minikd"}, {"osImage", "minikd"},
            {"kernelVersion", u.release}, {"operatingSystem", "linux"}, {"architecture", "amd64"},
            {"containerRuntimeVersion", "minikd://0.1.0"}, {"machineID", ""}, {"systemUUID", ""}, {"bootID", ""}}}};
}

}  // namespace

void ensureNode(api::Api& api, const NodeInfo& node) {
  const auto* nodes = api::findResource("", "nodes");
  if (!api.store().getPtr(nodes->key(), "", node.name)) {
    Json obj = {{"metadata",
                 {{"name", node.name},
                  {"labels",
                   {{"kubernetes.io/hostname", node.name}, {"kubernetes.io/os", "linux"},
                    {"kubernetes.io/arch", "amd64"}, {"node-role.kubernetes.io/control-plane", ""}}}}},
                {"spec", {{"podCIDR", node.pod_cidr}, {"podCIDRs", {node.pod_cidr}}}},
                {"status", nodeStatus(node)}};
    try {
      api.create(*nodes, "", obj);
      return;
    } catch (const api::ApiError& e) {
      if (e.code() != 409) throw;
    }
  }
  api.modify(*nodes, "", node.name, [&](Json& o) {
    o["status"] = nodeStatus(node);
    return true;
  });
}

void runNodeHeartbeat(api::Api& api, const NodeInfo& node, std::stop_token st, std::chrono::seconds period) {
  const auto* nodes = api::findResource("", "nodes");
  std::mutex mu;
  std::condition_variable_any cv;
  while (!st.stop_requested()) {
    {
      std::unique_lock lk(mu);
      cv.wait_for(lk, st, period, [] { return false; });
    }
    if (st.stop_requested()) return;
    try {
      api.modify(*nodes, "", node.name, [&](Json& o) {
        for (auto& c : o["status"]["conditions"])
          if (c["type"] == "Ready") c["lastHeartbeatTime"] = api::nowRfc3339();
        return true;
      });
    } catch (const std::exception& e) {
      try {
        ensureNode(api, node);
      } catch (const std::exception& e2) {
        std::cerr << "node heartbeat: " << e2.what() << ", retrying\n";
      }
    }
  }
}

bool NamespaceController::sync(const std::string& name) {
  const auto* nsr = api::findResource("", "namespaces");
  auto ns = api_.store().getPtr(nsr->key(), "", name);
  if (!ns || !(*ns)["metadata"].contains("deletionTimestamp")) return false;
  bool empty = true;
  for (const auto& r : api::builtinResources()) {
    if (!r.namespaced || r.kind == "Event") continue;
    api::Filter f;
    auto list = api_.list(r, name, f);
    for (const auto& o : list.items) {
      empty = false;
      if ((*o)["metadata"].contains("deletionTimestamp")) continue;
      try {
        api_.remove(r, name, api::nameOf(*o));
      } catch (const api::ApiError& e) {
        if (e.code() != 404) throw;
      }
    }
  }
  const auto* ev = api::findResource("", "events");
  for (const auto& o : api_.list(*ev, name, {}).items) {
    try {
      api_.store().remove(ev->key(), name, api::nameOf(*o));
    } catch (const api::ApiError&) {
    }
  }
  if (!empty) return false;
  try {
    api_.store().modify(nsr->key(), "", name, [](Json& o) {
      o["spec"]["finalizers"] = Json::array();
      return true;
    });
  } catch (const api::ApiError& e) {
    if (e.code() != 404) throw;
  }
  return true;
}

void NamespaceController::run(std::stop_token st) {
  api::WorkQueue queue;
  const auto* nsr = api::findResource("", "namespaces");
  api::Informer namespaces(api_, *nsr);
  namespaces.addHandler([&](api::EventType t, const api::ObjectPtr& o, const api::ObjectPtr&) {
    if (t != api::EventType::Deleted && (*o)["metadata"].contains("deletionTimestamp")) queue.add(api::nameOf(*o));
  });
  // Contents going away re-trigger their terminating namespace.
  std::vector<std::unique_ptr<api::Informer>> contents;
  for (const auto& r : api::builtinResources()) {
    if (!r.namespaced || r.kind == "Event") continue;
    auto inf = std::make_unique<api::Informer>(api_, r);
    inf->addHandler([&](api::EventType t, const api::ObjectPtr& o, const api::ObjectPtr&) {
      if (t != api::EventType::Deleted) return;
      auto ns = namespaces.get("", api::namespaceOf(*o));
      if (ns && (*ns)["metadata"].contains("deletionTimestamp")) queue.add(api::namespaceOf(*o));
    });
    contents.push_back(std::move(inf));
  }
  std::vector<std::jthread> threads;
  threads.emplace_back([&](std::stop_token s) { namespaces.run(s); });
  for (auto& inf : contents) threads.emplace_back([&, p = inf.get()](std::stop_token s) { p->run(s); });
  std::stop_callback stop_all(st, [&] {
    for (auto& t : threads) t.request_stop();
  });
  while (auto key = queue.get(st)) {
    try {
      if (!sync(*key) && api_.store().getPtr(nsr->key(), "", *key))
        queue.addAfter(*key, std::chrono::seconds(2));
    } catch (const std::exception& e) {
      std::cerr << "namespace controller: " << *key << ": " << e.what() << ", retrying\n";
      queue.addAfter(*key, std::chrono::seconds(1));
    }
    queue.done(*key);
  }
}

}  // namespace minikd
