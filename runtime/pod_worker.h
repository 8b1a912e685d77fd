#pragma once
// PodWorker: the node agent. Binds unscheduled pods to this node and, for each pod on it, allocates
// an IP, creates the sandbox (netns + veth), runs the init containers in order and then the
// containers as supervised processes, runs their probes, restarts them with back-off, reports the
// status and events, and tears everything down on graceful deletion.
//
// Threading: run() is the only thread that touches pod state (an informer thread only marks pods
// dirty). cleanupLeftovers() before run(), stopAll() after run() has returned. Tests call syncOnce()
// instead of run() and drive time with a fake Clock. execSpec() and netnsPath() (exec, port-forward)
// may be called from any thread: they read a snapshot the sync publishes under a lock.
#include "api/api.h"
#include "api/informer.h"
#include "net/ipam.h"
#include "net/pod_network.h"
#include "runtime/clock.h"
#include "runtime/container_log.h"
#include "runtime/prober.h"
#include "runtime/process_launcher.h"

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

namespace minikd::runtime {

struct RuntimeConfig {
  std::string node_name = "node1";
  /// Logs under <state_dir>/pods/<ns>_<name>_<uid>/<container>/, the pid file under <state_dir>/runtime/.
  std::string state_dir = "/var/lib/minikd";
  std::string cluster_dns_ip = "10.96.0.10";
  std::string cluster_domain = "cluster.local";
  std::string host_ip = "10.244.0.1";
  /// CrashLoopBackOff: the first delay, its cap, and how long a container must run to reset it.
  std::chrono::milliseconds backoff_base{10'000};
  std::chrono::milliseconds backoff_max{300'000};
  std::chrono::milliseconds backoff_reset{600'000};
  /// Per log file, before it is rotated (one rotated file is kept per instance).
  size_t log_max_bytes = 10 * 1024 * 1024;
  /// stopAll(): the longest a container gets between SIGTERM and SIGKILL.
  std::chrono::milliseconds shutdown_grace{10'000};
  /// How often run() re-checks every pod (process exits, probes, back-off timers).
  std::chrono::milliseconds tick{50};
};

class PodWorker {
 public:
  /// `prober` may be null: then a LinuxProber over `launcher` is used.
  PodWorker(api::Api& api, net::PodNetwork& network, net::Ipam& ipam, ProcessLauncher& launcher, const Clock& clock,
            RuntimeConfig config, Prober* prober = nullptr);
  ~PodWorker();
  PodWorker(const PodWorker&) = delete;
  PodWorker& operator=(const PodWorker&) = delete;

  /// At `up`, before run(): removes sandboxes left by a crashed run and kills container processes
  /// recorded in the pid file (only those whose start time still matches). Never throws.
  void cleanupLeftovers();
  /// Watches pods and keeps them running until `st` is stopped. Never throws.
  void run(std::stop_token st);
  /// One pass without threads (tests): reserves known IPs on the first call, then syncs every pod
  /// of the store and every pod the worker still tracks.
  void syncOnce();
  /// At `down`/SIGTERM, after run() returned: stops every pod gracefully (SIGTERM, at most
  /// shutdown_grace, SIGKILL) and removes the sandboxes. The pods stay in the store.
  void stopAll();

  /// Pods with state in the worker (for tests and metrics).
  size_t trackedPods() const;

  /// For `kubectl exec` (any thread): the spec container `container` of pod ns/name was started with
  /// (environment, working dir, hostname, netns, resolv.conf/hosts, ids; argv = its command), as of
  /// the last sync. nullopt when this worker does not run that container now. Throws ConfigError
  /// when its environment cannot be resolved.
  std::optional<ProcessSpec> execSpec(const std::string& ns, const std::string& pod, const std::string& container);
  /// For port-forward (any thread): the pod's network namespace path while this worker has its
  /// sandbox, else "".
  std::string netnsPath(const std::string& ns, const std::string& pod) const;

 private:
  struct ProbeState;
  struct Container;
  struct Pod;

  void reserveExistingIps();
  void syncPod(const std::string& key);
  bool bindPod(const api::Json& pod);
  void advance(Pod& p, const api::Json& pod);
  bool ensureNetwork(Pod& p, const api::Json& pod);
  void pollExits(Pod& p, const api::Json& pod);
  void onExit(Pod& p, Container& c, const ExitStatus& st, const api::Json& pod);
  void startDue(Pod& p, const api::Json& pod);
  void startContainer(Pod& p, Container& c, const api::Json& pod);
  void failStart(Pod& p, Container& c, const std::string& reason, const std::string& message, const api::Json& pod);
  void runProbes(Pod& p, Container& c, const api::Json& pod);
  void handleProbe(Pod& p, Container& c, int kind, const ProbeResult& r, const api::Json& pod);
  void killContainer(Pod& p, Container& c, const std::string& why, const api::Json& pod);
  void enforceKillDeadlines(Pod& p);
  void beginTermination(Pod& p, const api::Json& pod);
  bool finishTermination(Pod& p, bool remove_object);
  void releaseSandbox(Pod& p);
  void writeStatus(Pod& p, const api::Json& pod);
  api::Json buildStatus(Pod& p, const api::Json& pod);
  void recordEvent(Pod& p, const std::string& type, const std::string& reason, const std::string& message,
                   const std::string& field_path = "");
  void writePodFiles(Pod& p, const api::Json& pod);
  ProcessSpec baseSpec(const Pod& p, const api::Json& pod, const api::Json& container);
  void savePids();
  void markDirty(const std::string& key);
  void publishExecView(const std::string& key);

  api::Api& api_;
  net::PodNetwork& network_;
  net::Ipam& ipam_;
  ProcessLauncher& launcher_;
  const Clock& clock_;
  RuntimeConfig config_;
  std::unique_ptr<Prober> own_prober_;
  Prober& prober_;
  bool reserved_ = false;

  std::map<std::string, std::unique_ptr<Pod>> pods_;  // by "ns/name"

  mutable std::mutex mu_;  // guards dirty_ and the count below
  std::condition_variable_any cv_;
  std::set<std::string> dirty_;
  size_t tracked_ = 0;
  /// What execSpec()/netnsPath() need of each tracked pod, copied after every sync of it.
  struct ExecView {
    std::string uid, ip, dir, netns_path;
    std::set<std::string> running;  // containers with a live process
  };
  std::map<std::string, ExecView> exec_views_;  // by "ns/name", guarded by mu_
};

}  // namespace minikd::runtime
