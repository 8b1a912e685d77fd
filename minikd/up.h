#pragma once
// `minikd up` and `minikd down`: start every part of the cluster in this process, and stop it.
#include <string>
#include <vector>

namespace minikd {

struct UpOptions {
  std::string state_dir = "/var/lib/minikd";
  std::string listen = "127.0.0.1:6443";
  std::string dashboard_listen = "127.0.0.1:8001";
  std::string node_name;  // default: the host name
  std::string bridge = "minikd0";
  std::string pod_cidr = "10.244.0.0/16";
  std::string service_cidr = "10.96.0.0/16";
  std::string cluster_dns = "10.96.0.10";
  std::string cluster_domain = "cluster.local";
  std::string nft_table = "minikd";
  std::vector<std::string> dns_upstreams;  // default: the host's resolv.conf
  std::vector<std::string> apply_files;    // manifests applied once the API is up (make up's example app)
  bool pods = true, proxy = true, dns = true, dashboard = true, controllers = true;
};

/// Parses `up` flags (argv after "up"). Throws std::invalid_argument with a usage line.
UpOptions parseUpOptions(int argc, char** argv);
/// Runs the cluster in the foreground until SIGINT/SIGTERM. Returns the exit code.
int runUp(const UpOptions& options);
/// Stops the minikd running on `state_dir` (SIGTERM to the PID in its pid file) and removes whatever a
/// crashed run left on the host. Returns the exit code.
int runDown(int argc, char** argv);

}  // namespace minikd
