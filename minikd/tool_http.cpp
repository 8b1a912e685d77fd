// `minikd tool http`: an HTTP server that says who answered (pod name, IP) and what it was asked.
#include "minikd/tools.h"

#include <httplib.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace minikd::tools {
namespace {

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string hostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

/// Calls the upstream and returns its body (indented), or throws std::runtime_error naming it.
std::string callUpstream(const std::string& upstream) {
  Url u = parseUrl(upstream);
  httplib::Client cli(u.host, u.port);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get(u.path);
  if (!res) throw std::runtime_error("upstream " + upstream + ": " + httplib::to_string(res.error()));
  if (res->status != 200)
    throw std::runtime_error("upstream " + upstream + ": HTTP " + std::to_string(res->status));
  std::istringstream in(res->body);
  std::string line, out;
  while (std::getline(in, line)) out += "  | " + line + "\n";
  return out;
}

}  // namespace

HttpTool::HttpTool(HttpToolOptions options) : options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  if (options_.pod_name.empty()) options_.pod_name = envOr("POD_NAME", hostName());
  if (options_.message.empty()) options_.message = envOr("MESSAGE", "");
  if (!options_.on_fail) options_.on_fail = [] { std::_Exit(1); };
  routes();
}

HttpTool::~HttpTool() = default;

std::string HttpTool::describe(const std::string& local_ip, const std::string& path,
                               const std::multimap<std::string, std::string>& headers) const {
  std::ostringstream out;
  out << "pod: " << options_.pod_name << "\n";
  out << "ip: " << envOr("POD_IP", local_ip) << "\n";
  if (!options_.message.empty()) out << "message: " << options_.message << "\n";
  out << "path: " << path << "\n";
  out << "headers:\n";
  for (const auto& [k, v] : headers)
    if (k != "LOCAL_ADDR" && k != "LOCAL_PORT" && k != "REMOTE_ADDR" && k != "REMOTE_PORT") out << "  " << k << ": " << v << "\n";
  return out.str();
}

void HttpTool::routes() {
  auto& s = *server_;
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  s.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
    res.status = ready_ ? 200 : 503;
    res.set_content(ready_ ? "ready\n" : "not ready\n", "text/plain");
  });
  s.Post("/ready/off", [this](const httplib::Request&, httplib::Response& res) {
    ready_ = false;
    res.set_content("not ready\n", "text/plain");
  });
  s.Post("/ready/on", [this](const httplib::Request&, httplib::Response& res) {
    ready_ = true;
    res.set_content("ready\n", "text/plain");
  });
  s.Get("/fail", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content("failing now\n", "text/plain");
    std::cerr << "http: /fail requested, exiting with status 1\n";
    // Exit after the answer is on its way.
    std::thread([fail = options_.on_fail] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      fail();
    }).detach();
  });
  s.Get(R"(/bytes/(\d{1,9}))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(std::string(std::stoul(req.matches[1].str()), 'x'), "application/octet-stream");
  });
  s.Get(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
    if (options_.delay.count() > 0) std::this_thread::sleep_for(options_.delay);
    std::string body = describe(req.local_addr, req.path, {req.headers.begin(), req.headers.end()});
    if (!options_.upstream.empty()) {
      try {
        body += "upstream " + options_.upstream + ":\n" + callUpstream(options_.upstream);
      } catch (const std::exception& e) {
        res.status = 502;
        body += "error: " + std::string(e.what()) + "\n";
      }
    }
    res.set_content(body, "text/plain");
  });
}

int HttpTool::bind() {
  if (options_.port == 0) {
    int port = server_->bind_to_any_port(options_.host);
    if (port < 0) throw std::runtime_error("http: cannot bind " + options_.host + ":0");
    return port;
  }
  if (!server_->bind_to_port(options_.host, options_.port))
    throw std::runtime_error("http: cannot bind " + options_.host + ":" + std::to_string(options_.port));
  return options_.port;
}

void HttpTool::serve() { server_->listen_after_bind(); }

void HttpTool::stop() {
  // httplib ignores stop() before the accept loop runs: wait (briefly) for serve() to get there.
  for (int i = 0; i < 200 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server_->stop();
}

namespace {

/// Blocks SIGTERM/SIGINT in every thread and waits for them in one: on a signal the server reports
/// not-ready, keeps answering for `delay` (so load balancers move away first), then stops.
std::thread stopOnSignal(HttpTool& tool, std::chrono::milliseconds delay) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return std::thread([&tool, delay, set] {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    std::cerr << "http: got signal " << sig << ", draining for " << delay.count() << "ms\n";
    tool.setReady(false);
    std::this_thread::sleep_for(delay);
    tool.stop();
  });
}

}  // namespace

int runHttp(const Args& args) {
  HttpToolOptions o;
  o.port = static_cast<int>(args.getInt("port", 8080));
  o.host = args.get("host", "0.0.0.0");
  o.delay = parseDuration(args.get("delay", "0"));
  o.upstream = args.get("upstream");
  if (!o.upstream.empty()) parseUrl(o.upstream);  // fail fast on a malformed URL
  o.message = args.get("message");
  auto shutdown_delay = parseDuration(args.get("shutdown-delay", "0"));
  HttpTool tool(o);
  int port = tool.bind();
  // Before serve() starts its worker threads, so that they inherit the blocked signals.
  stopOnSignal(tool, shutdown_delay).detach();
  std::cerr << "http: listening on " << o.host << ":" << port << "\n";
  tool.serve();
  return 0;
}

}  // namespace minikd::tools
