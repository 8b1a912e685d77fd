#pragma once
// The dashboard's HTTP server: the embedded page, a one-time-link login that opens a cookie session,
// and the real Kubernetes API routes (api::ApiHandler) behind that session, on the same origin.
#include "api/api.h"
#include "api/pod_logs.h"
#include "api/server.h"
#include "web/session.h"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace httplib {
class Server;
}

namespace minikd::web {

struct DashboardConfig {
  std::string host = "127.0.0.1";
  int port = 8001;                       // 0 = ephemeral (tests)
  std::function<api::Json()> status;     // GET /minikd/status (minikd's parts and their health)
  /// When set, the current login link is written here (mode 0600) and rewritten whenever the link is
  /// used, so `minikd dashboard` always has a fresh one to print.
  std::string link_file;
  int threads = 64;                      // every watch or log stream holds one
};

/// Serves the dashboard. Plain HTTP on loopback: the session cookie is the credential, Host/Origin
/// checks refuse DNS-rebinding and cross-site requests with 403.
class Dashboard {
 public:
  Dashboard(api::Api& api, DashboardConfig config, api::PodLogs* logs = nullptr);
  ~Dashboard();
  /// Binds the socket; returns the port. Throws std::runtime_error naming the address.
  int bind();
  /// Serves until stop(). Call bind() first.
  void run();
  /// Ends open streams and the server loop. Thread-safe.
  void stop();
  /// The current one-time login link, http://host:port/login?token=… (after bind()).
  std::string loginUrl();
  /// Mints another one-time login link (and writes it to link_file) and returns it.
  std::string newLoginLink();
  int port() const { return port_; }
  /// The pod logs behind GET …/pods/{name}/log (set when the pod runtime starts after the dashboard).
  void setPodLogs(api::PodLogs* logs) { handler_.setPodLogs(logs); }

 private:
  void installRoutes();
  void installWatch();
  void writeLinkFile(const std::string& url) const;
  std::string baseUrl() const;

  api::Api& api_;
  DashboardConfig config_;
  api::ApiHandler handler_;
  std::unique_ptr<SessionStore> sessions_;  // set by bind(): the cookie name carries the port
  std::unique_ptr<OriginPolicy> policy_;  // set by bind() once the port is known
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> closing_{false};
  std::mutex link_mu_;
  std::string link_;
  int port_ = 0;
};

}  // namespace minikd::web
