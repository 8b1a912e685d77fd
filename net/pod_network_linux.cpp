#include "net/pod_network_linux.h"

#include "net/cidr.h"
#include "net/os_error.h"

#include <cstdio>
#include <iostream>
#include <stdexcept>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

namespace minikd::net {

namespace {

constexpr std::size_t kMaxIfName = 15;  // IFNAMSIZ - 1
constexpr const char* kPodIfName = "eth0";

std::string inQuotes(const std::string& s) { return "\"" + s + "\""; }

/// True if `path` is a mounted network namespace (an nsfs bind mount), not a left-over empty file.
bool isNetnsMount(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<unsigned long>(fs.f_type) == NSFS_MAGIC;
}

/// Runs on a dedicated thread: a new netns bind-mounted on `path`, and a netlink socket inside it.
NetlinkSocket createNetnsOnThisThread(const std::string& path, const std::string& name) {
  // Switches back however we leave (the thread ends right after, but be exact anyway).
  NetnsGuard inside(NetnsGuard::Fresh{}, name);
  if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
    throwErrno("create netns " + inQuotes(name) + ": bind-mount onto " + path);
  }
  return NetlinkSocket(name);
}

/// Deletes the veth `name` if there is one; a link of another kind with that name is not ours.
void deleteVeth(NetlinkSocket& host, const std::string& name) {
  auto link = host.getLink(name);
  if (link && link->kind == "veth") host.run(planDeleteLink(name).tolerating({ENODEV}));
}

}  // namespace

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

UniqueFd openNetns(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throwErrno("open netns " + path);
  return UniqueFd(fd);
}

NetnsGuard::NetnsGuard(int target_fd, const std::string& name) : original_(openNetns("/proc/thread-self/ns/net")) {
  if (::setns(target_fd, CLONE_NEWNET) != 0) throwErrno("enter netns " + inQuotes(name));
}

NetnsGuard::NetnsGuard(Fresh, const std::string& name) : original_(openNetns("/proc/thread-self/ns/net")) {
  if (::unshare(CLONE_NEWNET) != 0) throwErrno("create netns " + inQuotes(name) + ": unshare");
}

NetnsGuard::~NetnsGuard() {
  if (::setns(original_.get(), CLONE_NEWNET) != 0) {
    std::perror("minikd: net: cannot switch a thread back to its network namespace");
    std::abort();
  }
}

void ensureNetnsDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throwErrno("create netns directory " + dir);
  // As iproute2: make the directory a shared mount point so that netns mounts propagate to mount
  // namespaces created later (e.g. a pod's, for resolv.conf).
  bool made_mount_point = false;
  while (::mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || made_mount_point) throwErrno("make " + dir + " a shared mount");
    if (::mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
      throwErrno("bind-mount " + dir + " onto itself");
    }
    made_mount_point = true;
  }
}

NamedNetns ensureNamedNetns(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  if (isNetnsMount(path)) {
    UniqueFd fd = openNetns(path);
    NetlinkSocket socket = runInNetns(fd.get(), name, [&] { return NetlinkSocket(name); });
    return NamedNetns{std::move(fd), std::move(socket), false};
  }
  // A plain file here is what a crash between create and mount leaves: replace it.
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throwErrno("remove stale netns file " + path);
  int created = ::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (created < 0) throwErrno("create netns " + inQuotes(name) + ": mount point " + path);
  ::close(created);
  try {
    // unshare() on a thread of its own: the caller's thread never leaves its netns.
    std::optional<NetlinkSocket> socket;
    std::exception_ptr error;
    std::thread worker([&] {
      try {
        socket.emplace(createNetnsOnThisThread(path, name));
      } catch (...) {
        error = std::current_exception();
      }
    });
    worker.join();
    if (error) std::rethrow_exception(error);
    return NamedNetns{openNetns(path), std::move(*socket), true};
  } catch (...) {
    ::umount2(path.c_str(), MNT_DETACH);
    ::unlink(path.c_str());
    throw;
  }
}

void removeNamedNetns(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  // EINVAL: not a mount point (a stale file); ENOENT: already gone.
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    throwErrno("remove netns " + inQuotes(name) + ": unmount " + path);
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throwErrno("remove netns " + inQuotes(name) + ": unlink " + path);
}

std::string vethName(const std::string& prefix, const std::string& id) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return prefix + hex;
}

LinuxPodNetwork::LinuxPodNetwork(NetworkConfig config, LinuxPodNetworkOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
  if (config_.bridge.empty() || config_.bridge.size() > kMaxIfName || config_.bridge.find('/') != std::string::npos) {
    throw std::invalid_argument("bridge name " + inQuotes(config_.bridge) + " must be 1..15 characters without '/'");
  }
  if (config_.veth_prefix.empty() || config_.veth_prefix.size() > kMaxIfName - 8) {
    throw std::invalid_argument("veth prefix " + inQuotes(config_.veth_prefix) + " must be 1..7 characters");
  }
  if (config_.netns_prefix.empty() || config_.netns_prefix.find('/') != std::string::npos) {
    throw std::invalid_argument("netns prefix " + inQuotes(config_.netns_prefix) + " must be non-empty without '/'");
  }
  auto gw = parseIpv4(config_.gateway);
  if (!gw) throw std::invalid_argument("gateway " + inQuotes(config_.gateway) + " is not an IPv4 address");
  if (config_.prefix_len < 1 || config_.prefix_len > 30) {
    throw std::invalid_argument("pod CIDR prefix length " + std::to_string(config_.prefix_len) + " must be 1..30");
  }
  gateway_ = *gw;
  if (!options_.sysctl) options_.sysctl = std::make_shared<ProcSysctl>();
}

void LinuxPodNetwork::log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
    return;
  }
  std::cerr << "minikd: net: " << line << "\n";
}

Sandbox LinuxPodNetwork::sandboxNames(const std::string& id) const {
  if (id.empty() || id == "." || id == ".." || id.find('/') != std::string::npos || id.find('\0') != std::string::npos) {
    throw std::invalid_argument("sandbox id " + inQuotes(id) + " must be a non-empty file name");
  }
  Sandbox sb;
  sb.id = id;
  sb.netns_name = config_.netns_prefix + id;
  sb.netns_path = options_.netns_dir + "/" + sb.netns_name;
  sb.host_veth = vethName(config_.veth_prefix, id);
  return sb;
}

void LinuxPodNetwork::ensureBridge() {
  NetlinkSocket host;
  if (host.run(planCreateBridge(config_.bridge).tolerating({EEXIST})) == EEXIST) {
    auto existing = host.getLink(config_.bridge);
    if (existing && existing->kind != "bridge") {
      throw OsError(EEXIST, "create bridge " + inQuotes(config_.bridge) + ": a link of kind " +
                                inQuotes(existing->kind) + " has that name");
    }
  }
  auto bridge = host.getLink(config_.bridge);
  if (!bridge) throw OsError(ENODEV, "create bridge " + inQuotes(config_.bridge) + ": gone right after creation");
  host.run({planSetLinkUp(config_.bridge),
            planAddAddress(bridge->index, config_.bridge, gateway_, config_.prefix_len).tolerating({EEXIST})});
  if (options_.configure_sysctls) {
    applySysctls(*options_.sysctl, planPodNetworkSysctls(), [this](const std::string& l) { log(l); });
  }
}

void LinuxPodNetwork::createVeth(NetlinkSocket& host, NamedNetns& ns, const Sandbox& sb, int bridge_index) {
  VethSpec spec{sb.host_veth, kPodIfName, ns.fd.get(), bridge_index, true, sb.netns_name};
  std::vector<NlRequest> create{planCreateVeth(spec).tolerating({EEXIST}), planSetHairpin(sb.host_veth)};
  auto errs = host.runAll(create);
  if (errs.front() != EEXIST) {
    host.checkResults(create, errs);
    return;
  }
  // The host end exists already: fine if its peer is this netns' eth0 (an earlier, complete call);
  // otherwise it is stale (its peer elsewhere), so replace it.
  auto host_end = host.getLink(sb.host_veth);
  if (host_end && host_end->kind != "veth") {
    throw OsError(EEXIST, "create veth " + inQuotes(sb.host_veth) + ": a link of kind " + inQuotes(host_end->kind) +
                              " has that name");
  }
  if (ns.socket.getLink(kPodIfName)) {
    host.run({planSetMaster(sb.host_veth, bridge_index, config_.bridge), planSetLinkUp(sb.host_veth),
              planSetHairpin(sb.host_veth)});
    return;
  }
  host.run(planDeleteLink(sb.host_veth).tolerating({ENODEV}));
  host.run({planCreateVeth(spec), planSetHairpin(sb.host_veth)});
}

void LinuxPodNetwork::configurePodSide(NamedNetns& ns, const Sandbox& sb) {
  auto eth0 = ns.socket.getLink(kPodIfName);
  if (!eth0) throw OsError(ENODEV, "configure " + inQuotes(kPodIfName) + " in netns " + inQuotes(sb.netns_name));
  auto ip = *parseIpv4(sb.ip);
  ns.socket.run({planSetLinkUp("lo"), planSetLinkUp(kPodIfName),
                 planAddAddress(eth0->index, kPodIfName, ip, config_.prefix_len).tolerating({EEXIST}),
                 planReplaceDefaultRoute(eth0->index, kPodIfName, gateway_)});
}

Sandbox LinuxPodNetwork::ensureSandbox(const std::string& id, const std::string& ip) {
  Sandbox sb = sandboxNames(id);
  auto pod_ip = parseIpv4(ip);
  if (!pod_ip || !cidrOf(gateway_, config_.prefix_len).contains(*pod_ip) || *pod_ip == gateway_) {
    throw std::invalid_argument("sandbox " + inQuotes(id) + ": address " + inQuotes(ip) + " is not a pod address in " +
                                cidrOf(gateway_, config_.prefix_len).str());
  }
  sb.ip = ip;
  NetlinkSocket host;
  auto bridge = host.getLink(config_.bridge);
  if (!bridge) {
    throw OsError(ENODEV, "attach " + inQuotes(sb.host_veth) + " of sandbox " + inQuotes(id) + " to bridge " +
                              inQuotes(config_.bridge) + " (ensureBridge first)");
  }
  std::call_once(netns_dir_once_, [this] { ensureNetnsDir(options_.netns_dir); });
  NamedNetns ns = ensureNamedNetns(options_.netns_dir, sb.netns_name);
  try {
    createVeth(host, ns, sb, bridge->index);
    configurePodSide(ns, sb);
  } catch (...) {
    // Leave nothing half-made: our veth goes (a veth with our hashed name is ours; any other link
    // of that name is not), and so does the netns if this call created it.
    try {
      deleteVeth(host, sb.host_veth);
      if (ns.created) removeNamedNetns(options_.netns_dir, sb.netns_name);
    } catch (const std::exception& e) {
      log(std::string("clean up sandbox ") + inQuotes(id) + ": " + e.what() + ", ignoring");
    }
    throw;
  }
  return sb;
}

void LinuxPodNetwork::removeSandbox(const std::string& id) {
  Sandbox sb = sandboxNames(id);
  NetlinkSocket host;
  // Deleting the host end deletes the pair, even if processes still hold the netns open.
  deleteVeth(host, sb.host_veth);
  removeNamedNetns(options_.netns_dir, sb.netns_name);
}

std::vector<std::string> LinuxPodNetwork::listSandboxes() {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(options_.netns_dir.c_str());
  if (!dir) {
    if (errno == ENOENT) return ids;
    throwErrno("list netns directory " + options_.netns_dir);
  }
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name.size() > config_.netns_prefix.size() && name.compare(0, config_.netns_prefix.size(), config_.netns_prefix) == 0) {
      ids.push_back(name.substr(config_.netns_prefix.size()));
    }
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

void LinuxPodNetwork::removeAll() {
  std::exception_ptr first_error;
  for (const auto& id : listSandboxes()) {
    try {
      removeSandbox(id);
    } catch (...) {
      if (!first_error) first_error = std::current_exception();
    }
  }
  NetlinkSocket host;
  if (auto bridge = host.getLink(config_.bridge)) {
    // Ports a crash left on our bridge without a netns file (only ours: our prefix, our bridge).
    std::vector<NlRequest> stray;
    for (const auto& link : host.dumpLinks()) {
      if (link.master == bridge->index && link.kind == "veth" &&
          link.name.compare(0, config_.veth_prefix.size(), config_.veth_prefix) == 0) {
        stray.push_back(planDeleteLink(link.name).tolerating({ENODEV}));
      }
    }
    host.run(stray);
    host.run(planDeleteLink(config_.bridge).tolerating({ENODEV}));
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace minikd::net
