// Address plan: 127.0.0.1 only, ports chosen by the kernel (port 0).
#include "minikd/tools.h"

#include <httplib.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace minikd::tools;

namespace {

/// An HttpTool serving on 127.0.0.1:<any port> in a thread, stopped on destruction.
struct Served {
  HttpTool tool;
  int port;
  std::thread thread;
  explicit Served(HttpToolOptions o) : tool(withLoopback(std::move(o))), port(tool.bind()), thread([this] { tool.serve(); }) {}
  ~Served() {
    tool.stop();
    thread.join();
  }
  static HttpToolOptions withLoopback(HttpToolOptions o) {
    o.host = "127.0.0.1";
    o.port = 0;
    return o;
  }
  httplib::Client client() const { return httplib::Client("127.0.0.1", port); }
};

}  // namespace

TEST_CASE("tool http: answers with pod name, IP, headers and message", "[tools]") {
  HttpToolOptions o;
  o.pod_name = "web-abc12";
  o.message = "hello from a configmap";
  Served s(o);
  auto cli = s.client();
  auto res = cli.Get("/items", {{"X-Test", "42"}});
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body.find("pod: web-abc12\n") != std::string::npos);
  CHECK(res->body.find("ip: 127.0.0.1\n") != std::string::npos);
  CHECK(res->body.find("path: /items\n") != std::string::npos);
  CHECK(res->body.find("X-Test: 42\n") != std::string::npos);
  CHECK(res->body.find("message: hello from a configmap\n") != std::string::npos);
  auto health = cli.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

TEST_CASE("tool http: /ready switches off and on", "[tools]") {
  Served s({});
  auto cli = s.client();
  CHECK(cli.Get("/ready")->status == 200);
  CHECK(cli.Post("/ready/off")->status == 200);
  CHECK(cli.Get("/ready")->status == 503);
  CHECK(cli.Get("/healthz")->status == 200);
  CHECK(cli.Post("/ready/on")->status == 200);
  CHECK(cli.Get("/ready")->status == 200);
}

TEST_CASE("tool http: --upstream includes the upstream's answer, 502 when it is down", "[tools]") {
  HttpToolOptions back;
  back.pod_name = "store-1";
  Served store(back);
  HttpToolOptions front;
  front.pod_name = "api-1";
  front.upstream = "http://127.0.0.1:" + std::to_string(store.port) + "/";
  auto res = [&] {
    Served api(front);
    return api.client().Get("/");
  }();
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->body.find("pod: api-1") != std::string::npos);
  CHECK(res->body.find("  | pod: store-1") != std::string::npos);

  int dead_port = store.port;
  HttpToolOptions broken;
  {
    // A port that was just free: nothing listens there.
    Served tmp({});
    dead_port = tmp.port;
  }
  broken.upstream = "http://127.0.0.1:" + std::to_string(dead_port) + "/";
  Served api(broken);
  auto bad = api.client().Get("/");
  REQUIRE(bad);
  CHECK(bad->status == 502);
  CHECK(bad->body.find("error: upstream") != std::string::npos);
}

TEST_CASE("tool http: --delay slows answers - /fail answers then fails", "[tools]") {
  std::atomic<bool> failed{false};
  HttpToolOptions o;
  o.delay = std::chrono::milliseconds(150);
  o.on_fail = [&] { failed = true; };
  Served s(o);
  auto cli = s.client();
  auto start = std::chrono::steady_clock::now();
  REQUIRE(cli.Get("/"));
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(150));
  auto res = cli.Get("/fail");
  REQUIRE(res);
  CHECK(res->status == 200);
  for (int i = 0; i < 100 && !failed; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(failed);
}
