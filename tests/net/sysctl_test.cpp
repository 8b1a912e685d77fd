#include "net/os_error.h"
#include "net/sysctl.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include <unistd.h>

using namespace minikd::net;

namespace {

/// In-memory sysctls; loading `module` makes the keys in `provides` appear.
struct FakeSysctl : Sysctl {
  std::map<std::string, std::string> values;
  std::map<std::string, std::map<std::string, std::string>> provides;
  std::vector<std::string> loaded, writes;
  bool fail_writes = false;

  std::optional<std::string> read(const std::string& key) override {
    auto it = values.find(key);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
  void write(const std::string& key, const std::string& value) override {
    if (fail_writes) throw OsError(EACCES, "set sysctl " + key + "=" + value);
    writes.push_back(key + "=" + value);
    values[key] = value;
  }
  void loadModule(const std::string& name) override {
    auto it = provides.find(name);
    if (it == provides.end()) throw OsError(ENOENT, "load kernel module " + name);
    loaded.push_back(name);
    values.insert(it->second.begin(), it->second.end());
  }
};

}  // namespace

TEST_CASE("pod network sysctls: forwarding required, bridge netfilter optional", "[net][sysctl]") {
  auto plan = planPodNetworkSysctls();
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].key == "net.ipv4.ip_forward");
  CHECK(plan[0].required);
  CHECK(plan[1].key == "net.bridge.bridge-nf-call-iptables");
  CHECK(plan[1].module == "br_netfilter");
  CHECK_FALSE(plan[1].required);
  CHECK(sysctlPath("/proc/sys", "net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward");
}

TEST_CASE("applySysctls loads the module, writes only what differs", "[net][sysctl]") {
  FakeSysctl fake;
  fake.values["net.ipv4.ip_forward"] = "1";
  fake.provides["br_netfilter"] = {{"net.bridge.bridge-nf-call-iptables", "0"}};
  std::vector<std::string> logs;
  applySysctls(fake, planPodNetworkSysctls(), [&](const std::string& l) { logs.push_back(l); });
  CHECK(fake.loaded == std::vector<std::string>{"br_netfilter"});
  CHECK(fake.writes == std::vector<std::string>{"net.bridge.bridge-nf-call-iptables=1"});
  CHECK(logs.empty());
}

TEST_CASE("applySysctls tolerates a missing br_netfilter, not a missing ip_forward", "[net][sysctl]") {
  FakeSysctl fake;
  fake.values["net.ipv4.ip_forward"] = "0";
  std::vector<std::string> logs;
  applySysctls(fake, planPodNetworkSysctls(), [&](const std::string& l) { logs.push_back(l); });
  CHECK(fake.writes == std::vector<std::string>{"net.ipv4.ip_forward=1"});
  REQUIRE(logs.size() == 2);  // module load failed, then the key is missing
  CHECK_THAT(logs[0], Catch::Contains("br_netfilter") && Catch::EndsWith(", ignoring"));
  CHECK_THAT(logs[1], Catch::Contains("net.bridge.bridge-nf-call-iptables") && Catch::EndsWith(", ignoring"));

  FakeSysctl empty;
  CHECK_THROWS_AS(applySysctls(empty, planPodNetworkSysctls(), nullptr), OsError);
  FakeSysctl readonly;
  readonly.values["net.ipv4.ip_forward"] = "0";
  readonly.fail_writes = true;
  CHECK_THROWS_WITH(applySysctls(readonly, planPodNetworkSysctls(), nullptr), Catch::Contains("net.ipv4.ip_forward"));
}

TEST_CASE("ProcSysctl reads and writes a sysctl tree", "[net][sysctl]") {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("minikd-sysctl-" + std::to_string(::getpid()));
  fs::create_directories(root / "net/ipv4");
  std::ofstream(root / "net/ipv4/ip_forward") << "0\n";
  struct Cleanup {
    fs::path p;
    ~Cleanup() { fs::remove_all(p); }
  } cleanup{root};
  ProcSysctl sysctl(root.string(), (root / "modules").string());
  CHECK(sysctl.read("net.ipv4.ip_forward") == "0");
  sysctl.write("net.ipv4.ip_forward", "1");
  CHECK(sysctl.read("net.ipv4.ip_forward") == "1");
  CHECK_FALSE(sysctl.read("net.bridge.bridge-nf-call-iptables"));
  CHECK_THROWS_AS(sysctl.write("net.nope.x", "1"), OsError);
  CHECK_THROWS_WITH(sysctl.loadModule("br_netfilter"), Catch::Contains("modules.dep"));
}
