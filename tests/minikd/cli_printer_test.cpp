#include "minikd/printer.h"
#include "minikd/printer_jsonpath.h"

#include <catch2/catch.hpp>

using namespace minikd;

namespace {

Json podTable() {
  return Json::parse(R"({
    "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "9"},
    "columnDefinitions": [
      {"name": "Name", "type": "string", "format": "name", "priority": 0, "description": ""},
      {"name": "Ready", "type": "string", "format": "", "priority": 0, "description": ""},
      {"name": "Status", "type": "string", "format": "", "priority": 0, "description": ""},
      {"name": "Restarts", "type": "string", "format": "", "priority": 0, "description": ""},
      {"name": "Age", "type": "string", "format": "", "priority": 0, "description": ""},
      {"name": "IP", "type": "string", "format": "", "priority": 1, "description": ""}],
    "rows": [
      {"cells": ["web-7d9c", "1/1", "Running", 0, "5s", "10.244.0.7"],
       "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                  "metadata": {"name": "web-7d9c", "namespace": "shop", "labels": {"app": "web", "tier": "fe"}}}},
      {"cells": ["db", "0/1", "CrashLoopBackOff", 12, "3m2s", null],
       "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                  "metadata": {"name": "db", "namespace": "default"}}}]
  })");
}

std::string render(const TableOptions& o) {
  Json t = podTable();
  TextTable out;
  addTableRows(out, t["columnDefinitions"], t["rows"], o, true);
  return out.render();
}

}  // namespace

TEST_CASE("tables align like kubectl: upper-case headers, 3 spaces, no trailing blanks", "[cli][printer]") {
  CHECK(render({}) ==
        "NAME       READY   STATUS             RESTARTS   AGE\n"
        "web-7d9c   1/1     Running            0          5s\n"
        "db         0/1     CrashLoopBackOff   12         3m2s\n");
}

TEST_CASE("-o wide adds priority columns, -A adds NAMESPACE first, --show-labels adds LABELS", "[cli][printer]") {
  TableOptions o;
  o.wide = true;
  o.with_namespace = true;
  o.show_labels = true;
  CHECK(render(o) ==
        "NAMESPACE   NAME       READY   STATUS             RESTARTS   AGE    IP           LABELS\n"
        "shop        web-7d9c   1/1     Running            0          5s     10.244.0.7   app=web,tier=fe\n"
        "default     db         0/1     CrashLoopBackOff   12         3m2s   <none>       <none>\n");
}

TEST_CASE("name prefix, no headers, and colour that does not break alignment", "[cli][printer]") {
  TableOptions o;
  o.no_headers = true;
  o.name_prefix = "pod/";
  CHECK(render(o) ==
        "pod/web-7d9c   1/1   Running            0    5s\n"
        "pod/db         0/1   CrashLoopBackOff   12   3m2s\n");
  o.color = true;
  std::string coloured = render(o);
  CHECK(coloured.find("\033[32mRunning\033[0m            0") != std::string::npos);
  CHECK(coloured.find("\033[31mCrashLoopBackOff\033[0m   12") != std::string::npos);
}

TEST_CASE("TextTable keeps a watch stream aligned with minimum widths", "[cli][printer]") {
  TextTable t;
  t.addRow({"a", "b"});
  CHECK(t.render({5, 1}) == "a       b\n");
  CHECK(t.widths() == std::vector<size_t>{1, 1});
}

TEST_CASE("humanDuration matches kubectl's table", "[cli][printer]") {
  using std::chrono::seconds;
  CHECK(humanDuration(seconds(-5)) == "<invalid>");
  CHECK(humanDuration(seconds(-1)) == "0s");
  CHECK(humanDuration(seconds(45)) == "45s");
  CHECK(humanDuration(seconds(119)) == "119s");
  CHECK(humanDuration(seconds(120)) == "2m");
  CHECK(humanDuration(seconds(182)) == "3m2s");
  CHECK(humanDuration(seconds(600)) == "10m");
  CHECK(humanDuration(seconds(179 * 60)) == "179m");
  CHECK(humanDuration(seconds(5 * 3600 + 30 * 60)) == "5h30m");
  CHECK(humanDuration(seconds(5 * 3600)) == "5h");
  CHECK(humanDuration(seconds(47 * 3600)) == "47h");
  CHECK(humanDuration(seconds(51 * 3600)) == "2d3h");
  CHECK(humanDuration(seconds(48 * 3600)) == "2d");
  CHECK(humanDuration(seconds(8 * 86400)) == "8d");
  CHECK(humanDuration(seconds(731 * 86400)) == "2y1d");
  CHECK(humanDuration(seconds(6 * 365 * 86400)) == "6y");
  CHECK(humanDuration(seconds(9 * 365 * 86400)) == "9y");
}

TEST_CASE("RFC 3339 timestamps and ages", "[cli][printer]") {
  CHECK(parseRfc3339("1970-01-01T00:01:00Z") == 60);
  CHECK(parseRfc3339("2024-05-01T10:00:00.123456Z") == parseRfc3339("2024-05-01T10:00:00Z"));
  CHECK(parseRfc3339("2024-05-01T12:00:00+02:00") == parseRfc3339("2024-05-01T10:00:00Z"));
  CHECK(parseRfc3339("garbage") == -1);
  auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(parseRfc3339("2024-05-01T10:00:00Z")));
  CHECK(ageOf("2024-05-01T09:59:15Z", t0) == "45s");
  CHECK(ageOf("", t0) == "<unknown>");
}

TEST_CASE("qualified names and lists", "[cli][printer]") {
  CHECK(qualifiedName(*api::findResourceByName("po"), "x") == "pod/x");
  CHECK(qualifiedName(*api::findResourceByName("deploy"), "web") == "deployment.apps/web");
  Json l = asList({Json{{"a", 1}}});
  CHECK(l["kind"] == "List");
  CHECK(l["items"].size() == 1);
  Json t = tableFromObjects({Json::parse(R"({"metadata":{"name":"x","creationTimestamp":"2000-01-01T00:00:00Z"}})")});
  CHECK(t["rows"][0]["cells"][0] == "x");
  CHECK(t["rows"][0]["object"]["kind"] == "PartialObjectMetadata");
}

TEST_CASE("jsonpath: fields, wildcards, indexes, range, filters, literals", "[cli][jsonpath]") {
  Json list = Json::parse(R"({"kind":"List","items":[
    {"metadata":{"name":"a","labels":{"app.kubernetes.io/name":"shop"}},"status":{"phase":"Running",
     "conditions":[{"type":"Ready","status":"True"},{"type":"Initialized","status":"True"}]},"spec":{"replicas":3}},
    {"metadata":{"name":"b"},"status":{"phase":"Pending","conditions":[{"type":"Ready","status":"False"}]},"spec":{"replicas":1}}]})");
  CHECK(renderJsonPath("{.items[*].metadata.name}", list) == "a b");
  CHECK(renderJsonPath("{.items[0].metadata.name}", list) == "a");
  CHECK(renderJsonPath("{.items[-1].metadata.name}", list) == "b");
  CHECK(renderJsonPath("{.items[0:1].metadata.name}", list) == "a");
  CHECK(renderJsonPath("{range .items[*]}{.metadata.name}{\"\\t\"}{.status.phase}{\"\\n\"}{end}", list) == "a\tRunning\nb\tPending\n");
  CHECK(renderJsonPath("{.items[?(@.status.phase==\"Pending\")].metadata.name}", list) == "b");
  CHECK(renderJsonPath("{.items[0].status.conditions[?(@.type=='Ready')].status}", list) == "True");
  CHECK(renderJsonPath("{.items[?(@.spec.replicas>2)].metadata.name}", list) == "a");
  CHECK(renderJsonPath("{.items[?(@.metadata.labels)].metadata.name}", list) == "a");
  CHECK(renderJsonPath("{.items[0].metadata.labels.app\\.kubernetes\\.io/name}", list) == "shop");
  CHECK(renderJsonPath("{.items[0].metadata.labels['app.kubernetes.io/name']}", list) == "shop");
  CHECK(renderJsonPath("{..phase}", list) == "Running Pending");
  CHECK(renderJsonPath("name={.items[1].metadata.name} n={.items[0].spec.replicas}", list) == "name=b n=3");
  CHECK(renderJsonPath("{.items[1].metadata}", list) == "{\"name\":\"b\"}");
  CHECK(renderJsonPath("{.missing.field}", list) == "");
  CHECK(renderJsonPath("{.kind}", list) == "List");
  CHECK(renderJsonPath("{$.kind}", list) == "List");
  CHECK_THROWS_AS(renderJsonPath("{.items[*]", list), JsonPathError);
  CHECK_THROWS_AS(renderJsonPath("{range .items[*]}{.x}", list), JsonPathError);
  CHECK_THROWS_AS(renderJsonPath("{end}", list), JsonPathError);
}
