#include "runtime/prober.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace minikd::runtime {

using nlohmann::json;

LinuxProber::~LinuxProber() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return in_flight_ == 0; });
}

std::future<ProbeResult> LinuxProber::probe(const json& probe, const ProbeContext& ctx) {
  auto promise = std::make_shared<std::promise<ProbeResult>>();
  auto future = promise->get_future();
  {
    std::lock_guard lock(mu_);
    ++in_flight_;
  }
  std::thread([this, promise, probe, ctx] {
    ProbeResult r;
    try {
      r = run(probe, ctx);
    } catch (const std::exception& e) {
      r = {false, e.what()};
    }
    promise->set_value(std::move(r));
    std::lock_guard lock(mu_);
    --in_flight_;
    cv_.notify_all();
  }).detach();
  return future;
}

ProbeResult LinuxProber::run(const json& probe, const ProbeContext& ctx) {
  auto timeout = std::chrono::milliseconds(std::max(1, ctx.timeout_seconds) * 1000);
  if (probe.contains("exec")) {
    ProcessSpec spec = ctx.exec_base;
    spec.argv = probe["exec"].value("command", std::vector<std::string>{});
    try {
      RunResult res = runToCompletion(launcher_, spec, timeout);
      if (!res.status) return {false, "command timed out"};
      if (res.status->code == 0) return {true, ""};
      return {false, "command exited with " + std::to_string(res.status->code) + ": " + res.output.substr(0, 200)};
    } catch (const StartError& e) {
      return {false, e.what()};
    }
  }
  if (probe.contains("httpGet")) {
    const json& h = probe["httpGet"];
    auto port = resolveProbePort(h.value("port", json()), ctx.ports);
    if (!port) return {false, "unknown port " + h.value("port", json()).dump()};
    if (h.value("scheme", "HTTP") != "HTTP") return {false, "scheme " + h.value("scheme", "") + " is not supported"};
    std::string host = h.value("host", "");
    return httpGet(host.empty() ? ctx.pod_ip : host, *port, h.value("path", "/"), h.value("httpHeaders", json::array()),
                   timeout);
  }
  if (probe.contains("tcpSocket")) {
    const json& t = probe["tcpSocket"];
    auto port = resolveProbePort(t.value("port", json()), ctx.ports);
    if (!port) return {false, "unknown port " + t.value("port", json()).dump()};
    std::string host = t.value("host", "");
    int fd = -1;
    std::string err = tcpConnect(host.empty() ? ctx.pod_ip : host, *port, timeout, &fd);
    if (fd >= 0) ::close(fd);
    return {err.empty(), err};
  }
  return {false, "probe has no handler (exec, httpGet or tcpSocket)"};
}

std::optional<int> resolveProbePort(const json& port, const json& ports) {
  if (port.is_number_integer()) return port.get<int>();
  if (!port.is_string()) return std::nullopt;
  std::string s = port.get<std::string>();
  if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit)) return std::stoi(s);
  if (!ports.is_array()) return std::nullopt;
  for (const auto& p : ports)
    if (p.value("name", "") == s && p.contains("containerPort")) return p["containerPort"].get<int>();
  return std::nullopt;
}

std::string tcpConnect(const std::string& ip, int port, std::chrono::milliseconds timeout, int* fd_out) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return "bad address \"" + ip + "\"";
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return std::string("socket: ") + std::strerror(errno);
  std::string where = "dial tcp " + ip + ":" + std::to_string(port) + ": ";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS) {
    std::string e = where + std::strerror(errno);
    ::close(fd);
    return e;
  }
  pollfd p{fd, POLLOUT, 0};
  int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
  int err = 0;
  socklen_t len = sizeof err;
  if (n <= 0) err = ETIMEDOUT;
  else ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    ::close(fd);
    return where + (err == ETIMEDOUT ? std::string("i/o timeout") : std::string(std::strerror(err)));
  }
  if (fd_out) *fd_out = fd;
  else ::close(fd);
  return "";
}

ProbeResult httpGet(const std::string& host, int port, const std::string& path, const json& headers,
                    std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int fd = -1;
  std::string err = tcpConnect(host, port, timeout, &fd);
  if (!err.empty()) return {false, "Get \"http://" + host + ":" + std::to_string(port) + path + "\": " + err};
  std::string req = "GET " + (path.empty() ? std::string("/") : path) + " HTTP/1.1\r\nHost: " + host + ":" +
                    std::to_string(port) + "\r\nUser-Agent: kube-probe/1.29\r\nAccept: */*\r\nConnection: close\r\n";
  if (headers.is_array())
    for (const auto& h : headers) req += h.value("name", "") + ": " + h.value("value", "") + "\r\n";
  req += "\r\n";
  std::string resp;
  size_t sent = 0;
  char buf[4096];
  while (resp.find("\r\n") == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, static_cast<short>(sent < req.size() ? POLLOUT : POLLIN), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    if (sent < req.size()) {
      ssize_t w = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (w <= 0) break;
      sent += static_cast<size_t>(w);
      continue;
    }
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    resp.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  int status = 0;
  if (resp.rfind("HTTP/1.", 0) != 0 || std::sscanf(resp.c_str(), "HTTP/1.%*d %d", &status) != 1)
    return {false, "Get \"http://" + host + ":" + std::to_string(port) + path + "\": no HTTP response before the timeout"};
  if (status >= 200 && status < 400) return {true, ""};
  return {false, "HTTP probe failed with statuscode: " + std::to_string(status)};
}

}  // namespace minikd::runtime
