// The manifests under examples/ are valid for the Api (strict field validation), and their pods run
// `minikd tool` from /usr/local/bin/minikd, where `make up` installs it.
#include "minikd/yaml.h"

#include "api/api.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

using minikd::api::Json;
namespace fs = std::filesystem;

namespace {

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
    for (const Json& obj : minikd::parseYamlDocuments(text.str())) {
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
