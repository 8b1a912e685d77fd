#include "minikd/cli.h"
#include "minikd/cli_apply.h"
#include "minikd/cli_args.h"
#include "minikd/cli_common.h"
#include "minikd/client.h"

#include <catch2/catch.hpp>

using namespace minikd;

namespace {

std::vector<FlagSpec> getFlags() {
  return {{"output", 'o', true, ""},     {"selector", 'l', true, ""}, {"all-namespaces", 'A', false, ""},
          {"watch", 'w', false, ""},     {"namespace", 'n', true, ""}, {"wait", 0, false, ""},
          {"filename", 'f', true, ""}};
}

}  // namespace

TEST_CASE("flags in every kubectl spelling", "[cli][args]") {
  auto a = parseArgs({"pods", "-n", "kube-system", "-oyaml", "--selector=app=web", "-Aw", "x", "--wait=false", "-f", "a.yaml", "-f=b.yaml"},
                     getFlags());
  CHECK(a.positional == std::vector<std::string>{"pods", "x"});
  CHECK(a.get("namespace") == "kube-system");
  CHECK(a.get("output") == "yaml");
  CHECK(a.get("selector") == "app=web");
  CHECK(a.flag("all-namespaces"));
  CHECK(a.flag("watch"));
  CHECK(a.has("wait"));
  CHECK_FALSE(a.flag("wait"));
  CHECK(a.getAll("filename") == std::vector<std::string>{"a.yaml", "b.yaml"});
  auto b = parseArgs({"-o", "jsonpath={.items[*].metadata.name}", "--", "sh", "-c", "x"}, getFlags());
  CHECK(b.get("output") == "jsonpath={.items[*].metadata.name}");
  CHECK(b.after_dashes == std::vector<std::string>{"sh", "-c", "x"});
  auto c = parseArgs({"-", "-nfoo"}, getFlags());
  CHECK(c.positional == std::vector<std::string>{"-"});
  CHECK(c.get("namespace") == "foo");
}

TEST_CASE("unknown flags and missing values are usage errors", "[cli][args]") {
  CHECK_THROWS_WITH(parseArgs({"--bogus"}, getFlags()), "error: unknown flag: --bogus");
  CHECK_THROWS_WITH(parseArgs({"-n"}, getFlags()), Catch::Contains("flag needs an argument"));
  CHECK_THROWS_WITH(parseArgs({"-Z"}, getFlags()), Catch::Contains("unknown shorthand flag: 'Z'"));
  auto a = parseArgs({"--namespace", "x", "--output=json"}, getFlags());
  a.set("replicas", "3x");
  CHECK_THROWS_AS(a.getInt("replicas"), UsageError);
}

TEST_CASE("durations", "[cli][args]") {
  CHECK(parseDurationSeconds("30s") == 30);
  CHECK(parseDurationSeconds("5m") == 300);
  CHECK(parseDurationSeconds("1h30m") == 5400);
  CHECK(parseDurationSeconds("500ms") == 0.5);
  CHECK(parseDurationSeconds("10") == 10);
  CHECK_THROWS_AS(parseDurationSeconds("5x"), UsageError);
  CHECK_THROWS_AS(parseDurationSeconds(""), UsageError);
}

TEST_CASE("resource arguments: types, names, TYPE/NAME, comma lists, all", "[cli][args]") {
  using cli::parseTargets;
  auto t = parseTargets({"po", "a", "b"});
  REQUIRE(t.size() == 1);
  CHECK(t[0].r->plural == "pods");
  CHECK(t[0].names == std::vector<std::string>{"a", "b"});
  t = parseTargets({"svc,deploy"});
  REQUIRE(t.size() == 2);
  CHECK(t[1].r->key() == "deployments.apps");
  t = parseTargets({"pod/a", "deployment.apps/web", "po/b"});
  REQUIRE(t.size() == 2);
  CHECK(t[0].names == std::vector<std::string>{"a", "b"});
  CHECK(t[1].names == std::vector<std::string>{"web"});
  t = parseTargets({"all"});
  CHECK(t.size() == 4);
  CHECK_THROWS_WITH(parseTargets({"bogus"}), "error: the server doesn't have a resource type \"bogus\"");
  CHECK_THROWS_AS(parseTargets({"pods,svc", "x"}), UsageError);
  CHECK_THROWS_AS(parseTargets({"pod/a", "b"}), UsageError);
}

TEST_CASE("paths and queries", "[cli][args]") {
  const auto& pods = *api::findResourceByName("pods");
  const auto& ns = *api::findResourceByName("ns");
  const auto& deploy = *api::findResourceByName("deploy");
  CHECK(cli::collectionPath(pods, "shop") == "/api/v1/namespaces/shop/pods");
  CHECK(cli::collectionPath(pods, "") == "/api/v1/pods");
  CHECK(cli::objectPath(ns, "ignored", "kube-system") == "/api/v1/namespaces/kube-system");
  CHECK(cli::objectPath(deploy, "default", "web") == "/apis/apps/v1/namespaces/default/deployments/web");
  CHECK(cli::withQuery("/p", "labelSelector", "app=web,tier in (a,b)") == "/p?labelSelector=app%3Dweb%2Ctier%20in%20%28a%2Cb%29");
  CHECK(cli::withQuery("/p?x=1", "y", "2") == "/p?x=1&y=2");
}

TEST_CASE("three-way merge patch for client-side apply", "[cli][apply]") {
  Json last = Json::parse(R"({"metadata":{"name":"c","labels":{"a":"1","gone":"x"}},"data":{"k":"v","old":"o"}})");
  Json modified = Json::parse(R"({"metadata":{"name":"c","labels":{"a":"2"}},"data":{"k":"v","new":"n"}})");
  Json live = Json::parse(R"({"metadata":{"name":"c","uid":"u","labels":{"a":"1","gone":"x","other":"kept"}},
                              "data":{"k":"v","old":"o","theirs":"t"}})");
  Json patch = cli::threeWayMergePatch(last, modified, live);
  CHECK(patch == Json::parse(R"({"metadata":{"labels":{"a":"2","gone":null}},"data":{"new":"n","old":null}})"));
  // Nothing changed: an empty patch, even though the server added defaults to a list.
  Json pod_m = Json::parse(R"({"spec":{"containers":[{"name":"m","command":["sleep"]}]}})");
  Json pod_live = Json::parse(R"({"spec":{"containers":[{"name":"m","command":["sleep"],"imagePullPolicy":"Always"}],"restartPolicy":"Always"}})");
  CHECK(cli::threeWayMergePatch(pod_m, pod_m, pod_live).empty());
  Json pod_m2 = Json::parse(R"({"spec":{"containers":[{"name":"m","command":["sleep","1"]}]}})");
  CHECK(cli::threeWayMergePatch(pod_m, pod_m2, pod_live) == Json::parse(R"({"spec":{"containers":[{"name":"m","command":["sleep","1"]}]}})"));
  CHECK(cli::stripNulls(Json::parse(R"({"a":null,"b":{"c":null,"d":1},"e":[null]})")) == Json::parse(R"({"b":{"d":1},"e":[null]})"));
}

TEST_CASE("server errors use kubectl's wording", "[cli][client]") {
  auto e = makeServerError(404, R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"pods \"x\" not found","reason":"NotFound","code":404})");
  CHECK(std::string(e.what()) == "Error from server (NotFound): pods \"x\" not found");
  CHECK(e.code() == 404);
  auto inv = makeServerError(422, R"({"kind":"Status","status":"Failure","message":"The ConfigMap \"c\" is invalid: data: bad","reason":"Invalid","code":422})");
  CHECK(std::string(inv.what()) == "The ConfigMap \"c\" is invalid: data: bad");
  CHECK(std::string(makeServerError(401, "").what()) == "error: You must be logged in to the server (Unauthorized)");
  CHECK(std::string(makeServerError(503, "overloaded\n").what()) == "Error from server (ServiceUnavailable): overloaded");
}

TEST_CASE("watch streams split into JSON values across chunks", "[cli][client]") {
  JsonStreamSplitter s;
  std::vector<Json> got;
  auto on = [&](Json v) { got.push_back(std::move(v)); };
  s.feed(R"({"type":"ADDED","object":{"a":"}{\"x"}})", on);
  s.feed("\n{\"type\":\"MOD", on);
  CHECK(got.size() == 1);
  s.feed("IFIED\",\"object\":{}}\n{\"type\":\"DELETED\",\"object\":[1,2]}", on);
  REQUIRE(got.size() == 3);
  CHECK(got[0]["object"]["a"] == "}{\"x");
  CHECK(got[1]["type"] == "MODIFIED");
  CHECK(got[2]["object"] == Json::array({1, 2}));
}

TEST_CASE("runCli reports usage errors and an unreachable server in one line", "[cli][args]") {
  std::vector<std::string> words = {"frobnicate"};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  CHECK(runCli(static_cast<int>(argv.size()), argv.data()) == 1);
  CHECK(isCliVerb("get"));
  CHECK_FALSE(isCliVerb("up"));
  ClusterAccess a;
  a.server = "https://127.0.0.1:1";
  a.source = "test";
  ApiClient client(a);
  CHECK_THROWS_WITH(client.get("/version"),
                    Catch::StartsWith("minikd is not running (no answer at https://127.0.0.1:1): start it with `sudo minikd up`"));
}
