// Pod sandbox set-up and tear-down: LinuxPodNetwork (rtnetlink) vs. a shell script calling `ip`,
// for the same N pods, in the same run, on a test bridge and subnet of our own.
//
// Address plan: bridge "mkb" + PID hex, gateway 10.251.<PID % 250>.1/24; our pods .2 …, the shell
// baseline's pods .128 … (N ≤ 120). netns prefixes "mkb<pid>-" (ours) and "mkb<pid>sh-" (shell).
// Usage: sandbox_bench [N]   (default 100; needs root)
#include "net/pod_network_linux.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <unistd.h>

using namespace minikd::net;
using Clock = std::chrono::steady_clock;

namespace {

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string hex(unsigned v) {
  char b[16];
  std::snprintf(b, sizeof b, "%x", v);
  return b;
}

struct ShellPlan {
  std::string setup, teardown;
};

/// The baseline: what a shell CNI-alike does per pod, with one `ip` process per step.
ShellPlan shellScripts(int n, const std::string& bridge, const std::string& prefix, const std::string& subnet,
                       const std::string& gateway, const std::string& veth_prefix) {
  ShellPlan p;
  p.setup = "set -e\n";
  p.teardown = "";
  for (int i = 0; i < n; ++i) {
    const std::string ns = prefix + std::to_string(i);
    const std::string veth = veth_prefix + std::to_string(i);
    const std::string peer = veth_prefix + "p" + std::to_string(i);
    const std::string ip = subnet + std::to_string(128 + i) + "/24";
    p.setup += "ip netns add " + ns + "\n" +
               "ip link add " + veth + " type veth peer name " + peer + "\n" +
               "ip link set " + peer + " netns " + ns + "\n" +
               "ip link set " + veth + " master " + bridge + " up\n" +
               "ip link set " + veth + " type bridge_slave hairpin on\n" +
               "ip -n " + ns + " link set " + peer + " name eth0\n" +
               "ip -n " + ns + " addr add " + ip + " dev eth0\n" +
               "ip -n " + ns + " link set eth0 up\n" +
               "ip -n " + ns + " link set lo up\n" +
               "ip -n " + ns + " route add default via " + gateway + "\n";
    p.teardown += "ip link del " + veth + " 2>/dev/null\nip netns del " + ns + " 2>/dev/null\n";
  }
  p.teardown += "true\n";
  return p;
}

double runScript(const std::string& path, const std::string& body) {
  std::ofstream(path) << body;
  auto start = Clock::now();
  int rc = std::system(("bash " + path).c_str());
  double ms = msSince(start);
  if (rc != 0) std::cerr << "baseline script " << path << " exited with " << rc << "\n";
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  if (::geteuid() != 0) {
    std::cerr << "sandbox_bench: needs root (netns, links)\n";
    return 1;
  }
  const int n = argc > 1 ? std::atoi(argv[1]) : 100;
  if (n < 1 || n > 120) {
    std::cerr << "sandbox_bench: N must be 1..120\n";
    return 1;
  }
  const unsigned pid = static_cast<unsigned>(::getpid());
  NetworkConfig config;
  config.bridge = "mkb" + hex(pid);
  config.netns_prefix = "mkb" + std::to_string(pid) + "-";
  config.veth_prefix = "b" + hex(pid & 0xffff);
  const std::string subnet = "10.251." + std::to_string(pid % 250) + ".";
  config.gateway = subnet + "1";
  config.prefix_len = 24;
  LinuxPodNetworkOptions options;
  options.configure_sysctls = false;  // not what we measure
  LinuxPodNetwork net(config, options);

  const std::string sh_prefix = "mkb" + std::to_string(pid) + "sh-";
  const std::string sh_veth = "s" + hex(pid & 0xffff) + "x";
  ShellPlan shell = shellScripts(n, config.bridge, sh_prefix, subnet, config.gateway, sh_veth);
  const std::string dir = "/tmp/minikd-sandbox-bench-" + std::to_string(pid);
  std::system(("mkdir -p " + dir).c_str());

  // Whatever happens, leave nothing behind.
  struct Cleanup {
    LinuxPodNetwork& net;
    std::string dir, teardown;
    ~Cleanup() {
      std::ofstream(dir + "/cleanup.sh") << teardown;
      std::system(("bash " + dir + "/cleanup.sh; rm -rf " + dir).c_str());
      try {
        net.removeAll();
      } catch (const std::exception& e) {
        std::cerr << "cleanup: " << e.what() << "\n";
      }
    }
  } cleanup{net, dir, shell.teardown};

  try {
    net.ensureBridge();
    // Warm-up (first netns mount, module paths) outside the timing.
    net.ensureSandbox("warm", subnet + "250");
    net.removeSandbox("warm");

    auto start = Clock::now();
    for (int i = 0; i < n; ++i) net.ensureSandbox("p" + std::to_string(i), subnet + std::to_string(2 + i));
    double ours_up = msSince(start);
    if (net.listSandboxes().size() != static_cast<std::size_t>(n)) {
      std::cerr << "expected " << n << " sandboxes\n";
      return 1;
    }
    start = Clock::now();
    for (int i = 0; i < n; ++i) net.removeSandbox("p" + std::to_string(i));
    double ours_down = msSince(start);

    double shell_up = runScript(dir + "/setup.sh", shell.setup);
    double shell_down = runScript(dir + "/teardown.sh", shell.teardown);

    auto per = [n](double ms) { return ms / n; };
    std::printf("pod sandboxes: N=%d, nproc=%ld\n", n, ::sysconf(_SC_NPROCESSORS_ONLN));
    std::printf("%-22s %10s %10s %10s\n", "", "setup", "teardown", "total");
    std::printf("%-22s %7.3f ms %7.3f ms %7.3f ms  per pod\n", "minikd (rtnetlink)", per(ours_up), per(ours_down),
                per(ours_up + ours_down));
    std::printf("%-22s %7.3f ms %7.3f ms %7.3f ms  per pod\n", "shell (ip commands)", per(shell_up), per(shell_down),
                per(shell_up + shell_down));
    std::printf("speed-up: setup %.1fx, teardown %.1fx, total %.1fx\n", shell_up / ours_up, shell_down / ours_down,
                (shell_up + shell_down) / (ours_up + ours_down));
  } catch (const std::exception& e) {
    std::cerr << "sandbox_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
