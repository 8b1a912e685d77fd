#include "minikd/up.h"

#include "api/pki.h"
#include "api/server.h"
#include "api/store.h"
#include "minikd/cluster_bootstrap.h"
#include "minikd/parts.h"
#include "minikd/step_timer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <thread>

namespace minikd {
namespace {

std::pair<std::string, int> splitHostPort(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected ADDRESS:PORT, got \"" + s + "\"");
  return {s.substr(0, colon), std::stoi(s.substr(colon + 1))};
}

/// Holds an exclusive lock on <state-dir>/minikd.pid while this process runs.
class PidFile {
 public:
  explicit PidFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      char buf[32] = {};
      ssize_t n = ::read(fd_, buf, sizeof buf - 1);
      ::close(fd_);
      throw std::runtime_error("minikd is already running on this state dir (pid " +
                               std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) + ")");
    }
    std::string pid = std::to_string(getpid()) + "\n";
    if (ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) < 0)
      throw std::runtime_error("write " + path + ": " + std::strerror(errno));
  }
  ~PidFile() {
    unlink(path_.c_str());
    ::close(fd_);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

std::string hostName() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  std::string s = buf;
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s.empty() ? "minikd" : s;
}

int waitForSignal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace

UpOptions parseUpOptions(int argc, char** argv) {
  UpOptions o;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& flag) -> std::string {
      if (a.rfind(flag + "=", 0) == 0) return a.substr(flag.size() + 1);
      if (i + 1 >= argc) throw std::invalid_argument("flag " + flag + " needs a value");
      return argv[++i];
    };
    auto is = [&](const std::string& flag) { return a == flag || a.rfind(flag + "=", 0) == 0; };
    if (is("--state-dir")) o.state_dir = value("--state-dir");
    else if (is("--listen")) o.listen = value("--listen");
    else if (is("--dashboard-listen")) o.dashboard_listen = value("--dashboard-listen");
    else if (is("--node-name")) o.node_name = value("--node-name");
    else if (is("--bridge")) o.bridge = value("--bridge");
    else if (is("--pod-cidr")) o.pod_cidr = value("--pod-cidr");
    else if (is("--service-cidr")) o.service_cidr = value("--service-cidr");
    else if (is("--cluster-dns")) o.cluster_dns = value("--cluster-dns");
    else if (is("--nft-table")) o.nft_table = value("--nft-table");
    else if (is("--dns-upstream")) o.dns_upstreams.push_back(value("--dns-upstream"));
    else if (is("--apply") || a == "-f") o.apply_files.push_back(value(a == "-f" ? "-f" : "--apply"));
    else if (a == "--no-pods") o.pods = false;
    else if (a == "--no-proxy") o.proxy = false;
    else if (a == "--no-dns") o.dns = false;
    else if (a == "--no-dashboard") o.dashboard = false;
    else if (a == "--no-controllers") o.controllers = false;
    else if (a == "--api-only") o.pods = o.proxy = o.dns = o.dashboard = false;
    else throw std::invalid_argument("unknown flag \"" + a + "\" for \"minikd up\" (see minikd up --help)");
  }
  if (o.node_name.empty()) o.node_name = hostName();
  return o;
}

int runUp(const UpOptions& o) {
  // Signals are taken by sigwait on this thread only; every thread started later inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::printf("minikd up (state dir %s)\n", o.state_dir.c_str());
  StepTimer step;
  if (mkdir(o.state_dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error("create state dir " + o.state_dir + ": " + std::strerror(errno));
  chmod(o.state_dir.c_str(), 0700);
  PidFile pid_file(o.state_dir + "/minikd.pid");
  auto [host, port] = splitHostPort(o.listen);

  api::Pki pki = step("TLS certificates and token", [&] { return api::ensurePki(o.state_dir, {host}); });
  auto store = step("store (SQLite, WAL)", [&] { return std::make_unique<api::Store>(o.state_dir + "/store.db"); });
  NodeInfo node{o.node_name, o.pods ? gatewayOf(o.pod_cidr) : "127.0.0.1", o.pod_cidr};
  api::Api api(*store, {.graceful_pod_deletion = o.pods, .node_name = o.node_name});
  step("namespaces and node " + node.name, [&] {
    ensureNamespaces(api);
    ensureNode(api, node);
  });

  Parts parts(api, o, node, pki);
  step("admission (service IPs)", [&] { parts.registerAdmission(); });

  api::ServerConfig cfg;
  cfg.host = host;
  cfg.port = port;
  cfg.cert_file = pki.server_cert_file;
  cfg.key_file = pki.server_key_file;
  cfg.token = pki.token;
  api::ApiServer server(api, cfg);
  int bound = step("API server https://" + o.listen, [&] { return server.bind(); });
  std::string url = "https://" + host + ":" + std::to_string(bound);
  std::string kubeconfig = o.state_dir + "/kubeconfig";
  api::writeFileAtomic(kubeconfig, api::makeKubeconfig(url, pki.ca_pem, pki.token), 0600);
  std::jthread server_thread([&] { server.run(); });
  // Destroyed before server_thread (declared after it): stops the server on every path, so the join
  // cannot hang when a later step throws.
  struct StopServer {
    api::ApiServer& s;
    ~StopServer() { s.stop(); }
  } stop_server{server};

  step("controllers", [&] { parts.startControllers(); });
  parts.startNodeParts(step, server.handler());
  server.handler().setStatusProvider([&] { return parts.status(); });
  parts.applyFiles(step);

  std::printf("minikd is up in %.0f ms\n", step.totalMs());
  std::printf("  API        %s\n", url.c_str());
  std::printf("  kubeconfig export KUBECONFIG=%s\n", kubeconfig.c_str());
  parts.printUrls();
  std::printf("Stop with Ctrl-C (or `minikd down`).\n");
  std::fflush(stdout);

  int sig = waitForSignal(set);
  std::printf("\nminikd: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  parts.stop();
  server.stop();
  return 0;
}

}  // namespace minikd
