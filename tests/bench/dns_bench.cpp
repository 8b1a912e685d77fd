// Cluster DNS benchmark: minikd's DNS engine against dnsmasq (the baseline, same run, same names),
// both driven by dnsperf over loopback.
//
//   dns_bench [--services 10000] [--seconds 10] [--qps 50000]
//
// Address plan (p = pid % 250 + 1): minikd on 127.54.p.1, dnsmasq on 127.54.p.2 (ports picked by
// the kernel / a free port). The bench process (so the DNS engine) and dnsmasq are pinned to CPU 1,
// dnsperf to CPU 0. Figures per server:
//   max qps     dnsperf -q 64 unthrottled: queries/s, and the lost count (must be 0)
//   fixed load  dnsperf -Q <qps>: p50/p99 latency from the per-query log, CPU seconds of the server
//               per 100,000 answered queries
//   memory      minikd: RSS growth of the index with all services (as the informers would fill it);
//               dnsmasq: its VmRSS with the hosts file loaded
// Query mix: 70 % ClusterIP names, 10 % headless names (3 endpoints), 20 % misses (NXDOMAIN).
#include "dns/engine.h"
#include "dns/index_json.h"

#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace minikd::dns;

namespace {

struct Options {
  int services = 10000;
  int seconds = 10;
  int qps = 50000;
};

struct PerfResult {
  double qps = 0;
  long completed = 0, lost = 0;
  double p50_ms = 0, p99_ms = 0;
  std::string raw;
};

struct ServerFigures {
  PerfResult max, fixed;
  double cpu_per_100k = 0;
  long memory_kb = 0;
};

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % int(std::max(1u, std::thread::hardware_concurrency())), &set);
  sched_setaffinity(0, sizeof set, &set);
}

long rssKb(pid_t pid) {
  std::ifstream in("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return 0;
}

double cpuSecondsOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  std::istringstream rest(s.substr(s.rfind(')') + 2));
  std::string f;
  std::vector<std::string> fields;
  while (rest >> f) fields.push_back(f);
  // fields[0] is the state (stat field 3): utime and stime are stat fields 14 and 15.
  return double(std::stol(fields.at(11)) + std::stol(fields.at(12))) / double(sysconf(_SC_CLK_TCK));
}

double selfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// Runs argv with stdout and stderr into `out_file`, pinned to `cpu`; returns the exit status.
int runTo(const std::vector<std::string>& argv, const std::string& out_file, int cpu) {
  pid_t pid = fork();
  if (pid == 0) {
    pin(cpu);
    FILE* f = std::fopen(out_file.c_str(), "w");
    if (f) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

double numberAfter(const std::string& text, const std::string& key) {
  size_t p = text.find(key);
  if (p == std::string::npos) return -1;
  return std::atof(text.c_str() + p + key.size());
}

PerfResult dnsperf(const std::string& ip, uint16_t port, const std::string& queries, const Options& o, bool fixed,
                   const std::string& out_file) {
  std::vector<std::string> argv = {"dnsperf", "-s", ip, "-p", std::to_string(port), "-d", queries, "-l",
                                   std::to_string(o.seconds), "-c", "1", "-T", "1", "-t", "2"};
  if (fixed) argv.insert(argv.end(), {"-Q", std::to_string(o.qps), "-q", "1000", "-v"});
  else argv.insert(argv.end(), {"-q", "64"});
  runTo(argv, out_file, 0);
  PerfResult r;
  r.raw = slurp(out_file);
  r.qps = numberAfter(r.raw, "Queries per second:");
  r.completed = long(numberAfter(r.raw, "Queries completed:"));
  r.lost = long(numberAfter(r.raw, "Queries lost:"));
  if (fixed) {
    // Verbose lines: "> NOERROR name A 0.000123" — the last field is the latency in seconds.
    std::vector<double> lat;
    std::istringstream in(r.raw);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("> ", 0) != 0) continue;
      lat.push_back(std::atof(line.c_str() + line.rfind(' ') + 1));
    }
    if (!lat.empty()) {
      std::sort(lat.begin(), lat.end());
      r.p50_ms = lat[lat.size() / 2] * 1000;
      r.p99_ms = lat[std::min(lat.size() - 1, lat.size() * 99 / 100)] * 1000;
    }
    r.raw.clear();  // large
  }
  return r;
}

std::string svcIp(int i) { return "10.96." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250); }
std::string epIp(int i, int k) { return "10.244." + std::to_string(1 + i / 80) + "." + std::to_string(1 + (i % 80) * 3 + k); }
std::string svcName(int i) { return "svc-" + std::to_string(i) + ".ns-" + std::to_string(i % 20) + ".svc.cluster.local"; }
bool headless(int i) { return i % 10 == 0; }

/// Fills the index the way the informers do (JSON → records); returns the RSS growth in kB.
long fillIndex(ServiceIndex& index, const Options& o) {
  const long before = rssKb(0);
  for (int i = 0; i < o.services; ++i) {
    nlohmann::json svc = {{"metadata", {{"name", "svc-" + std::to_string(i)}, {"namespace", "ns-" + std::to_string(i % 20)}}},
                          {"spec", {{"clusterIP", headless(i) ? "None" : svcIp(i)}, {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}}}}};
    index.upsertService(serviceFromJson(svc));
    if (!headless(i)) continue;
    nlohmann::json eps = nlohmann::json::array();
    for (int k = 0; k < 3; ++k) eps.push_back({{"addresses", {epIp(i, k)}}, {"conditions", {{"ready", true}}}});
    nlohmann::json slice = {{"metadata", {{"name", "svc-" + std::to_string(i) + "-x"}, {"namespace", "ns-" + std::to_string(i % 20)},
                                          {"labels", {{"kubernetes.io/service-name", "svc-" + std::to_string(i)}}}}},
                            {"ports", {{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}}},
                            {"endpoints", eps}};
    index.upsertSlice("ns-" + std::to_string(i % 20), "svc-" + std::to_string(i), "svc-" + std::to_string(i) + "-x",
                      endpointSetFromJson(slice));
  }
  return rssKb(0) - before;
}

void writeFiles(const Options& o, const std::string& queries, const std::string& hosts) {
  std::ofstream q(queries), h(hosts);
  for (int i = 0; i < o.services; ++i) {
    if (headless(i))
      for (int k = 0; k < 3; ++k) h << epIp(i, k) << " " << svcName(i) << "\n";
    else
      h << svcIp(i) << " " << svcName(i) << "\n";
  }
  for (int k = 0; k < 2 * o.services; ++k) {
    const int r = k % 10;
    const int i = (k * 7919) % o.services;
    if (r < 2) q << "miss-" << k << ".ns-" << (k % 20) << ".svc.cluster.local A\n";
    else if (r == 2) q << svcName((i / 10) * 10) << " A\n";  // a headless one
    else q << svcName(headless(i) ? i + 1 : i) << " A\n";
  }
}

void print(const std::string& name, const ServerFigures& f, const Options& o) {
  std::printf("%-8s max %8.0f q/s (lost %ld) | at -Q %d: %8.0f q/s, p50 %.3f ms, p99 %.3f ms, lost %ld, CPU %.3f s/100k | mem %ld kB\n",
              name.c_str(), f.max.qps, f.max.lost, o.qps, f.fixed.qps, f.fixed.p50_ms, f.fixed.p99_ms, f.fixed.lost,
              f.cpu_per_100k, f.memory_kb);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--services") o.services = std::stoi(argv[i + 1]);
    else if (a == "--seconds") o.seconds = std::stoi(argv[i + 1]);
    else if (a == "--qps") o.qps = std::stoi(argv[i + 1]);
  }
  if (std::system("command -v dnsperf >/dev/null && command -v dnsmasq >/dev/null") != 0) {
    std::cerr << "dns_bench: needs dnsperf and dnsmasq (scripts/install-deps.sh)\n";
    return 1;
  }
  pin(1);
  const std::string base = "127.54." + std::to_string(getpid() % 250 + 1) + ".";
  char tmpl[] = "/tmp/minikd-dns-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string queries = dir + "/queries.txt", hosts = dir + "/hosts";
  writeFiles(o, queries, hosts);

  ServiceIndex index;
  ServerFigures mk, dm;
  mk.memory_kb = fillIndex(index, o);
  DnsConfig config;
  config.listen = {base + "1:0"};
  config.upstreams = {base + "9:53"};  // nothing there; no query in the mix is forwarded
  DnsEngine engine(config, index);
  std::jthread server([&](std::stop_token st) { engine.run(st); });

  // dnsmasq on the same port number when free (any free port works).
  const uint16_t dm_port = uint16_t(20000 + getpid() % 20000);
  pid_t dnsmasq = fork();
  if (dnsmasq == 0) {
    pin(1);
    execlp("dnsmasq", "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", ("--addn-hosts=" + hosts).c_str(),
           ("--listen-address=" + base + "2").c_str(), ("--port=" + std::to_string(dm_port)).c_str(), "--bind-interfaces",
           "--local=/cluster.local/", "-C", "/dev/null", "--log-facility=/dev/null", nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // dnsmasq reads its hosts file
  dm.memory_kb = rssKb(dnsmasq);

  std::printf("dns_bench: %d services, %d s per run, %u CPUs, query file %d lines (70%% ClusterIP, 10%% headless, 20%% misses)\n",
              o.services, o.seconds, std::thread::hardware_concurrency(), 2 * o.services);
  // Warm up both, then measure each: unthrottled, then at a fixed offered load.
  Options warm = o;
  warm.seconds = 1;
  dnsperf(base + "1", engine.port(), queries, warm, false, dir + "/warm1");
  dnsperf(base + "2", dm_port, queries, warm, false, dir + "/warm2");

  mk.max = dnsperf(base + "1", engine.port(), queries, o, false, dir + "/mk-max");
  dm.max = dnsperf(base + "2", dm_port, queries, o, false, dir + "/dm-max");
  double c0 = selfCpuSeconds();
  mk.fixed = dnsperf(base + "1", engine.port(), queries, o, true, dir + "/mk-fixed");
  mk.cpu_per_100k = (selfCpuSeconds() - c0) / double(std::max(1L, mk.fixed.completed)) * 100000;
  c0 = cpuSecondsOf(dnsmasq);
  dm.fixed = dnsperf(base + "2", dm_port, queries, o, true, dir + "/dm-fixed");
  dm.cpu_per_100k = (cpuSecondsOf(dnsmasq) - c0) / double(std::max(1L, dm.fixed.completed)) * 100000;

  kill(dnsmasq, SIGTERM);
  waitpid(dnsmasq, nullptr, 0);
  server.request_stop();
  server.join();

  print("minikd", mk, o);
  print("dnsmasq", dm, o);
  std::printf("ratio minikd/dnsmasq: max qps %.2fx, CPU per query %.2fx, p99 %.2fx; minikd process RSS %ld kB\n",
              dm.max.qps > 0 ? mk.max.qps / dm.max.qps : 0, dm.cpu_per_100k > 0 ? mk.cpu_per_100k / dm.cpu_per_100k : 0,
              dm.fixed.p99_ms > 0 ? mk.fixed.p99_ms / dm.fixed.p99_ms : 0, rssKb(0));
  if (mk.max.qps <= 0 || dm.max.qps <= 0) {
    std::cerr << "dns_bench: a dnsperf run failed; see " << dir << "\n";
    return 1;
  }
  std::system(("rm -rf " + dir).c_str());
  return 0;
}
