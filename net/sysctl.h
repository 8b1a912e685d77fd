#pragma once
// Kernel settings the pod network needs, planned as data and applied through a small interface
// (ProcSysctl writes /proc/sys; tests use a fake).
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace minikd::net {

/// One sysctl to set. A missing optional key is logged "…, ignoring"; a missing required key throws.
struct SysctlSetting {
  std::string key;     // dotted, e.g. "net.ipv4.ip_forward"
  std::string value;   // e.g. "1"
  bool required = true;
  std::string module;  // kernel module that provides the key, loaded if the key is missing ("" none)
};

/// What the pod network needs: IPv4 forwarding (required) and bridge netfilter so that bridged pod
/// traffic passes the nftables service rules (optional: br_netfilter may not exist).
std::vector<SysctlSetting> planPodNetworkSysctls();
/// "/proc/sys" + "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward".
std::string sysctlPath(const std::string& root, const std::string& key);

/// The OS side of sysctls and module loading.
class Sysctl {
 public:
  virtual ~Sysctl() = default;
  /// The current value without the trailing newline; std::nullopt if the key does not exist.
  virtual std::optional<std::string> read(const std::string& key) = 0;
  /// Writes the value. Throws OsError naming the key.
  virtual void write(const std::string& key, const std::string& value) = 0;
  /// Loads a kernel module (and what it depends on) if it is not loaded. Throws OsError naming it.
  virtual void loadModule(const std::string& name) = 0;
};

/// Sysctl over /proc/sys; modules are loaded with finit_module(2) from /lib/modules/<release>
/// following modules.dep (there may be no modprobe on the machine).
class ProcSysctl : public Sysctl {
 public:
  /// `root` is the sysctl tree ("/proc/sys"); `modules_dir` defaults to /lib/modules/<uname -r>.
  explicit ProcSysctl(std::string root = "/proc/sys", std::string modules_dir = "");
  std::optional<std::string> read(const std::string& key) override;
  void write(const std::string& key, const std::string& value) override;
  void loadModule(const std::string& name) override;

 private:
  std::string root_;
  std::string modules_dir_;
};

/// Applies `settings` in order: loads a setting's module if its key is missing; skips the write if
/// the value is already right. Failures of optional settings are logged ("…, ignoring"); failures of
/// required ones throw OsError.
void applySysctls(Sysctl& sysctl, const std::vector<SysctlSetting>& settings,
                  const std::function<void(const std::string&)>& log);

}  // namespace minikd::net
