#include "minikd/yaml.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

using minikd::Json;
using minikd::parseYaml;
using minikd::parseYamlDocuments;
using minikd::toYaml;

TEST_CASE("plain scalars are typed by the YAML 1.2 core schema", "[cli][yaml]") {
  Json v = parseYaml("a: 1\nb: true\nc: ~\nd: 1.5\ne: hello\nf: -7\ng: 0x1F\nh: 1e3\ni: yes\nj: 0123\nk:\nl: False\n");
  CHECK(v["a"] == 1);
  CHECK(v["a"].is_number_integer());
  CHECK(v["b"] == true);
  CHECK(v["c"].is_null());
  CHECK(v["d"] == 1.5);
  CHECK(v["e"] == "hello");
  CHECK(v["f"] == -7);
  CHECK(v["g"] == 31);
  CHECK(v["h"].is_number_float());
  CHECK(v["h"] == 1000.0);
  CHECK(v["i"] == "yes");  // YAML 1.1's bool words are strings in 1.2
  CHECK(v["j"] == 123);
  CHECK(v["k"].is_null());
  CHECK(v["l"] == false);
}

TEST_CASE("quoted scalars stay strings", "[cli][yaml]") {
  Json v = parseYaml("a: \"1\"\nb: 'true'\nc: \"null\"\nd: ''\ne: !!str 42\n");
  CHECK(v["a"] == "1");
  CHECK(v["b"] == "true");
  CHECK(v["c"] == "null");
  CHECK(v["d"] == "");
  CHECK(v["e"] == "42");
}

TEST_CASE("multi-document streams skip empty documents", "[cli][yaml]") {
  auto docs = parseYamlDocuments("---\na: 1\n---\n# only a comment\n---\nb: [1, 2]\n...\n");
  REQUIRE(docs.size() == 2);
  CHECK(docs[0]["a"] == 1);
  CHECK(docs[1]["b"] == Json::array({1, 2}));
  CHECK(parseYamlDocuments("  \n").empty());
}

TEST_CASE("JSON documents are read as JSON", "[cli][yaml]") {
  auto docs = parseYamlDocuments(R"({"kind":"ConfigMap","data":{"a":"1","n":12345678901234}})");
  REQUIRE(docs.size() == 1);
  CHECK(docs[0]["data"]["a"] == "1");
  CHECK(docs[0]["data"]["n"] == 12345678901234LL);
}

TEST_CASE("a syntax error names the line", "[cli][yaml]") {
  try {
    parseYaml("a: 1\nb: [1, 2\nc: 3\n");
    FAIL("no error");
  } catch (const minikd::YamlError& e) {
    CHECK(std::string(e.what()).find("line") != std::string::npos);
  }
  CHECK_THROWS_AS(parseYaml("a: 1\n---\nb: 2\n"), minikd::YamlError);
}

TEST_CASE("toYaml prints like kubectl -o yaml", "[cli][yaml]") {
  Json obj = Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}, "creationTimestamp": "2024-05-01T10:00:00Z"},
    "spec": {"containers": [{"name": "main", "command": ["sleep", "3600"], "ports": [{"containerPort": 80}]}],
             "volumes": [], "nodeSelector": {}}
  })");
  std::string expected =
      "apiVersion: v1\n"
      "kind: Pod\n"
      "metadata:\n"
      "  creationTimestamp: \"2024-05-01T10:00:00Z\"\n"
      "  labels:\n"
      "    app: web\n"
      "  name: web\n"
      "spec:\n"
      "  containers:\n"
      "  - command:\n"
      "    - sleep\n"
      "    - \"3600\"\n"
      "    name: main\n"
      "    ports:\n"
      "    - containerPort: 80\n"
      "  nodeSelector: {}\n"
      "  volumes: []\n";
  CHECK(toYaml(obj) == expected);
}

TEST_CASE("tricky strings are quoted and round-trip", "[cli][yaml]") {
  std::vector<std::string> tricky = {"yes", "no", "on", "off", "y", "true", "null", "~", "0123", "1e3", "1.5", "-1",
                                     "0x10", ".inf", "2024-01-01", "", " lead", "trail ", "a: b", "a #b", "- x",
                                     "[x]", "{x}", "*ref", "&anchor", "!tag", "%x", "@x", "`x", "'q'", "\"dq\"",
                                     "---", "key:", "tab\there", "ünïcödé", "12:30", "1_000", "+1", "0o17", "=", "<<"};
  for (const auto& s : tricky) {
    Json obj = {{"v", s}, {s.empty() ? "empty" : s, 1}};
    std::string y = toYaml(obj);
    INFO("string [" << s << "] as\n" << y);
    Json back = parseYaml(y);
    CHECK(back == obj);
    // yaml-cpp itself must read the same string back.
    CHECK(YAML::Load(y)["v"].as<std::string>() == s);
  }
  CHECK(toYaml({{"v", "yes"}}) == "v: \"yes\"\n");
  CHECK(toYaml({{"v", "hello world"}}) == "v: hello world\n");
}

TEST_CASE("multi-line strings become literal blocks that round-trip", "[cli][yaml]") {
  std::vector<std::string> texts = {"line1\nline2", "line1\nline2\n", "a\n\nb\n\n\n", "#!/bin/sh\necho hi\n",
                                    "  indented first\nsecond", "x\n  indented\ny", "trailing \nspaces  \n", "\nleading newline"};
  for (const auto& t : texts) {
    Json obj = {{"data", {{"script", t}}}, {"list", {t}}};
    std::string y = toYaml(obj);
    INFO("text [" << t << "] as\n" << y);
    CHECK(parseYaml(y) == obj);
  }
  CHECK(toYaml({{"s", "a\nb\n"}}) == "s: |\n  a\n  b\n");
  CHECK(toYaml({{"s", "a\nb"}}) == "s: |-\n  a\n  b\n");
}

TEST_CASE("numbers, bools, nulls and nested lists round-trip", "[cli][yaml]") {
  Json obj = Json::parse(R"({"i": 42, "neg": -3, "f": 2.5, "big": 9007199254740993, "t": true, "n": null,
                             "nested": [[1, 2], [], [{"a": {}}]], "empty": {}})");
  CHECK(parseYaml(toYaml(obj)) == obj);
  CHECK(toYaml(Json::array({1, "x"})) == "- 1\n- x\n");
  CHECK(toYaml(Json::object()) == "{}\n");
}
