// exec and port-forward benchmark (no root): the API server over HTTPS on loopback with a PodExec
// that runs local processes (tests/api/local_exec.h), driven by a websocket client like kubectl's.
//   exec round trip:  `exec true` (TLS connect, upgrade, spawn, exit status) vs spawning `true` directly
//                     plus a TLS connect + GET /version (the two things an exec cannot avoid)
//   exec output:      `head -c N /dev/zero` through channel 1 vs reading it from a pipe directly
//   port-forward:     N bytes from a loopback server through SPDY-in-websocket vs a direct TCP read
//
//   ninja -C build stream_bench && build/tests/stream_bench [megabytes=200] [execs=200]
#include "../api/local_exec.h"
#include "api/pki.h"
#include "api/server.h"
#include "api/spdy.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <spawn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
namespace spdy = minikd::api::spdy;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Websocket = websocket::stream<beast::ssl_stream<tcp::socket>>;

extern char** environ;

namespace {

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()))];
}

struct Server {
  std::string dir;
  minikd::api::Pki pki;
  minikd::api::Store store{":memory:"};
  minikd::api::Api api{store};
  minikd::testing::LocalExec exec;
  std::unique_ptr<minikd::api::ApiServer> server;
  int port = 0;
  std::thread thread;

  Server() {
    dir = (std::filesystem::temp_directory_path() / ("minikd-stream-bench-" + std::to_string(::getpid()))).string();
    pki = minikd::api::ensurePki(dir, {});
    api.create(*minikd::api::findResource("", "namespaces"), "", {{"metadata", {{"name", "default"}}}});
    api.create(*minikd::api::findResource("", "pods"), "default",
               {{"metadata", {{"name", "web"}}},
                {"spec", {{"containers", {{{"name", "main"}, {"image", "x"}, {"command", {"sleep", "1"}}}}}}}});
    minikd::api::ServerConfig c;
    c.port = 0;
    c.cert_file = pki.server_cert_file;
    c.key_file = pki.server_key_file;
    c.token = pki.token;
    server = std::make_unique<minikd::api::ApiServer>(api, c);
    server->handler().setPodExec(&exec);
    port = server->bind();
    thread = std::thread([this] { server->run(); });
  }
  ~Server() {
    server->stop();
    thread.join();
    std::filesystem::remove_all(dir);
  }
};

/// One TLS connection to the server, optionally upgraded to a websocket.
struct Client {
  net::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
  Websocket ws{ioc, tls};

  Client(const Server& s) {
    tls.add_certificate_authority(net::buffer(s.pki.ca_pem));
    ws.next_layer().set_verify_mode(ssl::verify_peer);
    beast::get_lowest_layer(ws).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(s.port)));
    beast::get_lowest_layer(ws).set_option(tcp::no_delay(true));
    ws.next_layer().handshake(ssl::stream_base::client);
  }
  void upgrade(const Server& s, const std::string& target, const std::string& protocol) {
    ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, protocol);
      req.set(beast::http::field::authorization, "Bearer " + s.pki.token);
    }));
    ws.handshake("127.0.0.1", target);
    ws.binary(true);
  }
  /// Reads exec messages until the close; returns the bytes of channel 1.
  size_t drainExec() {
    size_t out = 0;
    for (;;) {
      beast::flat_buffer buf;
      beast::error_code ec;
      ws.read(buf, ec);
      if (ec) return out;
      if (buf.size() > 0 && static_cast<const char*>(buf.data().data())[0] == 1) out += buf.size() - 1;
    }
  }
};

const std::string kExec = "/api/v1/namespaces/default/pods/web/exec";

double spawnTrue() {
  auto t0 = Clock::now();
  pid_t pid;
  char arg0[] = "true";
  char* argv[] = {arg0, nullptr};
  if (::posix_spawnp(&pid, "true", nullptr, nullptr, argv, environ) != 0) return -1;
  int st;
  ::waitpid(pid, &st, 0);
  return msSince(t0);
}

double tlsGetVersion(const Server& s) {
  auto t0 = Clock::now();
  Client c(s);
  beast::http::request<beast::http::empty_body> req{beast::http::verb::get, "/version", 11};
  req.set(beast::http::field::host, "127.0.0.1");
  beast::http::write(c.ws.next_layer(), req);
  beast::flat_buffer buf;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(c.ws.next_layer(), buf, res);
  return msSince(t0);
}

void execRoundTrips(Server& s, int n) {
  std::vector<double> exec, spawn, tls;
  for (int i = 0; i < n; ++i) {
    auto t0 = Clock::now();
    Client c(s);
    c.upgrade(s, kExec + "?command=true&stdout=true&stderr=true", "v5.channel.k8s.io");
    c.drainExec();
    exec.push_back(msSince(t0));
    spawn.push_back(spawnTrue());
    tls.push_back(tlsGetVersion(s));
  }
  double base = pct(spawn, 50) + pct(tls, 50);
  std::printf("exec `true` round trip (%d): p50 %.2f ms, p99 %.2f ms\n", n, pct(exec, 50), pct(exec, 99));
  std::printf("  baseline: spawn `true` p50 %.2f ms + TLS connect and GET /version p50 %.2f ms = %.2f ms; ratio %.2f\n",
              pct(spawn, 50), pct(tls, 50), base, pct(exec, 50) / base);
}

void execOutput(Server& s, size_t bytes) {
  Client c(s);
  auto t0 = Clock::now();
  c.upgrade(s, kExec + "?command=head&command=-c&command=" + std::to_string(bytes) + "&command=/dev/zero&stdout=true",
            "v5.channel.k8s.io");
  size_t got = c.drainExec();
  double exec_ms = msSince(t0);
  // Baseline: the same command's output read from a pipe in this process.
  t0 = Clock::now();
  minikd::testing::LocalProcess p({"head", "-c", std::to_string(bytes), "/dev/zero"}, false, nullptr);
  int fl = ::fcntl(p.stdoutFd(), F_GETFL);
  ::fcntl(p.stdoutFd(), F_SETFL, fl & ~O_NONBLOCK);
  std::vector<char> buf(1 << 16);
  size_t direct = 0;
  ssize_t n;
  while ((n = ::read(p.stdoutFd(), buf.data(), buf.size())) > 0) direct += static_cast<size_t>(n);
  p.wait();
  double pipe_ms = msSince(t0);
  std::printf("exec output, %zu MB: %.0f MB/s through the websocket (got %zu bytes) vs %.0f MB/s from a pipe; ratio %.2f\n",
              bytes >> 20, got / 1048576.0 / (exec_ms / 1000), got, direct / 1048576.0 / (pipe_ms / 1000),
              (got / exec_ms) / (direct / pipe_ms));
}

/// A loopback server that writes `bytes` to each connection, then closes it.
struct Source {
  int fd = -1, port = 0;
  size_t bytes;
  std::thread thread;
  explicit Source(size_t n) : bytes(n) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] {
      std::vector<char> chunk(1 << 16, 'x');
      for (;;) {
        int c = ::accept(fd, nullptr, nullptr);
        if (c < 0) return;
        for (size_t sent = 0; sent < bytes;) {
          ssize_t n = ::write(c, chunk.data(), std::min(chunk.size(), bytes - sent));
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
        ::close(c);
      }
    });
  }
  ~Source() {
    ::shutdown(fd, SHUT_RDWR);
    thread.join();
    ::close(fd);
  }
};

void portForward(Server& s, size_t bytes) {
  Source src(bytes);
  // Direct: a TCP connection to the source.
  auto t0 = Clock::now();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(src.port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  std::vector<char> buf(1 << 16);
  size_t direct = 0;
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) direct += static_cast<size_t>(n);
  ::close(fd);
  double direct_ms = msSince(t0);
  // Through port-forward: the error and data streams, then DATA until FIN.
  Client c(s);
  c.upgrade(s, "/api/v1/namespaces/default/pods/web/portforward", "SPDY/3.1+portforward.k8s.io");
  spdy::Codec codec;
  std::string port = std::to_string(src.port);
  t0 = Clock::now();
  c.ws.write(net::buffer(codec.synStream(1, 0, {{"streamtype", "error"}, {"port", port}, {"requestid", "0"}})));
  c.ws.write(net::buffer(codec.data(1, "", true)));
  c.ws.write(net::buffer(codec.synStream(3, 0, {{"streamtype", "data"}, {"port", port}, {"requestid", "0"}})));
  c.ws.write(net::buffer(codec.data(3, "", true)));
  size_t got = 0;
  bool fin = false;
  while (!fin) {
    beast::flat_buffer b;
    c.ws.read(b);
    codec.feed(beast::buffers_to_string(b.data()));
    while (auto f = codec.next()) {
      if (f->type == spdy::FrameType::Data && f->stream_id == 3) {
        got += f->data.size();
        fin = fin || f->fin();
      }
    }
  }
  double pf_ms = msSince(t0);
  std::printf("port-forward, %zu MB: %.0f MB/s (got %zu bytes) vs %.0f MB/s direct TCP on loopback; ratio %.2f\n",
              bytes >> 20, got / 1048576.0 / (pf_ms / 1000), got, direct / 1048576.0 / (direct_ms / 1000),
              (got / pf_ms) / (direct / direct_ms));
}

}  // namespace

int main(int argc, char** argv) {
  size_t mb = argc > 1 ? std::stoul(argv[1]) : 200;
  int execs = argc > 2 ? std::stoi(argv[2]) : 200;
  Server s;
  std::printf("exec and port-forward over HTTPS on loopback (local processes; %zu MB transfers)\n", mb);
  execRoundTrips(s, execs);
  execOutput(s, mb << 20);
  portForward(s, mb << 20);
  return 0;
}
