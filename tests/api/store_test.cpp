#include "api/store.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

using minikd::api::EventType;
using minikd::api::Filter;
using minikd::api::Json;
using minikd::api::Store;

namespace {

Json cm(const std::string& name, const std::string& value = "v", const std::string& ns = "default") {
  return {{"apiVersion", "v1"}, {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", "web"}}}}},
          {"data", {{"k", value}}}};
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/minikd-store-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

int64_t rvOf(const Json& o) { return std::stoll(o["metadata"]["resourceVersion"].get<std::string>()); }

}  // namespace

TEST_CASE("create sets uid, resourceVersion, creationTimestamp and generation", "[store]") {
  Store s(":memory:");
  Json a = s.create("configmaps", cm("a"));
  CHECK(a["metadata"]["uid"].get<std::string>().size() == 36);
  CHECK(a["metadata"]["generation"] == 1);
  CHECK(!a["metadata"]["creationTimestamp"].get<std::string>().empty());
  CHECK(rvOf(a) == 1);
  CHECK_THROWS_AS(s.create("configmaps", cm("a")), minikd::api::ApiError);
  try {
    s.create("configmaps", cm("a"));
  } catch (const minikd::api::ApiError& e) {
    CHECK(e.code() == 409);
    CHECK(e.reason() == "AlreadyExists");
  }
}

TEST_CASE("resourceVersion only grows, also across reopen and deletes", "[store]") {
  TempDir dir;
  std::string db = dir.path + "/s.db";
  int64_t last = 0;
  {
    Store s(db);
    last = rvOf(s.create("configmaps", cm("a")));
    last = rvOf(s.create("configmaps", cm("b")));
    s.remove("configmaps", "default", "b");
    last = s.resourceVersion();
    CHECK(last == 3);
  }
  Store s(db);
  CHECK(s.resourceVersion() == last);
  CHECK(s.get("configmaps", "default", "a"));
  CHECK(!s.get("configmaps", "default", "b"));
  Json c = s.create("configmaps", cm("c"));
  CHECK(rvOf(c) == last + 1);
}

TEST_CASE("update conflicts on a stale resourceVersion and bumps generation on spec change", "[store]") {
  Store s(":memory:");
  Json a = s.create("configmaps", cm("a"));
  Json stale = a;
  a["data"]["k"] = "v2";
  Json a2 = s.update("configmaps", a);
  CHECK(a2["metadata"]["generation"] == 2);
  CHECK(a2["metadata"]["uid"] == a["metadata"]["uid"]);
  stale["data"]["k"] = "v3";
  try {
    s.update("configmaps", stale);
    FAIL("expected a conflict");
  } catch (const minikd::api::ApiError& e) {
    CHECK(e.code() == 409);
    CHECK(e.reason() == "Conflict");
  }
  Json labels_only = a2;
  labels_only["metadata"]["labels"]["x"] = "y";
  CHECK(s.update("configmaps", labels_only)["metadata"]["generation"] == 2);
}

TEST_CASE("finalizers hold a delete until they are removed", "[store]") {
  Store s(":memory:");
  Json a = cm("a");
  a["metadata"]["finalizers"] = {"example.com/keep"};
  s.create("configmaps", a);
  Json marked = s.remove("configmaps", "default", "a");
  CHECK(marked["metadata"].contains("deletionTimestamp"));
  CHECK(s.get("configmaps", "default", "a"));
  s.modify("configmaps", "default", "a", [](Json& o) {
    o["metadata"]["finalizers"] = Json::array();
    return true;
  });
  CHECK(!s.get("configmaps", "default", "a"));
}

TEST_CASE("watch delivers events in order and replays from a resourceVersion", "[store][watch]") {
  Store s(":memory:");
  Json a = s.create("configmaps", cm("a"));
  int64_t after_a = rvOf(a);
  s.create("configmaps", cm("b"));
  Json a2 = a;
  a2["data"]["k"] = "x";
  s.update("configmaps", a2);
  s.remove("configmaps", "default", "b");
  auto w = s.watch(Filter{"configmaps"}, after_a);
  std::vector<std::pair<EventType, std::string>> got;
  while (auto ev = w->next(std::chrono::milliseconds(10))) got.push_back({ev->type, (*ev->object)["metadata"]["name"]});
  REQUIRE(got.size() == 3);
  CHECK(got[0] == std::make_pair(EventType::Added, std::string("b")));
  CHECK(got[1] == std::make_pair(EventType::Modified, std::string("a")));
  CHECK(got[2] == std::make_pair(EventType::Deleted, std::string("b")));
}

TEST_CASE("a watch older than the kept window answers 410 Expired", "[store][watch]") {
  Store s(":memory:", 3);
  for (int i = 0; i < 6; ++i) s.create("configmaps", cm("c" + std::to_string(i)));
  try {
    s.watch(Filter{"configmaps"}, 1);
    FAIL("expected 410");
  } catch (const minikd::api::ApiError& e) {
    CHECK(e.code() == 410);
    CHECK(e.reason() == "Expired");
  }
  CHECK_NOTHROW(s.watch(Filter{"configmaps"}, 3));
}

TEST_CASE("a label-filtered watch sees objects entering and leaving as ADDED and DELETED", "[store][watch]") {
  Store s(":memory:");
  Json a = s.create("configmaps", cm("a"));
  Filter f{"configmaps"};
  f.labels = minikd::api::LabelSelector::parse("app=web");
  auto w = s.watch(f, rvOf(a));
  a["metadata"]["labels"]["app"] = "other";
  a = s.update("configmaps", a);
  a["metadata"]["labels"]["app"] = "web";
  s.update("configmaps", a);
  auto e1 = w->next(std::chrono::milliseconds(10));
  auto e2 = w->next(std::chrono::milliseconds(10));
  REQUIRE(e1);
  REQUIRE(e2);
  CHECK(e1->type == EventType::Deleted);
  CHECK(e2->type == EventType::Added);
}

TEST_CASE("a slow watcher never blocks writers", "[store][watch]") {
  Store s(":memory:", 100000);
  auto idle = s.watch(Filter{"configmaps"}, 0);  // never read
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 2000; ++i) s.create("configmaps", cm("n" + std::to_string(i)));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  CHECK(ms < 5000);
  int n = 0;
  while (idle->next(std::chrono::milliseconds(1))) ++n;
  CHECK(n == 2000);
}

TEST_CASE("list filters by namespace, labels and fields and pages with continue", "[store]") {
  Store s(":memory:");
  for (int i = 0; i < 5; ++i) s.create("configmaps", cm("a" + std::to_string(i)));
  s.create("configmaps", cm("b", "v", "other"));
  Filter f{"configmaps", "default"};
  CHECK(s.list(f).items.size() == 5);
  Filter all{"configmaps"};
  CHECK(s.list(all).items.size() == 6);
  Filter byname{"configmaps"};
  byname.fields = minikd::api::FieldSelector::parse("metadata.name=b");
  CHECK(s.list(byname).items.size() == 1);
  auto p1 = s.list(f, {2, ""});
  REQUIRE(p1.items.size() == 2);
  CHECK(p1.remaining == 3);
  auto p2 = s.list(f, {2, p1.continue_token});
  REQUIRE(p2.items.size() == 2);
  CHECK((*p2.items[0])["metadata"]["name"] == "a2");
  auto p3 = s.list(f, {2, p2.continue_token});
  CHECK(p3.items.size() == 1);
  CHECK(p3.continue_token.empty());
}

TEST_CASE("every acknowledged write survives a SIGKILL", "[store][crash]") {
  TempDir dir;
  std::string db = dir.path + "/crash.db";
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    Store s(db);
    for (int i = 0;; ++i) {
      s.create("configmaps", cm("w" + std::to_string(i)));
      uint32_t n = static_cast<uint32_t>(i);
      if (write(fds[1], &n, sizeof n) != sizeof n) _exit(1);
    }
  }
  close(fds[1]);
  uint32_t last = 0, n = 0;
  size_t acked = 0;
  while (acked < 3000 && read(fds[0], &n, sizeof n) == sizeof n) {
    last = n;
    ++acked;
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  // Drain what the child acknowledged before it died.
  while (read(fds[0], &n, sizeof n) == sizeof n) last = n;
  close(fds[0]);
  REQUIRE(acked == 3000);
  Store s(db);
  for (uint32_t i = 0; i <= last; ++i) {
    INFO("write " << i);
    REQUIRE(s.get("configmaps", "default", "w" + std::to_string(i)));
  }
}
