#pragma once
// `minikd tool <name>`: small built-in workloads so that examples need nothing installed, in the
// spirit of Kubernetes' agnhost image. Each tool lives in its own tool_<name>.cpp.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace minikd {

/// Runs `minikd tool <argv[0]> argv[1..]`; argv[0] is the tool name ("--help" lists the tools).
/// Returns the process exit code; prints errors to stderr.
int runTool(int argc, char** argv);

namespace tools {

/// A parsed tool command line: `--name value`, `--name=value`, boolean `--flag`, positionals.
struct Args {
  std::map<std::string, std::string> flags;
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return flags.count(name) > 0; }
  std::string get(const std::string& name, const std::string& fallback = "") const;
  /// The flag as an integer. Throws std::invalid_argument naming the flag when it is not one.
  int64_t getInt(const std::string& name, int64_t fallback) const;
};

/// Parses argv[1..argc) (argv[0], the tool name, is skipped). Flags in `bool_flags` take no value.
/// Throws std::invalid_argument for a value flag without its value.
Args parseArgs(int argc, char** argv, const std::set<std::string>& bool_flags = {});
/// "250ms", "2s", "1m", or a bare number of milliseconds. Throws std::invalid_argument.
std::chrono::milliseconds parseDuration(const std::string& text);
/// The p-th percentile (0 < p ≤ 100) of `values` by the nearest-rank method; 0 for no values.
double percentile(std::vector<double> values, double p);

struct Url {
  std::string scheme;  // "http"
  std::string host;
  int port = 80;
  std::string path;    // "/" when absent
};
/// Parses "http://host[:port][/path]". Throws std::invalid_argument naming the URL.
Url parseUrl(const std::string& text);

struct HttpToolOptions {
  std::string host = "0.0.0.0";
  int port = 8080;  // 0 = any free port
  std::chrono::milliseconds delay{0};
  /// Called on every GET / and its answer included (e.g. "http://api/").
  std::string upstream;
  /// Reported as "pod:"; default env POD_NAME, else the hostname.
  std::string pod_name;
  /// Printed as "message:" when set (default env MESSAGE, e.g. from a ConfigMap).
  std::string message;
  /// Called by /fail after answering (default: exit the process with status 1).
  std::function<void()> on_fail;
};

/// The `http` tool: GET / answers with pod name, IP, the request's headers and the upstream's answer;
/// /healthz is always 200; /ready is 200 or 503 (POST /ready/off, /ready/on switch it); /fail exits 1.
class HttpTool {
 public:
  explicit HttpTool(HttpToolOptions options);
  ~HttpTool();
  /// Binds the listening socket; returns the port (useful with port 0). Throws std::runtime_error.
  int bind();
  /// Serves until stop(). Call after bind().
  void serve();
  /// What /ready reports (a SIGTERM turns it off while draining).
  void setReady(bool ready) { ready_ = ready; }
  /// Stops serve() (waiting up to 2 s for it to have started). Thread-safe.
  void stop();

 private:
  void routes();
  std::string describe(const std::string& local_ip, const std::string& path,
                       const std::multimap<std::string, std::string>& headers) const;

  HttpToolOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<bool> ready_{true};
};

int runHttp(const Args& args);
int runEcho(const Args& args);
int runClient(const Args& args);
int runDns(const Args& args);
int runPause(const Args& args);

}  // namespace tools
}  // namespace minikd
