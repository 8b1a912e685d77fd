#include "web/dashboard.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <thread>

using namespace minikd;

namespace {

/// A dashboard on an ephemeral loopback port over an in-memory store, served on a thread.
struct Running {
  explicit Running(size_t event_window = 50000) : store(":memory:", event_window) {}
  api::Store store;
  api::Api api{store};
  web::Dashboard dash{api, [] {
                        web::DashboardConfig c;
                        c.port = 0;
                        c.threads = 8;
                        c.status = [] { return api::Json{{"components", api::Json::array()}}; };
                        return c;
                      }()};
  bool seeded = [this] {
    api.create(*api::findResource("", "namespaces"), "", {{"metadata", {{"name", "default"}}}});
    return true;
  }();
  int port = dash.bind();
  std::thread t{[this] { dash.run(); }};
  ~Running() {
    dash.stop();
    t.join();
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port); }
  std::string login() {
    std::string url = dash.loginUrl();
    return url.substr(url.find("/login"));
  }
};

std::string sessionCookie(const httplib::Result& r) {
  std::string set = r->get_header_value("Set-Cookie");
  return set.substr(0, set.find(';'));
}

}  // namespace

TEST_CASE("dashboard: login link, session cookie, API behind it", "[web]") {
  Running d;
  httplib::Client c("127.0.0.1", d.port);
  CHECK(d.dash.loginUrl().rfind("http://127.0.0.1:" + std::to_string(d.port) + "/login?token=", 0) == 0);

  auto r = c.Get("/api/v1/namespaces");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(api::Json::parse(r->body)["kind"] == "Status");
  r = c.Get("/");
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(r->body.find("login link") != std::string::npos);
  r = c.Get("/app.js");
  CHECK(r->status == 401);

  std::string path = d.login();
  r = c.Get(path);
  REQUIRE(r);
  CHECK(r->status == 200);
  std::string cookie = sessionCookie(r);
  CHECK(cookie.rfind("minikd_session_" + std::to_string(d.port) + "=", 0) == 0);
  CHECK(r->get_header_value("Set-Cookie").find("HttpOnly") != std::string::npos);
  CHECK(c.Get(path)->status == 401);  // one-time
  CHECK(d.login() != path);           // and a fresh one was minted

  httplib::Headers h = {{"Cookie", cookie}};
  r = c.Get("/", h);
  CHECK(r->status == 200);
  CHECK(r->body.find("app.js") != std::string::npos);
  CHECK(r->get_header_value("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  r = c.Get("/app.js", h);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Type").rfind("text/javascript", 0) == 0);
  r = c.Get("/api/v1/namespaces", h);
  CHECK(r->status == 200);
  CHECK(c.Get("/minikd/status", h)->status == 200);

  // Writes need a same-origin Origin or the dashboard's header.
  std::string cm = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"default"}})";
  CHECK(c.Post("/api/v1/namespaces/default/configmaps", h, cm, "application/json")->status == 403);
  httplib::Headers same = {{"Cookie", cookie}, {"Origin", "http://" + d.host()}};
  CHECK(c.Post("/api/v1/namespaces/default/configmaps", same, cm, "application/json")->status == 201);
  httplib::Headers foreign = {{"Cookie", cookie}, {"Origin", "http://evil.test"}, {"X-Minikd-Dashboard", "1"}};
  CHECK(c.Get("/api/v1/namespaces", foreign)->status == 403);
}

TEST_CASE("dashboard: a foreign Host header is refused (DNS rebinding)", "[web]") {
  Running d;
  httplib::Client c("127.0.0.1", d.port);
  auto r = c.Get(d.login(), {{"Host", "rebind.attacker.test:" + std::to_string(d.port)}});
  REQUIRE(r);
  CHECK(r->status == 403);
  CHECK(r->get_header_value("Set-Cookie").empty());
  r = c.Get(d.login(), {{"Host", "localhost:" + std::to_string(d.port)}});
  CHECK(r->status == 200);
}

TEST_CASE("dashboard: the watch stream sends events after a resourceVersion", "[web]") {
  Running d;
  httplib::Client c("127.0.0.1", d.port);
  std::string cookie = sessionCookie(c.Get(d.login()));
  httplib::Headers h = {{"Cookie", cookie}};
  CHECK(c.Get("/minikd/dashboard/watch?resourceVersion=1")->status == 401);
  auto list = api::Json::parse(c.Get("/api/v1/namespaces/default/configmaps", h)->body);
  std::string rv = list["metadata"]["resourceVersion"];
  const auto* cms = api::findResource("", "configmaps");
  d.api.create(*cms, "default", {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "x"}}}});
  std::string got;
  c.Get("/minikd/dashboard/watch?resourceVersion=" + rv + "&resources=configmaps", h,
        [&](const char* data, size_t n) {
          got.append(data, n);
          return got.find('\n') == std::string::npos;  // stop after the first line
        });
  REQUIRE(got.find('\n') != std::string::npos);
  auto ev = api::Json::parse(got.substr(0, got.find('\n')));
  CHECK(ev["type"] == "ADDED");
  CHECK(ev["resource"] == "configmaps");
  CHECK(ev["object"]["metadata"]["name"] == "x");
}

TEST_CASE("dashboard: a watch from a resourceVersion that is gone answers ERROR 410 (the page relists)", "[web]") {
  Running d(2);
  httplib::Client c("127.0.0.1", d.port);
  httplib::Headers h = {{"Cookie", sessionCookie(c.Get(d.login()))}};
  const auto* cms = api::findResource("", "configmaps");
  for (int i = 0; i < 5; i++)
    d.api.create(*cms, "default", {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "c" + std::to_string(i)}}}});
  auto r = c.Get("/minikd/dashboard/watch?resourceVersion=1", h);
  REQUIRE(r);
  CHECK(r->status == 200);
  auto ev = api::Json::parse(r->body.substr(0, r->body.find('\n')));
  CHECK(ev["type"] == "ERROR");
  CHECK(ev["object"]["code"] == 410);
}
