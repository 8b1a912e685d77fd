// Root integration tests of LinuxPodNetwork: real bridge, netns and veth pairs.
//
// Address plan (unique per test process, so parallel runs and a real minikd do not collide):
//   bridge        "mkt" + PID in hex (≤ 15 chars), gateway 10.250.<PID % 250>.1/24
//   netns prefix  "mkt<pid>-"      → /run/netns/mkt<pid>-a, …
//   veth prefix   "t" + 4 hex      → host ends t<hhhh><8 hex>
//   pods          10.250.<x>.2, .3, .4 …
// Nothing else on the host is touched; a guard removes everything on every path.
#include "net/netlink_socket.h"
#include "net/os_error.h"
#include "net/pod_network_linux.h"

#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace minikd::net;

namespace {

struct CommandResult {
  int status = -1;
  std::string output;
};

/// Runs a shell command (verification only; the implementation never shells out).
CommandResult sh(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.output += buf.data();
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string hex(unsigned v, int width) {
  char b[16];
  std::snprintf(b, sizeof b, "%0*x", width, v);
  return b;
}

/// The test's own network, removed (removeAll) however the test ends.
struct TestNet {
  NetworkConfig config;
  std::string subnet;  // "10.250.x."
  std::unique_ptr<LinuxPodNetwork> net;

  explicit TestNet(const std::string& tag) {
    const unsigned pid = static_cast<unsigned>(::getpid());
    config.bridge = "mkt" + hex(pid, 0) + tag;
    config.netns_prefix = "mkt" + std::to_string(pid) + tag + "-";
    config.veth_prefix = "t" + hex(pid & 0xffff, 4) + tag;
    subnet = "10.250." + std::to_string(pid % 250) + ".";
    config.gateway = subnet + "1";
    config.prefix_len = 24;
    LinuxPodNetworkOptions options;
    options.log = [](const std::string&) {};
    net = std::make_unique<LinuxPodNetwork>(config, options);
  }
  ~TestNet() {
    try {
      net->removeAll();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cleanup of %s failed: %s\n", config.bridge.c_str(), e.what());
    }
  }
  std::string ip(int host) const { return subnet + std::to_string(host); }
};

void requireRoot() { REQUIRE(::geteuid() == 0); }

bool linkExists(const std::string& name) {
  NetlinkSocket host;
  return host.getLink(name).has_value();
}

/// A TCP listener on ip:0 inside the netns `path` (sockets keep their netns). Returns {fd, port}.
std::pair<UniqueFd, int> listenIn(const std::string& path, const std::string& ip) {
  UniqueFd ns = openNetns(path);
  return runInNetns(ns.get(), path, [&] {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throwErrno("bind " + ip);
    if (::listen(fd.get(), 4) != 0) throwErrno("listen " + ip);
    socklen_t len = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    return std::make_pair(std::move(fd), static_cast<int>(ntohs(addr.sin_port)));
  });
}

/// Connects from inside the netns `path` to ip:port (2 s timeout) and sends `message`.
void sendFrom(const std::string& path, const std::string& ip, int port, const std::string& message) {
  UniqueFd ns = openNetns(path);
  runInNetns(ns.get(), path, [&] {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval tv{2, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throwErrno("connect " + ip);
    if (::send(fd.get(), message.data(), message.size(), 0) != static_cast<ssize_t>(message.size())) {
      throwErrno("send to " + ip);
    }
  });
}

/// Accepts one connection on `listener` (2 s timeout) and reads what it sends.
std::string acceptAndRead(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, 2000) != 1) return "<no connection>";
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return "<accept failed>";
  std::string out;
  char buf[256];
  pollfd c{conn.get(), POLLIN, 0};
  while (::poll(&c, 1, 2000) == 1) {
    ssize_t n = ::read(conn.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// Polls `cond` for up to 3 s (netns teardown runs in a kernel work queue).
template <typename Cond>
bool eventually(Cond cond) {
  for (int i = 0; i < 300; ++i) {
    if (cond()) return true;
    ::usleep(10000);
  }
  return cond();
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("two pod sandboxes on the bridge talk TCP by IP", "[net]") {
  requireRoot();
  TestNet t("a");
  t.net->ensureBridge();
  REQUIRE(linkExists(t.config.bridge));
  CHECK(contains(sh("ip -4 -o addr show dev " + t.config.bridge).output, t.config.gateway + "/24"));

  Sandbox a = t.net->ensureSandbox("a", t.ip(2));
  Sandbox b = t.net->ensureSandbox("b", t.ip(3));
  CHECK(a.netns_path == "/run/netns/" + t.config.netns_prefix + "a");
  CHECK(a.ip == t.ip(2));

  auto list = sh("ip netns list").output;
  CHECK(contains(list, a.netns_name));
  CHECK(contains(list, b.netns_name));
  CHECK(t.net->listSandboxes() == std::vector<std::string>{"a", "b"});

  for (const auto& [sb, host] : {std::pair{a, 2}, std::pair{b, 3}}) {
    const std::string in = "ip -n " + sb.netns_name + " ";
    auto eth0 = sh(in + "-o addr show dev eth0");
    CHECK(eth0.status == 0);
    CHECK(contains(eth0.output, "inet " + t.ip(host) + "/24"));
    CHECK(contains(sh(in + "link show dev eth0").output, ",UP"));
    CHECK(contains(sh(in + "link show dev lo").output, ",UP"));
    CHECK(contains(sh(in + "route show default").output, "default via " + t.config.gateway + " dev eth0"));
    auto port = sh("ip -d link show dev " + sb.host_veth).output;
    CHECK(contains(port, "master " + t.config.bridge));
    CHECK(contains(port, "hairpin on"));
    CHECK(contains(port, ",UP"));
  }

  auto [listener, port] = listenIn(a.netns_path, a.ip);
  sendFrom(b.netns_path, a.ip, port, "hello from b");
  CHECK(acceptAndRead(listener.get()) == "hello from b");

  // The host reaches a pod through the bridge too (the gateway address is the host's).
  auto [listener_b, port_b] = listenIn(b.netns_path, b.ip);
  CHECK(sh("bash -c 'exec 3<>/dev/tcp/" + b.ip + "/" + std::to_string(port_b) + " && echo -n host >&3'").status == 0);
  CHECK(acceptAndRead(listener_b.get()) == "host");
}

TEST_CASE("ensureSandbox is idempotent and removeSandbox leaves nothing", "[net]") {
  requireRoot();
  TestNet t("b");
  t.net->ensureBridge();
  t.net->ensureBridge();  // idempotent
  Sandbox first = t.net->ensureSandbox("p", t.ip(5));
  Sandbox again = t.net->ensureSandbox("p", t.ip(5));
  CHECK(again.host_veth == first.host_veth);
  CHECK(again.netns_path == first.netns_path);
  CHECK(contains(sh("ip -n " + first.netns_name + " -o addr show dev eth0").output, t.ip(5) + "/24"));

  t.net->removeSandbox("p");
  CHECK_FALSE(std::filesystem::exists(first.netns_path));
  CHECK_FALSE(linkExists(first.host_veth));
  CHECK_FALSE(contains(sh("ip netns list").output, first.netns_name));
  CHECK(t.net->listSandboxes().empty());
  CHECK_NOTHROW(t.net->removeSandbox("p"));  // missing is success

  // A stale host veth whose peer is elsewhere is replaced, not an error.
  Sandbox s = t.net->ensureSandbox("q", t.ip(6));
  {
    // The old netns lives on (held open) without its name: its eth0 and our host end survive.
    UniqueFd orphan = openNetns(s.netns_path);
    removeNamedNetns("/run/netns", s.netns_name);
    CHECK_FALSE(std::filesystem::exists(s.netns_path));
    REQUIRE(linkExists(s.host_veth));
    Sandbox replaced = t.net->ensureSandbox("q", t.ip(6));
    CHECK(contains(sh("ip -n " + replaced.netns_name + " -o addr show dev eth0").output, t.ip(6) + "/24"));
    CHECK(contains(sh("ip -d link show dev " + replaced.host_veth).output, "hairpin on"));
  }
  removeNamedNetns("/run/netns", s.netns_name);  // now the netns with its pair dies (asynchronously)
  CHECK(eventually([&] { return !linkExists(s.host_veth); }));
  Sandbox s2 = t.net->ensureSandbox("q", t.ip(6));
  CHECK(contains(sh("ip -n " + s2.netns_name + " -o addr show dev eth0").output, t.ip(6) + "/24"));
}

TEST_CASE("removeAll removes every sandbox and the bridge", "[net]") {
  requireRoot();
  TestNet t("c");
  t.net->ensureBridge();
  std::vector<Sandbox> made;
  for (int i = 0; i < 3; ++i) made.push_back(t.net->ensureSandbox("r" + std::to_string(i), t.ip(10 + i)));
  REQUIRE(t.net->listSandboxes().size() == 3);

  t.net->removeAll();
  CHECK(t.net->listSandboxes().empty());
  CHECK_FALSE(linkExists(t.config.bridge));
  for (const auto& sb : made) {
    CHECK_FALSE(linkExists(sb.host_veth));
    CHECK_FALSE(std::filesystem::exists(sb.netns_path));
  }
  auto links = sh("ip -o link show").output;
  CHECK_FALSE(contains(links, t.config.veth_prefix));
  CHECK_NOTHROW(t.net->removeAll());  // again: nothing to do
}

TEST_CASE("a failing ensureSandbox cleans up and names the objects", "[net]") {
  requireRoot();
  TestNet t("d");
  SECTION("no bridge yet") {
    try {
      t.net->ensureSandbox("x", t.ip(7));
      FAIL("ensureSandbox without a bridge succeeded");
    } catch (const OsError& e) {
      CHECK(e.err() == ENODEV);
      CHECK(contains(e.what(), "\"" + t.config.bridge + "\""));
    }
    CHECK(t.net->listSandboxes().empty());
  }
  SECTION("the veth name is taken by a link that is not a veth") {
    t.net->ensureBridge();
    const std::string veth = t.net->sandboxNames("x").host_veth;
    NetlinkSocket host;
    host.run(planCreateBridge(veth));  // squatter, removed below whatever happens
    struct Squatter {
      std::string name;
      ~Squatter() {
        NetlinkSocket h;
        h.run(planDeleteLink(name).tolerating({ENODEV}));
      }
    } squatter{veth};
    try {
      t.net->ensureSandbox("x", t.ip(7));
      FAIL("ensureSandbox over a squatted veth name succeeded");
    } catch (const OsError& e) {
      CHECK(e.err() == EEXIST);
      CHECK(contains(e.what(), "\"" + veth + "\""));
    }
    CHECK(t.net->listSandboxes().empty());                   // the netns it made is gone
    CHECK_FALSE(std::filesystem::exists(t.net->sandboxNames("x").netns_path));
    CHECK(linkExists(veth));                                  // someone else's link is untouched
  }
  SECTION("an address outside the pod CIDR") {
    t.net->ensureBridge();
    CHECK_THROWS_AS(t.net->ensureSandbox("x", "192.0.2.1"), std::invalid_argument);
    CHECK(t.net->listSandboxes().empty());
  }
}
