#pragma once
// A store, an Api and an ApiServer on 127.0.0.1:<ephemeral> (plain HTTP, bearer token), serving from
// its own thread until destroyed. `prepare` runs before the server starts (objects, PodExec, …).
#include "api/server.h"

#include <functional>
#include <string>
#include <thread>

namespace minikd::testing {

struct LiveServer {
  api::Store store;
  api::Api api{store};
  api::ApiServer server;
  int port = 0;
  std::thread thread;

  explicit LiveServer(const std::string& token, const std::function<void(LiveServer&)>& prepare = {},
                      size_t event_window = 50000)
      : store(":memory:", event_window), server(api, config(token)) {
    api.create(*api::findResource("", "namespaces"), "", {{"metadata", {{"name", "default"}}}});
    if (prepare) prepare(*this);
    port = server.bind();
    thread = std::thread([this] { server.run(); });
  }
  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;
  ~LiveServer() {
    server.stop();
    thread.join();
  }

  static api::ServerConfig config(const std::string& token) {
    api::ServerConfig c;
    c.port = 0;
    c.token = token;
    return c;
  }
};

}  // namespace minikd::testing
