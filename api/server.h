#pragma once
// The Kubernetes REST API: routing, auth, discovery, OpenAPI, the verbs, watch streams, Tables, pod
// logs (ApiHandler, on the neutral types of api/http.h), and the API server that serves it over
// HTTPS with Boost.Beast, including the websocket upgrades of exec and port-forward (ApiServer).
// The dashboard mounts the same handler on its cpp-httplib server behind its own session auth.
#include "api/api.h"
#include "api/http.h"
#include "api/pod_exec.h"
#include "api/pod_logs.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace minikd::api {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 6443;              // 0 = ephemeral (tests)
  std::string cert_file;        // TLS certificate and key; both empty = plain HTTP (tests only)
  std::string key_file;
  std::string token;            // the bearer token; empty = no auth (tests only)
  size_t max_body = 3 * 1024 * 1024;
  int max_connections = 1024;   // each holds a thread; connections beyond this are closed at once
  std::string external_url;     // for discovery's serverAddressByClientCIDRs
};

/// The routes of the API.
class ApiHandler {
 public:
  ApiHandler(Api& api, size_t max_body, PodLogs* logs = nullptr) : api_(api), max_body_(max_body), logs_(logs) {}
  /// A function returning JSON for GET /minikd/status (components and their health).
  void setStatusProvider(std::function<Json()> fn) { status_ = std::move(fn); }
  void setPodLogs(PodLogs* logs) { logs_ = logs; }
  /// Serves exec and port-forward (websocket upgrades; only the ApiServer can upgrade).
  void setPodExec(PodExec* exec) { exec_ = exec; }
  PodExec* podExec() const { return exec_; }
  Api& api() { return api_; }
  /// Answers one request; errors become a Status. Without `authorized` only the health and version
  /// endpoints answer (401 otherwise).
  void respond(const HttpRequest& req, HttpResponse& res, bool authorized);
  /// Installs every route on a cpp-httplib server (the dashboard's). `authorize` decides whether a
  /// request may use the API.
  void install(httplib::Server& srv, std::function<bool(const httplib::Request&)> authorize);
  /// Ends every open watch and log stream (on shutdown).
  void closeStreams() { closing_ = true; }
  bool closing() const { return closing_; }

 private:
  void handle(const HttpRequest& req, HttpResponse& res);
  void handleResource(const HttpRequest& req, HttpResponse& res, const ResourceInfo& r, const std::string& ns,
                      const std::string& name, const std::string& sub);
  void handleList(const HttpRequest& req, HttpResponse& res, const ResourceInfo& r, const std::string& ns);
  void handleWatch(const HttpRequest& req, HttpResponse& res, const ResourceInfo& r, const std::string& ns);
  void handleLog(const HttpRequest& req, HttpResponse& res, const std::string& ns, const std::string& name);

  Api& api_;
  size_t max_body_;
  PodLogs* logs_;
  PodExec* exec_ = nullptr;
  std::function<Json()> status_;
  std::atomic<bool> closing_{false};
};

/// The API server: HTTPS (or HTTP in tests) with bearer-token auth, one thread per connection
/// (api/http_server.cpp, Boost.Beast). Upgrades …/pods/{name}/exec and …/portforward to websockets.
class ApiServer {
 public:
  ApiServer(Api& api, ServerConfig config, PodLogs* logs = nullptr);
  ~ApiServer();
  ApiHandler& handler() { return handler_; }
  /// Binds the listening socket; returns the port. Throws std::runtime_error naming the address.
  int bind();
  /// Serves until stop(). Call bind() first.
  void run();
  void stop();

 private:
  class Impl;
  ServerConfig config_;
  ApiHandler handler_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace minikd::api
