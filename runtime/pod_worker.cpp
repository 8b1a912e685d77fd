#include "runtime/pod_worker.h"

#include "runtime/env.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

namespace minikd::runtime {

using api::Json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

enum ProbeKind { kStartup = 0, kLiveness = 1, kReadiness = 2 };
const char* kProbeFields[] = {"startupProbe", "livenessProbe", "readinessProbe"};
const char* kProbeNames[] = {"Startup", "Liveness", "Readiness"};

const api::ResourceInfo& podsResource() { return *api::findResource("", "pods"); }
const api::ResourceInfo& eventsResource() { return *api::findResource("", "events"); }

std::string randomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

int64_t graceSeconds(const Json& pod) {
  const Json& meta = pod["metadata"];
  if (meta.contains("deletionGracePeriodSeconds") && meta["deletionGracePeriodSeconds"].is_number())
    return meta["deletionGracePeriodSeconds"].get<int64_t>();
  return pod["spec"].value("terminationGracePeriodSeconds", int64_t{30});
}

std::string restartPolicy(const Json& pod) { return pod["spec"].value("restartPolicy", "Always"); }

/// SIGKILLs every process still inside the network namespace at `netns_path` before the sandbox
/// goes: `kubectl exec` sessions and orphans of the containers, which would otherwise outlive the
/// pod. Never throws; nothing to do when the path does not exist.
void killNetnsMembers(const std::string& netns_path) {
  struct stat ns{};
  if (netns_path.empty() || ::stat(netns_path.c_str(), &ns) != 0) return;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    int pid = std::atoi(entry.path().filename().c_str());
    if (pid <= 1 || pid == ::getpid()) continue;
    struct stat st{};
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    if (::stat(path.c_str(), &st) == 0 && st.st_ino == ns.st_ino && st.st_dev == ns.st_dev) ::kill(pid, SIGKILL);
  }
}

}  // namespace

struct PodWorker::ProbeState {
  TimePoint next{};
  int successes = 0;
  int failures = 0;
  bool passed = false;  // startup: succeeded once; readiness: currently ready
  std::optional<std::future<ProbeResult>> pending;
};

struct PodWorker::Container {
  std::string name;
  bool init = false;
  std::unique_ptr<Process> proc;
  std::shared_ptr<ContainerLogWriter> log;
  int restart_count = 0;
  int starts = 0;              // start attempts by this worker (running or failed)
  bool ran_before = false;     // a previous minikd run started it (restart counts on)
  bool ran = false;            // started successfully at least once by this worker
  Json state = {{"waiting", {{"reason", "ContainerCreating"}}}};
  Json last_state = Json::object();
  bool ready = false;
  bool started = false;
  bool done = false;           // exited and will not run again (init success, or policy)
  int last_exit = 0;
  TimePoint started_at{};
  TimePoint next_start{};
  std::chrono::milliseconds backoff{0};
  std::optional<TimePoint> kill_deadline;
  ProbeState probes[3];
};

struct PodWorker::Pod {
  std::string key, ns, name, uid, ip, dir;
  std::optional<net::Sandbox> sandbox;
  std::vector<Container> init, containers;
  TimePoint start_time{};
  bool terminating = false;
  bool killed = false;
  TimePoint kill_deadline{};
  std::map<std::string, std::pair<std::string, std::string>> conditions;  // type -> (status, time)
  std::map<std::string, std::string> events;                              // reason|message -> name
  Json last_status;
  std::string network_error;
};

PodWorker::PodWorker(api::Api& api, net::PodNetwork& network, net::Ipam& ipam, ProcessLauncher& launcher,
                     const Clock& clock, RuntimeConfig config, Prober* prober)
    : api_(api),
      network_(network),
      ipam_(ipam),
      launcher_(launcher),
      clock_(clock),
      config_(std::move(config)),
      own_prober_(prober ? nullptr : std::make_unique<LinuxProber>(launcher)),
      prober_(prober ? *prober : *own_prober_) {}

PodWorker::~PodWorker() = default;

size_t PodWorker::trackedPods() const {
  std::lock_guard lock(mu_);
  return tracked_;
}

// ---------------------------------------------------------------------------------------------
// Loop

void PodWorker::markDirty(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    dirty_.insert(key);
  }
  cv_.notify_one();
}

void PodWorker::run(std::stop_token st) {
  reserveExistingIps();
  api::Filter filter;
  api::Informer informer(api_, podsResource(), filter);
  informer.addHandler([this](api::EventType, const api::ObjectPtr& obj, const api::ObjectPtr&) {
    markDirty(api::keyOf(*obj));
  });
  std::jthread informer_thread([&informer](std::stop_token ist) { informer.run(ist); });
  std::stop_callback wake(st, [this] { cv_.notify_all(); });
  auto last_full = std::chrono::steady_clock::now();
  while (!st.stop_requested()) {
    std::set<std::string> keys;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, st, config_.tick, [&] { return !dirty_.empty(); });
      keys.swap(dirty_);
    }
    // Pods that changed first, then (once per tick) every other pod; a pod that changes during the
    // pass goes next: a new pod does not wait behind the periodic pass over the running ones.
    std::vector<std::string> order(keys.begin(), keys.end());
    if (std::chrono::steady_clock::now() - last_full >= config_.tick) {
      for (const auto& [key, pod] : pods_)
        if (!keys.count(key)) order.push_back(key);
      last_full = std::chrono::steady_clock::now();
    }
    auto sync = [this](const std::string& key) {
      syncPod(key);
      publishExecView(key);
    };
    for (const auto& key : order) {
      if (st.stop_requested()) break;
      std::set<std::string> arrived;  // changed while this pass runs: before the rest of it
      {
        std::lock_guard lock(mu_);
        arrived.swap(dirty_);
      }
      for (const auto& k : arrived) sync(k);
      sync(key);
    }
  }
  informer_thread.request_stop();
}

void PodWorker::syncOnce() {
  reserveExistingIps();
  std::set<std::string> keys;
  api::Filter f;
  f.resource = podsResource().key();
  for (const auto& obj : api_.store().list(f).items) keys.insert(api::keyOf(*obj));
  for (const auto& [key, pod] : pods_) keys.insert(key);
  for (const auto& key : keys) {
    syncPod(key);
    publishExecView(key);
  }
}

void PodWorker::reserveExistingIps() {
  if (reserved_) return;
  reserved_ = true;
  api::Filter f;
  f.resource = podsResource().key();
  for (const auto& obj : api_.store().list(f).items) {
    const Json& pod = *obj;
    if (pod["spec"].value("nodeName", "") != config_.node_name) continue;
    const Json status = pod.value("status", Json::object());
    std::string phase = status.value("phase", "");
    std::string ip = status.value("podIP", "");
    if (ip.empty() || phase == "Succeeded" || phase == "Failed") continue;
    try {
      if (!ipam_.reserve(ip, pod["metadata"].value("uid", "")))
        std::cerr << "runtime: pod " << api::keyOf(pod) << ": address " << ip << " is held by another pod, ignoring\n";
    } catch (const std::exception& e) {
      std::cerr << "runtime: pod " << api::keyOf(pod) << ": reserve " << ip << ": " << e.what() << ", ignoring\n";
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One pod

void PodWorker::syncPod(const std::string& key) {
  auto [ns, name] = api::splitKey(key);
  auto obj = api_.store().getPtr(podsResource().key(), ns, name);
  auto it = pods_.find(key);
  try {
    if (it != pods_.end() && (!obj || (*obj)["metadata"].value("uid", "") != it->second->uid)) {
      // Gone (or replaced by a new pod of the same name) without a graceful stop: stop it now.
      for (auto* list : {&it->second->init, &it->second->containers})
        for (auto& c : *list)
          if (c.proc) c.proc->signal(SIGKILL);
      finishTermination(*it->second, false);
      pods_.erase(it);
      it = pods_.end();
    }
    if (!obj) return;
    if ((*obj)["spec"].value("nodeName", "").empty()) {
      if (!bindPod(*obj)) return;
      obj = api_.store().getPtr(podsResource().key(), ns, name);
      if (!obj) return;
    }
    const Json& pod = *obj;  // the store's immutable object: no copy per pod per tick
    if (pod["spec"].value("nodeName", "") != config_.node_name) return;
    bool deleting = pod["metadata"].contains("deletionTimestamp") && !pod["metadata"]["deletionTimestamp"].is_null();
    if (it == pods_.end()) {
      std::string phase = pod.value("status", Json::object()).value("phase", "");
      if (deleting || phase == "Succeeded" || phase == "Failed") {
        // Nothing of it runs here: a marked pod can go at once.
        if (deleting) {
          ipam_.releaseOwner(pod["metadata"].value("uid", ""));
          api_.store().remove(podsResource().key(), ns, name, api::DeleteOptions{});
        }
        return;
      }
      auto p = std::make_unique<Pod>();
      p->key = key;
      p->ns = ns;
      p->name = name;
      p->uid = pod["metadata"].value("uid", "");
      p->dir = podDir(config_.state_dir, ns, name, p->uid);
      p->start_time = clock_.now();
      const Json status = pod.value("status", Json::object());
      std::map<std::string, Json> old_statuses;
      for (const char* f : {"initContainerStatuses", "containerStatuses"})
        for (const auto& cs : status.value(f, Json::array())) old_statuses[cs.value("name", "")] = cs;
      for (const char* f : {"initContainers", "containers"}) {
        for (const auto& cj : pod["spec"].value(f, Json::array())) {
          Container c;
          c.name = cj.value("name", "");
          c.init = std::string(f) == "initContainers";
          if (auto o = old_statuses.find(c.name); o != old_statuses.end()) {
            c.restart_count = o->second.value("restartCount", 0);
            const Json& s = o->second.value("state", Json::object());
            c.ran_before = s.contains("running") || s.contains("terminated") || c.restart_count > 0;
            c.last_state = o->second.value("lastState", Json::object());
          }
          (c.init ? p->init : p->containers).push_back(std::move(c));
        }
      }
      for (const auto& cond : status.value("conditions", Json::array()))
        p->conditions[cond.value("type", "")] = {cond.value("status", ""), cond.value("lastTransitionTime", "")};
      it = pods_.emplace(key, std::move(p)).first;
      std::lock_guard lock(mu_);
      tracked_ = pods_.size();
    }
    Pod& p = *it->second;
    if (deleting) {
      if (!p.terminating) beginTermination(p, pod);
      pollExits(p, pod);
      enforceKillDeadlines(p);
      if (finishTermination(p, true)) {
        pods_.erase(it);
        std::lock_guard lock(mu_);
        tracked_ = pods_.size();
      }
      return;
    }
    advance(p, pod);
  } catch (const api::ApiError& e) {
    if (e.code() != 404) std::cerr << "runtime: sync pod " << key << ": " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "runtime: sync pod " << key << ": " << e.what() << "\n";
  }
}

bool PodWorker::bindPod(const Json& pod) {
  std::string now = formatRfc3339(clock_.now());
  bool bound = false;
  api_.modify(podsResource(), pod["metadata"].value("namespace", ""), pod["metadata"].value("name", ""), [&](Json& o) {
    if (!o["spec"].value("nodeName", "").empty()) return false;
    o["spec"]["nodeName"] = config_.node_name;
    Json& conds = o["status"]["conditions"];
    if (!conds.is_array()) conds = Json::array();
    Json kept = Json::array();
    for (const auto& c : conds)
      if (c.value("type", "") != "PodScheduled") kept.push_back(c);
    conds = kept;
    conds.push_back({{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", nullptr}, {"lastTransitionTime", now}});
    if (!o["status"].contains("phase")) o["status"]["phase"] = "Pending";
    bound = true;
    return true;
  });
  if (bound) {
    Pod tmp;
    tmp.ns = pod["metadata"].value("namespace", "");
    tmp.name = pod["metadata"].value("name", "");
    tmp.uid = pod["metadata"].value("uid", "");
    recordEvent(tmp, "Normal", "Scheduled", "Successfully assigned " + tmp.ns + "/" + tmp.name + " to " + config_.node_name);
  }
  return true;
}

namespace {
/// True when nothing of the pod runs or will run again (its phase is Succeeded or Failed).
template <typename C>
bool podFinished(const std::vector<C>& init, const std::vector<C>& containers) {
  for (const auto* list : {&init, &containers})
    for (const auto& c : *list)
      if (c.proc) return false;
  for (const auto& c : init)
    if (c.done && c.last_exit != 0) return true;
  if (containers.empty()) return false;
  for (const auto& c : containers)
    if (!c.done) return false;
  return true;
}
}  // namespace

void PodWorker::advance(Pod& p, const Json& pod) {
  if (!podFinished(p.init, p.containers) && ensureNetwork(p, pod)) {
    pollExits(p, pod);
    enforceKillDeadlines(p);
    startDue(p, pod);
    for (auto* list : {&p.init, &p.containers})
      for (auto& c : *list)
        if (c.proc && !c.kill_deadline) runProbes(p, c, pod);
    pollExits(p, pod);  // a container a probe just stopped
  }
  writeStatus(p, pod);
  // A finished pod gives its sandbox and address back (its status keeps the IP).
  if (podFinished(p.init, p.containers) && p.sandbox) releaseSandbox(p);
}

bool PodWorker::ensureNetwork(Pod& p, const Json& pod) {
  if (p.ip.empty()) {
    p.ip = ipam_.allocate(p.uid);
    writeStatus(p, pod);  // the address is recorded at once, so it survives a restart
  }
  if (p.sandbox) return true;
  try {
    p.sandbox = network_.ensureSandbox(p.uid.substr(0, std::min<size_t>(p.uid.size(), 12)) , p.ip);
    writePodFiles(p, pod);
    p.network_error.clear();
    return true;
  } catch (const std::exception& e) {
    if (p.network_error != e.what())
      recordEvent(p, "Warning", "FailedCreatePodSandBox", std::string("Failed to create pod sandbox: ") + e.what());
    p.network_error = e.what();
    return false;
  }
}

void PodWorker::writePodFiles(Pod& p, const Json& pod) {
  fs::create_directories(p.dir);
  std::string domain = config_.cluster_domain;
  {
    std::ofstream f(p.dir + "/resolv.conf", std::ios::trunc);
    f << "nameserver " << config_.cluster_dns_ip << "\n"
      << "search " << p.ns << ".svc." << domain << " svc." << domain << " " << domain << "\n"
      << "options ndots:5\n";
  }
  std::string hostname = pod["spec"].value("hostname", p.name);
  std::ofstream h(p.dir + "/hosts", std::ios::trunc);
  h << "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
    << p.ip << "\t" << hostname << "\n";
  for (const auto& ha : pod["spec"].value("hostAliases", Json::array())) {
    h << ha.value("ip", "");
    for (const auto& n : ha.value("hostnames", Json::array())) h << "\t" << n.get<std::string>();
    h << "\n";
  }
}

void PodWorker::pollExits(Pod& p, const Json& pod) {
  for (auto* list : {&p.init, &p.containers})
    for (auto& c : *list) {
      if (!c.proc) continue;
      if (auto st = c.proc->poll()) onExit(p, c, *st, pod);
    }
}

void PodWorker::onExit(Pod& p, Container& c, const ExitStatus& st, const Json& pod) {
  auto now = clock_.now();
  if (c.log) c.log->finish();
  c.log.reset();
  c.proc.reset();
  savePids();
  bool killed_by_us = c.kill_deadline.has_value();
  c.kill_deadline.reset();
  c.ready = false;
  c.started = false;
  c.last_exit = st.code;
  for (auto& pr : c.probes) pr = ProbeState{};
  Json term = {{"exitCode", st.code},
               {"reason", st.code == 0 ? "Completed" : "Error"},
               {"startedAt", formatRfc3339(c.started_at)},
               {"finishedAt", formatRfc3339(now)},
               {"containerID", c.state.value("running", Json::object()).value("containerID", "")}};
  if (st.signal) term["signal"] = st.signal;
  if (term["containerID"] == "") term.erase("containerID");
  c.state = {{"terminated", term}};
  if (p.terminating) {
    c.done = true;
    return;
  }
  std::string policy = restartPolicy(pod);
  bool restart = policy == "Always" ? !c.init || st.code != 0 : policy == "OnFailure" ? st.code != 0 : false;
  if (c.init && st.code == 0) restart = false;
  if (killed_by_us && policy != "Never") restart = true;  // liveness/startup failures restart
  if (!restart) {
    c.done = true;
    return;
  }
  // CrashLoopBackOff: 10 s doubling to 5 min; a container that ran long enough starts over.
  bool ran_long = now - c.started_at >= config_.backoff_reset;
  c.backoff = (c.backoff.count() == 0 || ran_long) ? config_.backoff_base : std::min(c.backoff * 2, config_.backoff_max);
  c.next_start = now + c.backoff;
  c.last_state = c.state;
  c.state = {{"waiting",
              {{"reason", "CrashLoopBackOff"},
               {"message", "back-off " + std::to_string(c.backoff.count() / 1000) + "s restarting failed container=" +
                               c.name + " pod=" + p.name + "_" + p.ns + "(" + p.uid + ")"}}}};
  recordEvent(p, "Warning", "BackOff", "Back-off restarting failed container " + c.name + " in pod " + p.name + "_" + p.ns + "(" + p.uid + ")",
              std::string(c.init ? "spec.initContainers{" : "spec.containers{") + c.name + "}");
}

void PodWorker::startDue(Pod& p, const Json& pod) {
  auto now = clock_.now();
  for (auto& c : p.init) {
    if (c.done && c.last_exit == 0) continue;
    if (c.done) return;  // an init container failed for good: the pod has failed
    if (!c.proc && now >= c.next_start) startContainer(p, c, pod);
    return;  // one init container at a time, in order
  }
  for (auto& c : p.containers)
    if (!c.proc && !c.done && now >= c.next_start) startContainer(p, c, pod);
}

ProcessSpec PodWorker::baseSpec(const Pod& p, const Json& pod, const Json& container) {
  ProcessSpec spec;
  spec.hostname = pod["spec"].value("hostname", p.name);
  spec.netns_path = p.sandbox ? p.sandbox->netns_path : "";
  spec.resolv_conf = p.dir + "/resolv.conf";
  spec.hosts = p.dir + "/hosts";
  spec.working_dir = container.value("workingDir", "/");
  Json sc = pod["spec"].value("securityContext", Json::object());
  Json csc = container.value("securityContext", Json::object());
  for (const Json* s : {&sc, &csc}) {
    if (s->contains("runAsUser")) spec.run_as_user = (*s)["runAsUser"].get<uint32_t>();
    if (s->contains("runAsGroup")) spec.run_as_group = (*s)["runAsGroup"].get<uint32_t>();
  }
  std::map<std::string, std::string> base = {
      {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, {"HOSTNAME", spec.hostname}};
  auto lookup = [this](const std::string& resource, const std::string& ns, const std::string& name) {
    return api_.store().get(resource, ns, name);
  };
  Json pod_with_ip = pod;
  pod_with_ip["status"]["hostIP"] = config_.host_ip;
  spec.env = resolveEnv(pod_with_ip, container, p.ip, lookup, base);
  spec.argv = containerArgv(container, spec.env);
  return spec;
}

static const Json* findContainerSpec(const Json& pod, const std::string& name, bool init) {
  auto spec = pod.find("spec");
  if (spec == pod.end()) return nullptr;
  auto list = spec->find(init ? "initContainers" : "containers");
  if (list == spec->end() || !list->is_array()) return nullptr;
  for (const auto& c : *list)
    if (c.value("name", "") == name) return &c;
  return nullptr;
}

void PodWorker::startContainer(Pod& p, Container& c, const Json& pod) {
  const Json* cj = findContainerSpec(pod, c.name, c.init);
  if (!cj) return;
  std::string field = std::string(c.init ? "spec.initContainers{" : "spec.containers{") + c.name + "}";
  ProcessSpec spec;
  try {
    spec = baseSpec(p, pod, *cj);
  } catch (const ConfigError& e) {
    if (c.state.value("waiting", Json::object()).value("message", "") != e.what())
      recordEvent(p, "Warning", "Failed", std::string("Error: ") + e.what(), field);
    c.state = {{"waiting", {{"reason", "CreateContainerConfigError"}, {"message", e.what()}}}};
    c.next_start = clock_.now() + std::min<std::chrono::milliseconds>(config_.backoff_base, 1s);
    return;
  }
  if (c.starts > 0 || c.ran_before) ++c.restart_count;
  ++c.starts;
  int instance = c.restart_count;
  std::error_code ec;
  fs::remove(containerLogPath(p.dir, c.name, instance - 2), ec);
  fs::remove(containerLogPath(p.dir, c.name, instance - 2) + ".1", ec);
  fs::remove(containerLogPath(p.dir, c.name, instance), ec);
  fs::remove(containerLogPath(p.dir, c.name, instance) + ".1", ec);
  try {
    c.log = std::make_shared<ContainerLogWriter>(containerLogPath(p.dir, c.name, instance), clock_, config_.log_max_bytes);
  } catch (const std::exception& e) {
    failStart(p, c, "RunContainerError", e.what(), pod);
    return;
  }
  spec.output = [log = c.log](OutputStream s, std::string_view d) { log->write(s, d); };
  recordEvent(p, "Normal", "Created", "Created container " + c.name, field);
  try {
    c.proc = launcher_.start(spec);
  } catch (const StartError& e) {
    failStart(p, c, e.reason(), e.what(), pod);
    return;
  }
  c.started_at = clock_.now();
  c.ran = true;
  c.state = {{"running", {{"startedAt", formatRfc3339(c.started_at)}}}};
  c.started = !cj->contains("startupProbe");
  c.ready = false;
  for (int k = 0; k < 3; ++k) {
    c.probes[k] = ProbeState{};
    if (cj->contains(kProbeFields[k]))
      c.probes[k].next = c.started_at + std::chrono::seconds((*cj)[kProbeFields[k]].value("initialDelaySeconds", 0));
  }
  savePids();
  recordEvent(p, "Normal", "Started", "Started container " + c.name, field);
}

void PodWorker::failStart(Pod& p, Container& c, const std::string& reason, const std::string& message, const Json& pod) {
  auto now = clock_.now();
  if (c.log) c.log->write(OutputStream::Stderr, message + "\n");
  c.log.reset();
  recordEvent(p, "Warning", "Failed", "Error: " + message,
              std::string(c.init ? "spec.initContainers{" : "spec.containers{") + c.name + "}");
  c.last_exit = 128;
  c.last_state = {{"terminated",
                   {{"exitCode", 128}, {"reason", "StartError"}, {"message", message},
                    {"startedAt", formatRfc3339(now)}, {"finishedAt", formatRfc3339(now)}}}};
  std::string policy = restartPolicy(pod);
  if (policy == "Never") {
    c.state = c.last_state;
    c.last_state = Json::object();
    c.done = true;
    return;
  }
  c.backoff = c.backoff.count() == 0 ? config_.backoff_base : std::min(c.backoff * 2, config_.backoff_max);
  c.next_start = now + c.backoff;
  c.state = {{"waiting", {{"reason", reason}, {"message", message}}}};
}

// ---------------------------------------------------------------------------------------------
// Probes

void PodWorker::runProbes(Pod& p, Container& c, const Json& pod) {
  const Json* cj = findContainerSpec(pod, c.name, c.init);
  if (!cj) return;
  auto now = clock_.now();
  for (int k = 0; k < 3; ++k) {
    if (!cj->contains(kProbeFields[k])) continue;
    if (k != kStartup && !c.started) continue;  // startup probe gates the others
    if (k == kStartup && c.started) continue;
    ProbeState& ps = c.probes[k];
    if (ps.pending) {
      if (ps.pending->wait_for(0s) != std::future_status::ready) continue;
      ProbeResult r = ps.pending->get();
      ps.pending.reset();
      handleProbe(p, c, k, r, pod);
      if (!c.proc || c.kill_deadline) return;
      continue;
    }
    if (now < ps.next) continue;
    const Json& probe = (*cj)[kProbeFields[k]];
    ps.next = now + std::chrono::seconds(std::max(1, probe.value("periodSeconds", 10)));
    ProbeContext ctx;
    ctx.pod_ip = p.ip;
    ctx.timeout_seconds = probe.value("timeoutSeconds", 1);
    ctx.ports = cj->value("ports", Json::array());
    if (probe.contains("exec")) {
      try {
        ctx.exec_base = baseSpec(p, pod, *cj);
      } catch (const std::exception& e) {
        handleProbe(p, c, k, {false, e.what()}, pod);
        continue;
      }
    }
    ps.pending = prober_.probe(probe, ctx);
    if (ps.pending->wait_for(0s) == std::future_status::ready) {
      ProbeResult r = ps.pending->get();
      ps.pending.reset();
      handleProbe(p, c, k, r, pod);
      if (!c.proc || c.kill_deadline) return;
    }
  }
}

void PodWorker::handleProbe(Pod& p, Container& c, int kind, const ProbeResult& r, const Json& pod) {
  const Json* cj = findContainerSpec(pod, c.name, c.init);
  if (!cj) return;
  const Json& probe = (*cj)[kProbeFields[kind]];
  int success_threshold = std::max(1, probe.value("successThreshold", 1));
  int failure_threshold = std::max(1, probe.value("failureThreshold", 3));
  ProbeState& ps = c.probes[kind];
  std::string field = std::string(c.init ? "spec.initContainers{" : "spec.containers{") + c.name + "}";
  if (r.success) {
    ps.failures = 0;
    if (++ps.successes < success_threshold) return;
    ps.passed = true;
    if (kind == kStartup) c.started = true;
    if (kind == kReadiness) c.ready = true;
    return;
  }
  ps.successes = 0;
  ++ps.failures;
  recordEvent(p, "Warning", "Unhealthy", std::string(kProbeNames[kind]) + " probe failed: " + r.message, field);
  if (ps.failures < failure_threshold) return;
  if (kind == kReadiness) {
    ps.passed = false;
    c.ready = false;
    return;
  }
  std::string why = std::string("Container ") + c.name + " failed " + (kind == kLiveness ? "liveness" : "startup") +
                    " probe, will be restarted";
  killContainer(p, c, why, pod);
}

void PodWorker::killContainer(Pod& p, Container& c, const std::string& why, const Json& pod) {
  if (!c.proc) return;
  std::string field = std::string(c.init ? "spec.initContainers{" : "spec.containers{") + c.name + "}";
  recordEvent(p, "Normal", "Killing", why, field);
  c.proc->signal(SIGTERM);
  c.ready = false;
  c.kill_deadline = clock_.now() + std::chrono::seconds(graceSeconds(pod));
}

void PodWorker::enforceKillDeadlines(Pod& p) {
  auto now = clock_.now();
  for (auto* list : {&p.init, &p.containers})
    for (auto& c : *list)
      if (c.proc && c.kill_deadline && now >= *c.kill_deadline) c.proc->signal(SIGKILL);
}

// ---------------------------------------------------------------------------------------------
// Termination

void PodWorker::beginTermination(Pod& p, const Json& pod) {
  p.terminating = true;
  auto grace = std::chrono::seconds(graceSeconds(pod));
  p.kill_deadline = clock_.now() + grace;
  for (auto* list : {&p.init, &p.containers})
    for (auto& c : *list) {
      if (!c.proc) continue;
      recordEvent(p, "Normal", "Killing", "Stopping container " + c.name,
                  std::string(c.init ? "spec.initContainers{" : "spec.containers{") + c.name + "}");
      c.proc->signal(SIGTERM);
      c.kill_deadline = p.kill_deadline;
      c.ready = false;
    }
}

bool PodWorker::finishTermination(Pod& p, bool remove_object) {
  for (auto* list : {&p.init, &p.containers})
    for (auto& c : *list) {
      if (!c.proc) continue;
      if (auto st = c.proc->poll()) {
        if (c.log) c.log->finish();
        c.log.reset();
        c.proc.reset();
        continue;
      }
      if (!remove_object) {
        // Forced: the process got SIGKILL; reap it synchronously (it cannot ignore that).
        c.proc->signal(SIGKILL);
        c.proc.reset();
        c.log.reset();
        continue;
      }
      return false;
    }
  savePids();
  if (p.sandbox) releaseSandbox(p);
  if (p.sandbox) return false;  // removal failed: retry on the next pass
  ipam_.releaseOwner(p.uid);
  std::error_code ec;
  fs::remove_all(p.dir, ec);
  if (remove_object) {
    api::DeleteOptions opts;
    opts.uid = p.uid;
    try {
      api_.store().remove(podsResource().key(), p.ns, p.name, opts);
    } catch (const api::ApiError& e) {
      if (e.code() != 404 && e.code() != 409) throw;
    }
  }
  return true;
}

void PodWorker::releaseSandbox(Pod& p) {
  try {
    killNetnsMembers(p.sandbox->netns_path);
    network_.removeSandbox(p.sandbox->id);
    p.sandbox.reset();
    if (!p.terminating) ipam_.releaseOwner(p.uid);
  } catch (const std::exception& e) {
    std::cerr << "runtime: pod " << p.key << ": remove sandbox " << p.sandbox->id << ": " << e.what()
              << ", retrying\n";
  }
}

void PodWorker::stopAll() {
  auto now = clock_.now();
  for (auto& [key, pp] : pods_) {
    Pod& p = *pp;
    for (auto* list : {&p.init, &p.containers})
      for (auto& c : *list)
        if (c.proc) c.proc->signal(SIGTERM);
  }
  // Wait for them together (real time: stopAll runs at shutdown).
  auto deadline = std::chrono::steady_clock::now() + config_.shutdown_grace;
  auto anyRunning = [&] {
    bool running = false;
    for (auto& [key, pp] : pods_)
      for (auto* list : {&pp->init, &pp->containers})
        for (auto& c : *list)
          if (c.proc && !c.proc->poll()) running = true;
    return running;
  };
  while (anyRunning() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  (void)now;
  for (auto& [key, pp] : pods_) {
    Pod& p = *pp;
    for (auto* list : {&p.init, &p.containers})
      for (auto& c : *list) {
        if (!c.proc) continue;
        c.proc->signal(SIGKILL);
        while (!c.proc->poll()) std::this_thread::sleep_for(1ms);
        if (c.log) c.log->finish();
        c.proc.reset();
        c.log.reset();
      }
    if (p.sandbox) {
      try {
        killNetnsMembers(p.sandbox->netns_path);
        network_.removeSandbox(p.sandbox->id);
        p.sandbox.reset();
      } catch (const std::exception& e) {
        std::cerr << "runtime: stop pod " << p.key << ": remove sandbox: " << e.what() << ", ignoring\n";
      }
    }
  }
  pods_.clear();
  savePids();
  std::lock_guard lock(mu_);
  tracked_ = 0;
  exec_views_.clear();
}

// ---------------------------------------------------------------------------------------------
// Exec and port-forward (called from API threads: they read only exec_views_, under mu_)

void PodWorker::publishExecView(const std::string& key) {
  auto it = pods_.find(key);
  if (it == pods_.end()) {
    std::lock_guard lock(mu_);
    exec_views_.erase(key);
    return;
  }
  const Pod& p = *it->second;
  ExecView v{.uid = p.uid, .ip = p.ip, .dir = p.dir, .netns_path = p.sandbox ? p.sandbox->netns_path : "", .running = {}};
  for (const auto* list : {&p.init, &p.containers})
    for (const auto& c : *list)
      if (c.proc) v.running.insert(c.name);
  std::lock_guard lock(mu_);
  exec_views_[key] = std::move(v);
}

std::string PodWorker::netnsPath(const std::string& ns, const std::string& pod) const {
  std::lock_guard lock(mu_);
  auto it = exec_views_.find(ns + "/" + pod);
  return it == exec_views_.end() ? "" : it->second.netns_path;
}

std::optional<ProcessSpec> PodWorker::execSpec(const std::string& ns, const std::string& pod,
                                               const std::string& container) {
  ExecView v;
  {
    std::lock_guard lock(mu_);
    auto it = exec_views_.find(ns + "/" + pod);
    if (it == exec_views_.end() || !it->second.running.count(container) || it->second.netns_path.empty())
      return std::nullopt;
    v = it->second;
  }
  auto obj = api_.store().get(podsResource().key(), ns, pod);
  if (!obj || (*obj)["metadata"].value("uid", "") != v.uid) return std::nullopt;
  std::optional<Json> cspec;
  for (const char* f : {"containers", "initContainers"})
    for (const auto& c : (*obj)["spec"].value(f, Json::array()))
      if (!cspec && c.value("name", "") == container) cspec = c;
  if (!cspec) return std::nullopt;
  Pod tmp;
  tmp.ns = ns;
  tmp.name = pod;
  tmp.uid = v.uid;
  tmp.ip = v.ip;
  tmp.dir = v.dir;
  tmp.sandbox = net::Sandbox{.id = "", .netns_name = "", .netns_path = v.netns_path, .host_veth = "", .ip = v.ip};
  return baseSpec(tmp, *obj, *cspec);
}

// ---------------------------------------------------------------------------------------------
// Status and events

Json PodWorker::buildStatus(Pod& p, const Json& pod) {
  std::string now = formatRfc3339(clock_.now());
  auto statusOf = [&](Container& c) {
    const Json* cj = findContainerSpec(pod, c.name, c.init);
    bool ready = c.proc && !c.kill_deadline && c.started &&
                 (cj && cj->contains("readinessProbe") ? c.ready : true);
    Json cs = {{"name", c.name},
               {"image", cj ? cj->value("image", "") : ""},
               {"imageID", ""},
               {"ready", c.init ? (c.done && c.last_exit == 0) : ready},
               {"started", c.proc != nullptr && c.started},
               {"restartCount", c.restart_count},
               {"state", c.state},
               {"lastState", c.last_state}};
    if (c.proc) cs["containerID"] = "minikd://" + std::to_string(c.proc->pid());
    return cs;
  };
  Json init_statuses = Json::array(), statuses = Json::array();
  bool initialized = true, init_failed = false;
  for (auto& c : p.init) {
    init_statuses.push_back(statusOf(c));
    if (!(c.done && c.last_exit == 0)) initialized = false;
    if (c.done && c.last_exit != 0) init_failed = true;
  }
  bool all_ready = !p.containers.empty(), all_done = !p.containers.empty(), all_ok = true, any_never_ran = false;
  for (auto& c : p.containers) {
    Json cs = statusOf(c);
    all_ready = all_ready && cs["ready"].get<bool>();
    if (!c.done) all_done = false;
    if (c.done && c.last_exit != 0) all_ok = false;
    if (!c.ran && !c.ran_before) any_never_ran = true;
    statuses.push_back(std::move(cs));
  }
  std::string phase = "Pending";
  if (init_failed) phase = "Failed";
  else if (initialized && all_done) phase = all_ok ? "Succeeded" : "Failed";
  else if (initialized && !any_never_ran) phase = "Running";

  auto setCond = [&](const std::string& type, bool ok, const std::string& reason) {
    std::string status = ok ? "True" : "False";
    auto& [old_status, time] = p.conditions[type];
    if (old_status != status || time.empty()) {
      old_status = status;
      time = now;
    }
    Json c = {{"type", type}, {"status", status}, {"lastProbeTime", nullptr}, {"lastTransitionTime", time}};
    if (!ok && !reason.empty()) c["reason"] = reason;
    return c;
  };
  bool completed = phase == "Succeeded" || phase == "Failed";
  Json conds = Json::array();
  conds.push_back(setCond("Initialized", initialized, init_failed ? "PodInitializing" : "ContainersNotInitialized"));
  std::string not_ready = completed ? "PodCompleted" : "ContainersNotReady";
  conds.push_back(setCond("Ready", all_ready && !completed, not_ready));
  conds.push_back(setCond("ContainersReady", all_ready && !completed, not_ready));
  conds.push_back(setCond("PodScheduled", true, ""));

  Json status = pod.value("status", Json::object());
  status["phase"] = phase;
  status["conditions"] = conds;
  status["hostIP"] = config_.host_ip;
  status["hostIPs"] = Json::array({{{"ip", config_.host_ip}}});
  if (!p.ip.empty()) {
    status["podIP"] = p.ip;
    status["podIPs"] = Json::array({{{"ip", p.ip}}});
  }
  status["startTime"] = formatRfc3339(p.start_time);
  if (!pod.value("status", Json::object()).value("startTime", "").empty())
    status["startTime"] = pod["status"]["startTime"];
  status["containerStatuses"] = statuses;
  if (!p.init.empty()) status["initContainerStatuses"] = init_statuses;
  else status.erase("initContainerStatuses");
  status["qosClass"] = status.value("qosClass", "BestEffort");
  return status;
}

void PodWorker::writeStatus(Pod& p, const Json& pod) {
  Json status = buildStatus(p, pod);
  if (status == p.last_status) return;
  api_.modify(podsResource(), p.ns, p.name, [&](Json& o) {
    if (o["metadata"].value("uid", "") != p.uid) return false;
    if (o.value("status", Json::object()) == status) return false;
    o["status"] = status;
    return true;
  });
  p.last_status = status;
}

void PodWorker::recordEvent(Pod& p, const std::string& type, const std::string& reason, const std::string& message,
                            const std::string& field_path) {
  std::string now = formatRfc3339(clock_.now());
  std::string dedupe = reason + "|" + field_path + "|" + message;
  try {
    if (auto it = p.events.find(dedupe); it != p.events.end()) {
      try {
        api_.store().modify(eventsResource().key(), p.ns, it->second, [&](Json& e) {
          e["count"] = e.value("count", 1) + 1;
          e["lastTimestamp"] = now;
          return true;
        });
        return;
      } catch (const api::ApiError&) {
        p.events.erase(it);  // deleted meanwhile: create it again
      }
    }
    Json involved = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"name", p.name}, {"namespace", p.ns}, {"uid", p.uid}};
    if (!field_path.empty()) involved["fieldPath"] = field_path;
    bool scheduler = reason == "Scheduled";
    std::string name = p.name + "." + randomSuffix();
    Json ev = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", name}, {"namespace", p.ns}}},
               {"involvedObject", involved},
               {"reason", reason},
               {"message", message},
               {"type", type},
               {"source", {{"component", scheduler ? "default-scheduler" : "kubelet"}, {"host", config_.node_name}}},
               {"reportingComponent", scheduler ? "default-scheduler" : "kubelet"},
               {"reportingInstance", config_.node_name},
               {"firstTimestamp", now},
               {"lastTimestamp", now},
               {"count", 1}};
    api_.create(eventsResource(), p.ns, ev);
    p.events[dedupe] = name;
  } catch (const std::exception& e) {
    std::cerr << "runtime: event " << reason << " for pod " << p.ns << "/" << p.name << ": " << e.what() << ", ignoring\n";
  }
}

// ---------------------------------------------------------------------------------------------
// Leftovers: the pid file

namespace {

/// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or "" when gone.
std::string procStartTime(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return "";
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return "";
  std::istringstream rest(stat.substr(paren + 2));
  std::string field;
  // Fields after the command start at 3 (state); start time is field 22.
  for (int i = 3; i <= 22 && rest >> field; ++i) {
  }
  return field;
}

/// Field 6 (session id) of /proc/<pid>/stat.
int procSession(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(f, stat)) return -1;
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream rest(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 6 && rest >> field; ++i) {
  }
  return std::atoi(field.c_str());
}

}  // namespace

void PodWorker::savePids() {
  std::string dir = config_.state_dir + "/runtime";
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string tmp = dir + "/pids.tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    for (const auto& [key, p] : pods_)
      for (auto* list : {&p->init, &p->containers})
        for (auto& c : *list)
          if (c.proc) f << c.proc->pid() << " " << procStartTime(c.proc->pid()) << " " << key << "/" << c.name << "\n";
  }
  fs::rename(tmp, dir + "/pids", ec);
}

void PodWorker::cleanupLeftovers() {
  try {
    for (const auto& id : network_.listSandboxes()) {
      try {
        network_.removeSandbox(id);
      } catch (const std::exception& e) {
        std::cerr << "runtime: remove leftover sandbox " << id << ": " << e.what() << ", ignoring\n";
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "runtime: list leftover sandboxes: " << e.what() << ", ignoring\n";
  }
  std::ifstream f(config_.state_dir + "/runtime/pids");
  std::error_code ec;
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    int pid = 0;
    std::string start;
    if (!(in >> pid >> start) || pid <= 1 || pid == ::getpid()) continue;
    std::string now_start = procStartTime(pid);
    if (!now_start.empty()) {
      // Only the process we started (same start time), never a reused pid.
      if (now_start == start) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
      }
      continue;
    }
    // The leader is gone; its session may live on in children it left behind.
    long recorded = std::atol(start.c_str());
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
      int other = std::atoi(entry.path().filename().c_str());
      if (other <= 1 || procSession(other) != pid) continue;
      if (std::atol(procStartTime(other).c_str()) >= recorded) ::kill(other, SIGKILL);
    }
  }
  fs::remove(config_.state_dir + "/runtime/pids", ec);
}

}  // namespace minikd::runtime
