#include "minikd/kubeconfig.h"
#include "minikd/yaml.h"

#include <catch2/catch.hpp>

#include <map>
#include <set>

using namespace minikd;

namespace {

const char* kMinikdConfig = R"(apiVersion: v1
kind: Config
clusters:
- name: minikd
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    extensions:
    - name: minikd.dev
      extension:
        dashboardURL: http://127.0.0.1:8001/?token=abc
users:
- name: minikd-admin
  user:
    token: s3cret
contexts:
- name: minikd
  context:
    cluster: minikd
    user: minikd-admin
    namespace: shop
current-context: minikd
)";

}  // namespace

TEST_CASE("resolveAccess reads server, CA, token, namespace and dashboard", "[cli][kubeconfig]") {
  Json cfg = parseKubeconfig(kMinikdConfig, "test");
  ClusterAccess a = resolveAccess(cfg, "", false, "test");
  CHECK(a.server == "https://127.0.0.1:6443");
  CHECK(a.ca_pem == "-----BEGIN CERTIFICATE-----\n");
  CHECK(a.token == "s3cret");
  CHECK(a.ns == "shop");
  CHECK(a.context == "minikd");
  CHECK(a.dashboard_url == "http://127.0.0.1:8001/?token=abc");
}

TEST_CASE("resolveAccess names what is missing", "[cli][kubeconfig]") {
  Json cfg = parseKubeconfig(kMinikdConfig, "test");
  CHECK_THROWS_WITH(resolveAccess(cfg, "nope", false, "f"), Catch::Contains("context \"nope\" not found"));
  Json no_current = cfg;
  no_current.erase("current-context");
  CHECK_THROWS_WITH(resolveAccess(no_current, "", false, "f"), Catch::Contains("no current-context"));
  Json no_cluster = cfg;
  no_cluster["clusters"] = Json::array();
  CHECK_THROWS_WITH(resolveAccess(no_cluster), Catch::Contains("cluster \"minikd\""));
  CHECK_THROWS_AS(parseKubeconfig("- a\n- b\n", "x"), KubeconfigError);
}

TEST_CASE("mergeKubeconfig adds minikd and keeps other clusters", "[cli][kubeconfig]") {
  Json base = parseYaml(R"(apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://prod:6443"}
- name: minikd
  cluster: {server: "https://old:1"}
users:
- name: prod-user
  user: {token: p}
contexts:
- name: prod
  context: {cluster: prod, user: prod-user}
current-context: prod
)");
  Json add = parseKubeconfig(kMinikdConfig, "add");
  Json merged = mergeKubeconfig(base, add, "minikd");
  CHECK(merged["current-context"] == "minikd");
  CHECK(merged["clusters"].size() == 2);
  CHECK(merged["users"].size() == 2);
  CHECK(merged["contexts"].size() == 2);
  ClusterAccess a = resolveAccess(merged, "minikd");
  CHECK(a.server == "https://127.0.0.1:6443");
  CHECK(a.token == "s3cret");
  CHECK(a.ns == "shop");
  ClusterAccess p = resolveAccess(merged, "prod");
  CHECK(p.server == "https://prod:6443");
  CHECK(p.token == "p");
  // Merging again replaces, never duplicates; a new file works too.
  Json twice = mergeKubeconfig(merged, add, "minikd");
  CHECK(twice["clusters"].size() == 2);
  Json fresh = mergeKubeconfig(nullptr, add, "minikd");
  CHECK(resolveAccess(parseYaml(toYaml(fresh))).token == "s3cret");
}

TEST_CASE("chooseKubeconfigPath follows $KUBECONFIG, the state dir, then ~/.kube/config", "[cli][kubeconfig]") {
  std::map<std::string, std::string> env;
  std::set<std::string> files;
  auto getenv = [&](const char* n) -> std::optional<std::string> {
    auto it = env.find(n);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto readable = [&](const std::string& p) { return files.count(p) > 0; };
  env["HOME"] = "/home/u";
  CHECK(chooseKubeconfigPath(getenv, readable) == "/home/u/.kube/config");
  files.insert("/var/lib/minikd/kubeconfig");
  CHECK(chooseKubeconfigPath(getenv, readable) == "/var/lib/minikd/kubeconfig");
  env["KUBECONFIG"] = "/a:/b";
  CHECK(chooseKubeconfigPath(getenv, readable) == "/a");
  files.insert("/b");
  CHECK(chooseKubeconfigPath(getenv, readable) == "/b");
}

TEST_CASE("base64 round-trips", "[cli][kubeconfig]") {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "hello world\n"}) CHECK(base64Decode(base64Encode(s)) == s);
  CHECK(base64Encode("abc") == "YWJj");
  CHECK(base64Decode("YW\nJj") == "abc");
  CHECK_THROWS_AS(base64Decode("a*b"), KubeconfigError);
}
