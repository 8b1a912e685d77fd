// HTTP tests against a live API server on an ephemeral loopback port (plain HTTP, with a token).
#include "live_server.h"

#include <catch2/catch.hpp>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

using minikd::api::Json;

namespace {

const char* kToken = "test-token";

/// The live server with "default" and "kube-system", and an httplib client of it.
struct LiveServer : minikd::testing::LiveServer {
  LiveServer()
      : minikd::testing::LiveServer(kToken, [](minikd::testing::LiveServer& s) {
          s.api.create(*minikd::api::findResource("", "namespaces"), "", {{"metadata", {{"name", "kube-system"}}}});
        }) {}
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_bearer_token_auth(kToken);
    c.set_read_timeout(10, 0);
    return c;
  }
};

Json body(const httplib::Result& r) {
  REQUIRE(r);
  return Json::parse(r->body);
}

const std::string kCms = "/api/v1/namespaces/default/configmaps";

std::string cmJson(const std::string& name, const std::string& v = "1") {
  return Json{{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"labels", {{"app", "web"}}}}},
              {"data", {{"k", v}}}}
      .dump();
}

}  // namespace

TEST_CASE("health and version answer without a token - the API needs one", "[server]") {
  LiveServer s;
  httplib::Client anon("127.0.0.1", s.port);
  auto v = anon.Get("/version");
  REQUIRE(v);
  CHECK(v->status == 200);
  CHECK(Json::parse(v->body)["minor"] == "32");
  CHECK(anon.Get("/readyz")->status == 200);
  auto denied = anon.Get(kCms);
  REQUIRE(denied);
  CHECK(denied->status == 401);
  CHECK(Json::parse(denied->body)["reason"] == "Unauthorized");
  httplib::Client wrong("127.0.0.1", s.port);
  wrong.set_bearer_token_auth("nope");
  CHECK(wrong.Get(kCms)->status == 401);
}

TEST_CASE("discovery: legacy and aggregated", "[server]") {
  LiveServer s;
  auto c = s.client();
  Json api = body(c.Get("/api"));
  CHECK(api["kind"] == "APIVersions");
  Json v1 = body(c.Get("/api/v1"));
  bool pods = false;
  for (auto& r : v1["resources"]) pods |= r["name"] == "pods" && r["namespaced"] == true;
  CHECK(pods);
  httplib::Headers h = {{"Accept", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"}};
  auto agg = c.Get("/apis", h);
  REQUIRE(agg);
  CHECK(agg->get_header_value("Content-Type") == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
  Json a = Json::parse(agg->body);
  CHECK(a["kind"] == "APIGroupDiscoveryList");
  CHECK(a["items"][0]["metadata"]["name"] == "apps");
  CHECK(body(c.Get("/openapi/v3"))["paths"].contains("apis/apps/v1"));
}

TEST_CASE("create, get, list, update, patch and delete over HTTP", "[server]") {
  LiveServer s;
  auto c = s.client();
  auto created = c.Post(kCms, cmJson("a"), "application/json");
  REQUIRE(created);
  CHECK(created->status == 201);
  Json a = Json::parse(created->body);
  CHECK(body(c.Get(kCms + "/a"))["data"]["k"] == "1");
  CHECK(body(c.Get(kCms + "?labelSelector=app%3Dweb"))["items"].size() == 1);
  CHECK(body(c.Get(kCms + "?labelSelector=app%3Dother"))["items"].empty());
  CHECK(body(c.Get("/api/v1/configmaps"))["items"].size() == 1);

  Json upd = a;
  upd["data"]["k"] = "2";
  auto put = c.Put(kCms + "/a", upd.dump(), "application/json");
  CHECK(put->status == 200);
  // The same (now stale) resourceVersion again: 409 Conflict.
  auto stale = c.Put(kCms + "/a", upd.dump(), "application/json");
  CHECK(stale->status == 409);
  CHECK(Json::parse(stale->body)["reason"] == "Conflict");

  auto merge = c.Patch(kCms + "/a", R"({"data":{"m":"x"}})", "application/merge-patch+json");
  CHECK(body(merge)["data"]["m"] == "x");
  auto jp = c.Patch(kCms + "/a", R"([{"op":"replace","path":"/data/k","value":"3"}])", "application/json-patch+json");
  CHECK(body(jp)["data"]["k"] == "3");

  auto del = c.Delete(kCms + "/a");
  CHECK(del->status == 200);
  auto gone = c.Get(kCms + "/a");
  CHECK(gone->status == 404);
  Json st = Json::parse(gone->body);
  CHECK(st["kind"] == "Status");
  CHECK(st["status"] == "Failure");
  CHECK(st["message"] == "configmaps \"a\" not found");
}

TEST_CASE("bad input gets a Status: malformed JSON, invalid names, strict fields, too large, bad selector", "[server]") {
  LiveServer s;
  auto c = s.client();
  auto bad = c.Post(kCms, "{not json", "application/json");
  CHECK(bad->status == 400);
  CHECK(Json::parse(bad->body)["kind"] == "Status");

  auto invalid = c.Post(kCms, cmJson("Bad_Name"), "application/json");
  CHECK(invalid->status == 422);
  Json st = Json::parse(invalid->body);
  CHECK(st["reason"] == "Invalid");
  CHECK(st["details"]["causes"][0]["field"] == "metadata.name");

  Json unknown = Json::parse(cmJson("u"));
  unknown["spec"] = {{"x", 1}};
  auto strict = c.Post(kCms + "?fieldValidation=Strict", unknown.dump(), "application/json");
  CHECK(strict->status == 400);
  CHECK(Json::parse(strict->body)["message"].get<std::string>().find("spec") != std::string::npos);
  auto warn = c.Post(kCms, unknown.dump(), "application/json");
  CHECK(warn->status == 201);
  CHECK(!warn->get_header_value("Warning").empty());

  std::string big = cmJson("big", std::string(3 * 1024 * 1024 + 10, 'x'));
  auto large = c.Post(kCms, big, "application/json");
  CHECK(large->status == 413);

  auto sel = c.Get(kCms + "?labelSelector=a%20in%20(b");
  CHECK(sel->status == 400);
  CHECK(Json::parse(sel->body)["message"].get<std::string>().find("a in (b") != std::string::npos);

  auto proto = c.Post(kCms, "k8s\x00", "application/vnd.kubernetes.protobuf");
  CHECK(proto->status == 415);
  CHECK(Json::parse(proto->body)["message"].get<std::string>().find("kubectl apply -f -") != std::string::npos);

  auto nsmissing = c.Post("/api/v1/namespaces/nope/configmaps", cmJson("x"), "application/json");
  CHECK(nsmissing->status == 404);
}

TEST_CASE("watch streams events from a resourceVersion, with bookmarks and a timeout", "[server][watch]") {
  LiveServer s;
  auto c = s.client();
  Json a = body(c.Post(kCms, cmJson("a"), "application/json"));
  std::string rv = a["metadata"]["resourceVersion"];
  c.Post(kCms, cmJson("b"), "application/json");
  std::string stream;
  auto t0 = std::chrono::steady_clock::now();
  auto w = s.client().Get(kCms + "?watch=true&resourceVersion=" + rv + "&timeoutSeconds=2&allowWatchBookmarks=true",
                          [&](const char* data, size_t n) {
                            stream.append(data, n);
                            return true;
                          });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(w);
  CHECK(secs >= 1.5);
  CHECK(secs < 6);
  auto first = Json::parse(stream.substr(0, stream.find('\n')));
  CHECK(first["type"] == "ADDED");
  CHECK(first["object"]["metadata"]["name"] == "b");
  CHECK(stream.find("\"BOOKMARK\"") != std::string::npos);
}

TEST_CASE("a watch from an expired resourceVersion gets a 410 ERROR event", "[server][watch]") {
  minikd::api::Store store(":memory:", 2);
  minikd::api::Api api(store);
  api.create(*minikd::api::findResource("", "namespaces"), "", {{"metadata", {{"name", "default"}}}});
  minikd::api::ServerConfig cfg;
  cfg.port = 0;
  minikd::api::ApiServer server(api, cfg);
  int port = server.bind();
  std::thread t([&] { server.run(); });
  httplib::Client c("127.0.0.1", port);
  for (int i = 0; i < 5; ++i) c.Post(kCms, cmJson("c" + std::to_string(i)), "application/json");
  auto r = c.Get(kCms + "?watch=true&resourceVersion=1");
  server.stop();
  t.join();
  REQUIRE(r);
  Json ev = Json::parse(r->body.substr(0, r->body.find('\n')));
  CHECK(ev["type"] == "ERROR");
  CHECK(ev["object"]["code"] == 410);
}

TEST_CASE("namespace deletion removes what is in it", "[server]") {
  LiveServer s;
  std::jthread ctl;  // the namespace controller lives in minikd/; here the API marks the namespace
  auto c = s.client();
  c.Post("/api/v1/namespaces", R"({"metadata":{"name":"tmp"}})", "application/json");
  c.Post("/api/v1/namespaces/tmp/configmaps", cmJson("a"), "application/json");
  auto del = c.Delete("/api/v1/namespaces/tmp");
  CHECK(del->status == 200);
  Json ns = body(c.Get("/api/v1/namespaces/tmp"));
  CHECK(ns["status"]["phase"] == "Terminating");
  auto refused = c.Post("/api/v1/namespaces/tmp/configmaps", cmJson("b"), "application/json");
  CHECK(refused->status == 403);
}

TEST_CASE("connections beyond max_connections are closed at once, the others keep working", "[server]") {
  minikd::api::Store store(":memory:");
  minikd::api::Api api(store);
  minikd::api::ServerConfig cfg;
  cfg.port = 0;
  cfg.max_connections = 2;
  minikd::api::ApiServer server(api, cfg);
  int port = server.bind();
  std::thread t([&] { server.run(); });
  httplib::Client a("127.0.0.1", port), b("127.0.0.1", port), c("127.0.0.1", port);
  a.set_keep_alive(true);
  b.set_keep_alive(true);
  auto ra = a.Get("/version");  // two kept-alive connections hold both slots
  auto rb = b.Get("/version");
  auto rc = c.Get("/version");
  server.stop();
  t.join();
  REQUIRE(ra);
  REQUIRE(rb);
  CHECK(ra->status == 200);
  CHECK(rb->status == 200);
  CHECK_FALSE(rc);
}

TEST_CASE("a request with Expect: 100-continue gets 100 Continue before it sends its body", "[server]") {
  LiveServer s;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(s.port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string body = cmJson("expect-cm");
  std::string head = "POST " + kCms + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kToken +
                     "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n";
  REQUIRE(::write(fd, head.data(), head.size()) == static_cast<ssize_t>(head.size()));
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 100 Continue", 0) == 0);
  REQUIRE(::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()));
  n = ::read(fd, buf, sizeof buf);
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 201", 0) == 0);
  ::close(fd);
}
