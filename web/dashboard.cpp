#include "web/dashboard.h"

#include "api/errors.h"
#include "web/assets.h"

#include <httplib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>

namespace minikd::web {
namespace {

using httplib::Request;
using httplib::Response;

constexpr const char* kPageCsp =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
constexpr const char* kLoginCsp = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

void sendStatus(Response& res, int code, const std::string& reason, const std::string& message) {
  api::Json st = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", api::Json::object()},
                  {"status", "Failure"}, {"message", message}, {"reason", reason}, {"code", code}};
  res.status = code;
  res.set_content(st.dump(), "application/json");
}

std::string contentType(const std::string& path) {
  auto ends = [&](const char* ext) {
    std::string e = ext;
    return path.size() >= e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".json")) return "application/json";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

void securityHeaders(Response& res, const char* csp) {
  res.set_header("Content-Security-Policy", csp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cache-Control", "no-cache");
}

std::string loginPage(const std::string& message) {
  return "<!doctype html><html lang=en><head><meta charset=utf-8><title>minikd dashboard</title>"
         "<style>body{font:15px/1.5 system-ui,sans-serif;background:#f4f6f9;color:#1d2533;display:grid;"
         "place-items:center;height:100vh;margin:0}main{background:#fff;padding:32px 40px;border-radius:10px;"
         "box-shadow:0 2px 12px #0002;max-width:460px}h1{font-size:20px;margin:0 0 12px}code{background:#eef1f5;"
         "padding:2px 6px;border-radius:4px}</style></head><body><main><h1>minikd dashboard</h1><p>" +
         message +
         "</p><p>Open the one-time login link printed by <code>minikd up</code>, or get a new one with "
         "<code>minikd dashboard</code>.</p></main></body></html>";
}

std::string verdictMessage(Verdict v) {
  switch (v) {
    case Verdict::ForeignHost: return "forbidden: the Host header is not this dashboard's address";
    case Verdict::ForeignOrigin: return "forbidden: cross-origin requests are not allowed";
    case Verdict::MissingOrigin: return "forbidden: a write needs a same-origin Origin or the X-Minikd-Dashboard header";
    case Verdict::Allow: break;
  }
  return "";
}

std::set<std::string> splitCommas(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.insert(item);
  return out;
}

}  // namespace

Dashboard::Dashboard(api::Api& api, DashboardConfig config, api::PodLogs* logs)
    : api_(api), config_(std::move(config)), handler_(api, 3 * 1024 * 1024, logs) {
  handler_.setStatusProvider(config_.status);
  server_ = std::make_unique<httplib::Server>();
  int threads = config_.threads;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(8 * 1024 * 1024);
  server_->set_keep_alive_timeout(60);
  server_->set_read_timeout(60);
  installRoutes();
}

Dashboard::~Dashboard() { stop(); }

void Dashboard::installRoutes() {
  // Every request: the Host and Origin checks first (DNS rebinding, CSRF).
  server_->set_pre_routing_handler([this](const Request& req, Response& res) {
    RequestFacts f{req.method, req.get_header_value("Host"), req.get_header_value("Origin"),
                   req.get_header_value("Cookie"), req.has_header("X-Minikd-Dashboard")};
    Verdict v = policy_ ? policy_->check(f) : Verdict::ForeignHost;
    if (v == Verdict::Allow) return httplib::Server::HandlerResponse::Unhandled;
    sendStatus(res, 403, "Forbidden", verdictMessage(v));
    return httplib::Server::HandlerResponse::Handled;
  });
  server_->Get("/login", [this](const Request& req, Response& res) {
    auto session = sessions_->redeem(req.get_param_value("token"));
    if (!session) {
      securityHeaders(res, kLoginCsp);
      res.status = 401;
      res.set_content(loginPage("This login link is not valid: it was already used, or it belongs to another run."),
                      "text/html; charset=utf-8");
      return;
    }
    newLoginLink();  // the used one is gone: keep a fresh one for `minikd dashboard`
    securityHeaders(res, kLoginCsp);
    res.set_header("Set-Cookie", sessions_->setCookie(*session));
    // A same-origin refresh rather than a 302, so that the SameSite=Strict cookie is sent even when the
    // link was opened from another site (a redirect would still count as that site's navigation).
    res.set_header("Refresh", "0; url=/");
    res.set_content("<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0; url=/\">"
                    "<title>minikd dashboard</title><a href=\"/\">Continue to the dashboard</a>",
                    "text/html; charset=utf-8");
  });
  const auto& assets = embeddedAssets();
  auto serve = [this, &assets](const std::string& path, const Request& req, Response& res) {
    if (!sessions_->valid(req.get_header_value("Cookie"))) {
      securityHeaders(res, kLoginCsp);
      res.status = 401;
      if (path == "/index.html") res.set_content(loginPage("You are not logged in."), "text/html; charset=utf-8");
      else res.set_content("not logged in", "text/plain");
      return;
    }
    auto it = assets.find(path);
    securityHeaders(res, kPageCsp);
    res.set_content(std::string(it->second), contentType(path));
  };
  server_->Get("/", [serve](const Request& req, Response& res) { serve("/index.html", req, res); });
  for (const auto& [path, body] : assets) {
    std::string pattern;
    for (char c : path) {
      if (std::string(".^$|()[]{}*+?\\").find(c) != std::string::npos) pattern.push_back('\\');
      pattern.push_back(c);
    }
    std::string p = path;
    server_->Get(pattern, [serve, p](const Request& req, Response& res) { serve(p, req, res); });
  }
  installWatch();
  handler_.install(*server_, [this](const Request& req) { return sessions_->valid(req.get_header_value("Cookie")); });
}

// One stream for every resource the page shows: a browser allows only 6 HTTP/1.1 connections per
// origin, so one watch per resource would starve the page's other requests. Same protocol as a
// Kubernetes watch (newline-delimited {"type","object"} events from ?resourceVersion=), plus
// "resource" (its key, "deployments.apps") and "rv" on each line, and a BOOKMARK when idle.
void Dashboard::installWatch() {
  server_->Get("/minikd/dashboard/watch", [this](const Request& req, Response& res) {
    if (!sessions_->valid(req.get_header_value("Cookie"))) return sendStatus(res, 401, "Unauthorized", "Unauthorized");
    int64_t rv = 0;
    try {
      rv = std::stoll(req.get_param_value("resourceVersion"));
    } catch (const std::exception&) {
      return sendStatus(res, 400, "BadRequest", "resourceVersion: a positive number is required (from a list)");
    }
    auto resources = std::make_shared<std::set<std::string>>(splitCommas(req.get_param_value("resources")));
    std::shared_ptr<api::Watch> watch;
    std::string expired;
    try {
      watch = api_.store().watch(api::Filter{}, rv);
    } catch (const api::ApiError& e) {
      if (e.code() != 410) throw;
      expired = api::Json{{"type", "ERROR"}, {"object", e.toStatus()}}.dump() + "\n";
    }
    res.status = 200;
    res.set_header("Cache-Control", "no-cache, private");
    // Not a type httplib compresses: a compressor would hold the events back until its buffer fills.
    res.set_chunked_content_provider("application/x-ndjson", [this, watch, expired, resources](size_t, httplib::DataSink& sink) {
      if (!watch) {
        sink.write(expired.data(), expired.size());
        sink.done();
        return true;
      }
      int idle = 0;
      while (!closing_) {
        if (!sink.is_writable()) return false;
        std::optional<api::Event> ev;
        try {
          ev = watch->next(std::chrono::milliseconds(1000));
        } catch (const api::ApiError& e) {
          std::string line = api::Json{{"type", "ERROR"}, {"object", e.toStatus()}}.dump() + "\n";
          sink.write(line.data(), line.size());
          break;
        }
        if (!ev || (!resources->empty() && !resources->count(ev->resource))) {
          if (++idle < 10) continue;
          idle = 0;
          std::string line = api::Json{{"type", "BOOKMARK"}, {"rv", watch->cursor()}}.dump() + "\n";
          if (!sink.write(line.data(), line.size())) return false;
          continue;
        }
        idle = 0;
        std::string line = api::Json{{"type", api::eventTypeName(ev->type)}, {"resource", ev->resource},
                                     {"rv", ev->rv}, {"object", *ev->object}}.dump() + "\n";
        if (!sink.write(line.data(), line.size())) return false;
      }
      sink.done();
      return true;
    });
  });
}

int Dashboard::bind() {
  int port = config_.port;
  if (port == 0) {
    port = server_->bind_to_any_port(config_.host.c_str());
    if (port < 0) throw std::runtime_error("dashboard: cannot listen on " + config_.host);
  } else if (!server_->bind_to_port(config_.host.c_str(), port)) {
    throw std::runtime_error("dashboard: cannot listen on " + config_.host + ":" + std::to_string(port) +
                             " (in use, or not an address of this host)");
  }
  port_ = port;
  policy_ = std::make_unique<OriginPolicy>(config_.host, port);
  sessions_ = std::make_unique<SessionStore>("minikd_session_" + std::to_string(port));
  newLoginLink();
  return port;
}

void Dashboard::run() { server_->listen_after_bind(); }

void Dashboard::stop() {
  closing_ = true;
  handler_.closeStreams();
  if (server_) server_->stop();
}

std::string Dashboard::baseUrl() const {
  std::string host = config_.host == "0.0.0.0" || config_.host.empty() ? "127.0.0.1" : config_.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port_);
}

std::string Dashboard::loginUrl() {
  std::lock_guard lock(link_mu_);
  return link_;
}

std::string Dashboard::newLoginLink() {
  if (!sessions_) throw std::logic_error("dashboard: newLoginLink() before bind()");
  std::string url = baseUrl() + "/login?token=" + sessions_->newLoginToken();
  std::lock_guard lock(link_mu_);
  link_ = url;
  writeLinkFile(url);
  return url;
}

void Dashboard::writeLinkFile(const std::string& url) const {
  if (config_.link_file.empty()) return;
  std::string tmp = config_.link_file + ".tmp";
  std::string text = url + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("dashboard: cannot write " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) throw std::runtime_error("dashboard: cannot write " + tmp);
  if (std::rename(tmp.c_str(), config_.link_file.c_str()) != 0)
    throw std::runtime_error("dashboard: cannot write " + config_.link_file);
}

}  // namespace minikd::web
