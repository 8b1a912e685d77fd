// The manifests under examples/ are valid for the Api (strict field validation), and their pods run
// `minikd tool` from /usr/local/bin/minikd, where `make up` installs it.
#include "api/api.h"

#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using minikd::api::Json;
namespace fs = std::filesystem;

namespace {

/// YAML → JSON for manifests: plain scalars that read as integers or booleans become those.
Json toJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json out = Json::object();
      for (const auto& kv : n) out[kv.first.as<std::string>()] = toJson(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      Json out = Json::array();
      for (const auto& item : n) out.push_back(toJson(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& v = n.Scalar();
      if (n.Tag() == "!") return v;  // quoted
      if (v == "true" || v == "false") return v == "true";
      if (!v.empty() && v.find_first_not_of("-0123456789") == std::string::npos) return std::stoll(v);
      return v;
    }
    default:
      return nullptr;
  }
}

std::vector<Json> parseYamlDocuments(const std::string& text) {
  std::vector<Json> out;
  for (const auto& doc : YAML::LoadAll(text))
    if (doc.IsDefined() && !doc.IsNull()) out.push_back(toJson(doc));
  return out;
}

fs::path examplesDir() { return fs::path(__FILE__).parent_path().parent_path().parent_path() / "examples"; }

const Json* podSpecOf(const Json& obj) {
  if (obj.value("kind", "") == "Pod") return &obj["spec"];
  if (obj.contains("spec") && obj["spec"].contains("template")) return &obj["spec"]["template"]["spec"];
  return nullptr;
}

}  // namespace

TEST_CASE("examples: every manifest is accepted by the Api and runs minikd tools", "[tools]") {
  minikd::api::Store store(":memory:");
  minikd::api::Api api(store);
  api.create(*minikd::api::findResourceByKey("namespaces"), "", {{"metadata", {{"name", "default"}}}});
  const std::set<std::string> tools = {"http", "echo", "client", "dns", "pause"};
  int objects = 0;
  for (const auto& entry : fs::recursive_directory_iterator(examplesDir())) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    for (const Json& obj : parseYamlDocuments(text.str())) {
      INFO(entry.path().string() << ": " << obj.value("kind", "") << " " << obj["metadata"].value("name", ""));
      const auto* r = minikd::api::findResourceByKind(obj.value("apiVersion", ""), obj.value("kind", ""));
      REQUIRE(r);
      std::vector<std::string> warnings;
      minikd::api::WriteOptions w;
      w.field_validation = "Strict";
      w.warnings = &warnings;
      CHECK_NOTHROW(api.create(*r, "default", obj, w));
      CHECK(warnings.empty());
      ++objects;
      const Json* spec = podSpecOf(obj);
      if (!spec) continue;
      for (const auto& c : (*spec)["containers"]) {
        auto cmd = c["command"];
        if (cmd[0] == "/bin/sh") continue;
        CHECK(cmd[0] == "/usr/local/bin/minikd");
        CHECK(cmd[1] == "tool");
        CHECK(tools.count(cmd[2].get<std::string>()) == 1);
      }
    }
  }
  CHECK(objects >= 12);
}
