#include "net/sysctl.h"

#include "net/os_error.h"

#include <algorithm>
#include <cerrno>

namespace minikd::net {

std::vector<SysctlSetting> planPodNetworkSysctls() {
  return {
      {"net.ipv4.ip_forward", "1", true, ""},
      {"net.bridge.bridge-nf-call-iptables", "1", false, "br_netfilter"},
  };
}

std::string sysctlPath(const std::string& root, const std::string& key) {
  std::string rel = key;
  std::replace(rel.begin(), rel.end(), '.', '/');
  return root + "/" + rel;
}

namespace {

void applyOne(Sysctl& sysctl, const SysctlSetting& s, const std::function<void(const std::string&)>& log) {
  auto current = sysctl.read(s.key);
  if (!current && !s.module.empty()) {
    try {
      sysctl.loadModule(s.module);
    } catch (const OsError& e) {
      if (s.required) throw;
      if (log) log(std::string(e.what()) + ", ignoring");
    }
    current = sysctl.read(s.key);
  }
  if (!current) {
    if (s.required) throw OsError(ENOENT, "set sysctl " + s.key + "=" + s.value + ": no such key");
    if (log) log("set sysctl " + s.key + "=" + s.value + ": no such key, ignoring");
    return;
  }
  if (*current == s.value) return;
  try {
    sysctl.write(s.key, s.value);
  } catch (const OsError& e) {
    if (s.required) throw;
    if (log) log(std::string(e.what()) + ", ignoring");
  }
}

}  // namespace

void applySysctls(Sysctl& sysctl, const std::vector<SysctlSetting>& settings,
                  const std::function<void(const std::string&)>& log) {
  for (const auto& s : settings) applyOne(sysctl, s, log);
}

}  // namespace minikd::net
