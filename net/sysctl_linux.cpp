#include "net/sysctl.h"

#include "net/os_error.h"

#include <fstream>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace minikd::net {

namespace {

constexpr unsigned kModuleInitCompressedFile = 4;  // MODULE_INIT_COMPRESSED_FILE (Linux 5.17+)

std::string defaultModulesDir() {
  utsname u{};
  if (uname(&u) != 0) return "/lib/modules";
  return std::string("/lib/modules/") + u.release;
}

/// "kernel/net/bridge/br_netfilter.ko.xz" -> "br_netfilter" (modules.dep spells '-' as '_' too).
std::string moduleName(const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  base = base.substr(0, base.find(".ko"));
  for (char& c : base) if (c == '-') c = '_';
  return base;
}

/// modules.dep line of `name`: its path, then the paths it depends on (innermost last).
std::vector<std::string> moduleChain(const std::string& modules_dir, const std::string& name) {
  std::ifstream dep(modules_dir + "/modules.dep");
  if (!dep) throw OsError(ENOENT, "load kernel module " + name + ": no " + modules_dir + "/modules.dep");
  std::string line;
  while (std::getline(dep, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos || moduleName(line.substr(0, colon)) != name) continue;
    std::vector<std::string> chain{line.substr(0, colon)};
    std::istringstream rest(line.substr(colon + 1));
    for (std::string d; rest >> d;) chain.push_back(d);
    return chain;
  }
  throw OsError(ENOENT, "load kernel module " + name + ": not in " + modules_dir + "/modules.dep");
}

void loadModuleFile(const std::string& path, const std::string& name) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throwErrno("load kernel module " + name + " from " + path);
  bool compressed = path.size() > 3 && path.substr(path.size() - 3) != ".ko";
  long rc = syscall(SYS_finit_module, fd, "", compressed ? kModuleInitCompressedFile : 0);
  int err = errno;
  ::close(fd);
  if (rc != 0 && err != EEXIST) throw OsError(err, "load kernel module " + name + " from " + path);
}

}  // namespace

ProcSysctl::ProcSysctl(std::string root, std::string modules_dir)
    : root_(std::move(root)), modules_dir_(modules_dir.empty() ? defaultModulesDir() : std::move(modules_dir)) {}

std::optional<std::string> ProcSysctl::read(const std::string& key) {
  std::ifstream in(sysctlPath(root_, key));
  if (!in) return std::nullopt;
  std::string value;
  std::getline(in, value);
  return value;
}

void ProcSysctl::write(const std::string& key, const std::string& value) {
  const std::string path = sysctlPath(root_, key);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throwErrno("set sysctl " + key + "=" + value);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) throw OsError(n < 0 ? err : EIO, "set sysctl " + key + "=" + value);
}

void ProcSysctl::loadModule(const std::string& name) {
  auto chain = moduleChain(modules_dir_, name);
  // Dependencies first, innermost (last listed) first.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    std::string path = it->front() == '/' ? *it : modules_dir_ + "/" + *it;
    loadModuleFile(path, moduleName(*it));
  }
}

}  // namespace minikd::net
