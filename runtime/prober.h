#pragma once
// Prober: runs one readiness/liveness/startup probe of a container (exec, httpGet or tcpSocket) and
// answers asynchronously, so a slow probe never stalls the pod worker. LinuxProber is the real one;
// unit tests use a fake.
#include "runtime/process_launcher.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>

namespace minikd::runtime {

struct ProbeResult {
  bool success = false;
  std::string message;  // why it failed (for the Unhealthy event)
};

/// Where a probe runs.
struct ProbeContext {
  std::string pod_ip;
  int timeout_seconds = 1;
  /// For exec probes: the container's process spec (namespaces, env, user); argv is replaced.
  ProcessSpec exec_base;
  /// The container's ports (to resolve a named httpGet/tcpSocket port).
  nlohmann::json ports = nlohmann::json::array();
};

class Prober {
 public:
  virtual ~Prober() = default;
  /// Starts `probe` (a Kubernetes Probe object). The future becomes ready with the outcome; it never
  /// throws (errors are failures). Dropping the future does not block.
  virtual std::future<ProbeResult> probe(const nlohmann::json& probe, const ProbeContext& ctx) = 0;
};

/// The real prober: exec through the launcher (inside the pod's namespaces), HTTP/1.1 GET and TCP
/// connect to the pod IP. Each probe runs on its own short-lived thread; the destructor waits for them.
class LinuxProber : public Prober {
 public:
  explicit LinuxProber(ProcessLauncher& launcher) : launcher_(launcher) {}
  ~LinuxProber() override;
  std::future<ProbeResult> probe(const nlohmann::json& probe, const ProbeContext& ctx) override;

  /// One probe, synchronously (what the threads run).
  ProbeResult run(const nlohmann::json& probe, const ProbeContext& ctx);

 private:
  ProcessLauncher& launcher_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
};

/// A probe's port: a number, or the name of one of `ports` (containerPort). nullopt when unknown.
std::optional<int> resolveProbePort(const nlohmann::json& port, const nlohmann::json& ports);
/// TCP connect to ip:port within `timeout`. Empty string on success, else the error.
std::string tcpConnect(const std::string& ip, int port, std::chrono::milliseconds timeout, int* fd_out = nullptr);
/// HTTP/1.1 GET; success for a status 200–399.
ProbeResult httpGet(const std::string& host, int port, const std::string& path, const nlohmann::json& headers,
                    std::chrono::milliseconds timeout);

}  // namespace minikd::runtime
