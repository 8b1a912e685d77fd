#pragma once
// LinuxPodNetwork: the PodNetwork over rtnetlink (libmnl) and named network namespaces, without
// any `ip` subprocess. Also the small OS helpers it is built from (UniqueFd, NetnsGuard, named
// netns creation), public so that tests and the runtime can enter a pod's netns the same way.
#include "net/netlink_socket.h"
#include "net/pod_network.h"
#include "net/sysctl.h"

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace minikd::net {

/// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

/// Opens a netns file (/run/netns/x, /proc/<pid>/ns/net) read-only. Throws OsError naming it.
UniqueFd openNetns(const std::string& path);

/// Switches the calling thread into the netns `target_fd` and back to the thread's original netns
/// in the destructor. If switching back fails the process is aborted: a thread left in a pod's
/// netns would silently act there. Prefer runInNetns, which uses a dedicated thread.
class NetnsGuard {
 public:
  /// Throws OsError (naming `name`) if the switch fails; nothing changed then.
  NetnsGuard(int target_fd, const std::string& name);
  /// Tag for the constructor that enters a brand-new netns.
  struct Fresh {};
  /// Moves the calling thread into a new, empty netns (unshare(CLONE_NEWNET)). Throws OsError.
  NetnsGuard(Fresh, const std::string& name);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  UniqueFd original_;
};

/// Runs `fn` on a fresh thread inside the netns `netns_fd` and returns its result (exceptions are
/// rethrown here). Sockets opened by `fn` stay in that netns after it returns.
template <typename Fn>
auto runInNetns(int netns_fd, const std::string& name, Fn fn) -> decltype(fn()) {
  using Result = decltype(fn());
  std::exception_ptr error;
  std::conditional_t<std::is_void_v<Result>, int, std::optional<Result>> result{};
  std::thread worker([&] {
    try {
      NetnsGuard guard(netns_fd, name);
      if constexpr (std::is_void_v<Result>) {
        fn();
      } else {
        result.emplace(fn());
      }
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
  if constexpr (!std::is_void_v<Result>) return std::move(*result);
}

/// A named network namespace just created or opened, with an rtnetlink socket inside it.
struct NamedNetns {
  UniqueFd fd;
  NetlinkSocket socket;
  bool created = false;  // this call made it
};

/// Makes `dir` (/run/netns) exist and be a shared mount point, as `ip netns add` does.
void ensureNetnsDir(const std::string& dir);
/// Opens the named netns `dir`/`name`, creating it if it does not exist the way `ip netns add`
/// does (unshare(CLONE_NEWNET) on a dedicated thread, bind-mount of that thread's ns/net).
/// Throws OsError naming the netns; on failure nothing is left behind.
NamedNetns ensureNamedNetns(const std::string& dir, const std::string& name);
/// Unmounts and unlinks `dir`/`name`. A missing netns is success. Throws OsError.
void removeNamedNetns(const std::string& dir, const std::string& name);

/// Knobs of LinuxPodNetwork beyond NetworkConfig.
struct LinuxPodNetworkOptions {
  /// Set net.ipv4.ip_forward and bridge netfilter in ensureBridge().
  bool configure_sysctls = true;
  /// Where named netns live; `ip netns` only looks at /run/netns.
  std::string netns_dir = "/run/netns";
  /// One line per tolerated problem ("…, ignoring"); default: stderr with a "minikd: net: " prefix.
  std::function<void(const std::string&)> log;
  /// Sysctl adapter; default: ProcSysctl over /proc/sys.
  std::shared_ptr<Sysctl> sysctl;
};

/// PodNetwork on Linux. Thread-safe: each call uses its own netlink sockets (but calls for the same
/// sandbox id must not overlap — the runtime serializes per pod). Every method must be called from a
/// thread in the host netns (the bridge's netns). Needs CAP_NET_ADMIN and CAP_SYS_ADMIN.
/// ensureSandbox on an existing sandbox with a different ip adds that address without removing the old
/// one: remove the sandbox first to change a pod's address.
class LinuxPodNetwork final : public PodNetwork {
 public:
  /// Validates names (bridge ≤ 15 chars, veth_prefix ≤ 7, gateway an IPv4 address, prefix 1..30):
  /// throws std::invalid_argument. Touches nothing on the host.
  explicit LinuxPodNetwork(NetworkConfig config, LinuxPodNetworkOptions options = {});

  void ensureBridge() override;
  Sandbox ensureSandbox(const std::string& id, const std::string& ip) override;
  void removeSandbox(const std::string& id) override;
  std::vector<std::string> listSandboxes() override;
  void removeAll() override;

  /// The names a sandbox `id` gets (pure; no I/O). Throws std::invalid_argument for a bad id.
  Sandbox sandboxNames(const std::string& id) const;
  const NetworkConfig& config() const { return config_; }

 private:
  void createVeth(NetlinkSocket& host, NamedNetns& ns, const Sandbox& sb, int bridge_index);
  void configurePodSide(NamedNetns& ns, const Sandbox& sb);
  void log(const std::string& line) const;

  NetworkConfig config_;
  LinuxPodNetworkOptions options_;
  std::uint32_t gateway_ = 0;
  std::once_flag netns_dir_once_;
};

/// Host-side veth name of a sandbox: `prefix` + 8 hex digits of a hash of `id` (FNV-1a).
std::string vethName(const std::string& prefix, const std::string& id);

}  // namespace minikd::net
