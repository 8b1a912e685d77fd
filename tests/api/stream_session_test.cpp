// exec and port-forward through the live API server (plain HTTP on loopback): a websocket client
// speaks v5.channel.k8s.io and SPDY/3.1+portforward.k8s.io to it, as kubectl does. The PodExec here
// runs real local processes (sh) and connects to a loopback listener of the test: no root needed.
#include "live_server.h"
#include "local_exec.h"
#include "api/server.h"
#include "api/spdy.h"
#include "api/stream_session.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using minikd::api::Json;
using tcp = net::ip::tcp;

namespace {

const char* kToken = "stream-token";

struct ExecHolder {
  minikd::testing::LocalExec exec;
};

/// The live server with pod default/web and LocalExec as its PodExec (constructed first).
struct LiveServer : ExecHolder, minikd::testing::LiveServer {
  LiveServer()
      : minikd::testing::LiveServer(kToken, [this](minikd::testing::LiveServer& s) {
          s.api.create(*minikd::api::findResource("", "pods"), "default",
                       {{"metadata", {{"name", "web"}}},
                        {"spec", {{"containers", {{{"name", "main"}, {"image", "x"}, {"command", {"sleep", "1"}}}}}}}});
          s.server.handler().setPodExec(&exec);
        }) {}
};

/// A websocket client of the server, like kubectl's.
struct Client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  std::string protocol;  // the server's choice

  /// Upgrades `target`; returns the HTTP status (101 on success).
  int open(int port, const std::string& target, const std::string& offer, const std::string& token = kToken) {
    ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, offer);
      req.set(beast::http::field::authorization, "Bearer " + token);
    }));
    // The asynchronous handshake: Boost 1.74's synchronous one leaves `res` empty when declined.
    websocket::response_type res;
    ws.async_handshake(res, "127.0.0.1", target, [](beast::error_code) {});
    ioc.run();
    ioc.restart();
    protocol = std::string(res[beast::http::field::sec_websocket_protocol]);
    ws.binary(true);
    return res.result_int();
  }
  void send(char channel, const std::string& data) { ws.write(net::buffer(std::string(1, channel) + data)); }
  /// Reads messages until the server closes: output per channel.
  std::map<int, std::string> drain() {
    std::map<int, std::string> out;
    for (;;) {
      beast::flat_buffer buf;
      beast::error_code ec;
      ws.read(buf, ec);
      if (ec) break;
      std::string m = beast::buffers_to_string(buf.data());
      if (!m.empty()) out[static_cast<unsigned char>(m[0])] += m.substr(1);
    }
    return out;
  }
};

const std::string kExec = "/api/v1/namespaces/default/pods/web/exec";

}  // namespace

TEST_CASE("exec over v5.channel.k8s.io relays stdout, stderr and the exit code", "[api][exec]") {
  LiveServer s;
  Client c;
  REQUIRE(c.open(s.port, kExec + "?command=sh&command=-c&command=echo+out%3B+echo+err+%3E%262%3B+exit+3&container=main"
                                 "&stdout=true&stderr=true",
                 "v5.channel.k8s.io,v4.channel.k8s.io") == 101);
  CHECK(c.protocol == "v5.channel.k8s.io");
  auto out = c.drain();
  CHECK(out[1] == "out\n");
  CHECK(out[2] == "err\n");
  Json st = Json::parse(out[3]);
  CHECK(st["status"] == "Failure");
  CHECK(st["reason"] == "NonZeroExitCode");
  CHECK(st["details"]["causes"][0]["message"] == "3");
  CHECK(s.exec.last.container == "main");
  CHECK(s.exec.last.command == std::vector<std::string>{"sh", "-c", "echo out; echo err >&2; exit 3"});
}

TEST_CASE("exec passes stdin through and closes it on the v5 close signal", "[api][exec]") {
  LiveServer s;
  Client c;
  REQUIRE(c.open(s.port, kExec + "?command=cat&stdin=true&stdout=true&stderr=true", "v5.channel.k8s.io") == 101);
  c.send(0, "hello ");
  c.send(0, "world\n");
  c.ws.write(net::buffer(std::string("\xff\x00", 2)));
  auto out = c.drain();
  CHECK(out[1] == "hello world\n");
  CHECK(Json::parse(out[3])["status"] == "Success");
}

TEST_CASE("exec forwards terminal resizes to the process", "[api][exec]") {
  LiveServer s;
  Client c;
  REQUIRE(c.open(s.port, kExec + "?command=sh&command=-c&command=sleep+0.3&stdout=true&tty=true", "v5.channel.k8s.io") ==
          101);
  c.send(4, R"({"Width":120,"Height":40})");
  auto out = c.drain();
  CHECK(Json::parse(out[3])["status"] == "Success");
  CHECK(s.exec.last.tty);
  CHECK(s.exec.resized == std::pair<uint16_t, uint16_t>{120, 40});
}

TEST_CASE("exec failures: unknown container on channel 3, unknown pod and bad token as HTTP errors", "[api][exec]") {
  LiveServer s;
  {
    Client c;
    REQUIRE(c.open(s.port, kExec + "?command=true&container=missing&stdout=true", "v5.channel.k8s.io") == 101);
    Json st = Json::parse(c.drain()[3]);
    CHECK(st["status"] == "Failure");
    CHECK(st["message"].get<std::string>().find("missing") != std::string::npos);
  }
  {
    Client c;
    CHECK(c.open(s.port, "/api/v1/namespaces/default/pods/nope/exec?command=true&stdout=true", "v5.channel.k8s.io") ==
          404);
  }
  {
    Client c;
    CHECK(c.open(s.port, kExec + "?command=true&stdout=true", "v5.channel.k8s.io", "wrong") == 401);
  }
  {
    Client c;
    CHECK(c.open(s.port, kExec + "?command=true&stdout=true", "channel.k8s.io") == 400);
  }
}

TEST_CASE("exec whose client goes away kills the command", "[api][exec]") {
  LiveServer s;
  std::string marker = "/tmp/minikd-exec-test-" + std::to_string(::getpid());
  {
    Client c;
    REQUIRE(c.open(s.port, kExec + "?command=sh&command=-c&command=sleep+2%3B+touch+" + marker + "&stdout=true",
                   "v5.channel.k8s.io") == 101);
    c.ws.next_layer().close();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(::access(marker.c_str(), F_OK) != 0);
  ::unlink(marker.c_str());
}

namespace {

/// A loopback echo server with one connection: replies "echo:" + what it read until EOF, then closes.
struct EchoListener {
  int fd = -1;
  int port = 0;
  std::thread thread;
  EchoListener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    thread = std::thread([this] {
      int c = ::accept(fd, nullptr, nullptr);
      if (c < 0) return;
      std::string got;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(c, buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
      std::string reply = "echo:" + got;
      (void)::write(c, reply.data(), reply.size());
      ::close(c);
    });
  }
  ~EchoListener() {
    ::shutdown(fd, SHUT_RDWR);
    thread.join();
    ::close(fd);
  }
};

/// Reads SPDY frames from the websocket until `done` says so (or the server closes).
std::vector<minikd::api::spdy::Frame> readFrames(Client& c, minikd::api::spdy::Codec& codec,
                                                 const std::function<bool(const minikd::api::spdy::Frame&)>& done) {
  std::vector<minikd::api::spdy::Frame> frames;
  for (;;) {
    while (auto f = codec.next()) {
      frames.push_back(*f);
      if (done(*f)) return frames;
    }
    beast::flat_buffer buf;
    beast::error_code ec;
    c.ws.read(buf, ec);
    if (ec) return frames;
    codec.feed(beast::buffers_to_string(buf.data()));
  }
}

}  // namespace

TEST_CASE("port-forward relays a connection over SPDY/3.1 inside the websocket", "[api][portforward]") {
  namespace spdy = minikd::api::spdy;
  LiveServer s;
  EchoListener echo;
  Client c;
  REQUIRE(c.open(s.port, "/api/v1/namespaces/default/pods/web/portforward", "SPDY/3.1+portforward.k8s.io") == 101);
  CHECK(c.protocol == "SPDY/3.1+portforward.k8s.io");
  spdy::Codec codec;
  std::string port = std::to_string(echo.port);
  // As kubectl: the error stream (closed at once by the client), then the data stream.
  c.ws.write(net::buffer(codec.synStream(1, 0, {{"streamtype", "error"}, {"port", port}, {"requestid", "0"}})));
  c.ws.write(net::buffer(codec.data(1, "", true)));
  c.ws.write(net::buffer(codec.synStream(3, 0, {{"streamtype", "data"}, {"port", port}, {"requestid", "0"}})));
  c.ws.write(net::buffer(codec.data(3, "hello")));
  c.ws.write(net::buffer(codec.data(3, "", true)));
  c.ws.write(net::buffer(codec.ping(1)));
  std::string data;
  int replies = 0;
  bool pong = false;
  auto frames = readFrames(c, codec, [&](const spdy::Frame& f) {
    if (f.type == spdy::FrameType::SynReply) ++replies;
    if (f.type == spdy::FrameType::Ping && f.ping_id == 1) pong = true;
    if (f.type == spdy::FrameType::Data && f.stream_id == 3) data += f.data;
    return f.type == spdy::FrameType::Data && f.stream_id == 3 && f.fin();
  });
  CHECK(replies == 2);
  CHECK(pong);
  CHECK(data == "echo:hello");
}

TEST_CASE("port-forward to a closed port reports the error on the error stream", "[api][portforward]") {
  namespace spdy = minikd::api::spdy;
  LiveServer s;
  int closed_port;
  {
    EchoListener probe;  // a port that was free a moment ago
    closed_port = probe.port;
  }
  Client c;
  REQUIRE(c.open(s.port, "/api/v1/namespaces/default/pods/web/portforward", "SPDY/3.1+portforward.k8s.io") == 101);
  spdy::Codec codec;
  std::string port = std::to_string(closed_port);
  c.ws.write(net::buffer(codec.synStream(1, 0, {{"streamtype", "error"}, {"port", port}, {"requestid", "7"}})));
  c.ws.write(net::buffer(codec.synStream(3, 0, {{"streamtype", "data"}, {"port", port}, {"requestid", "7"}})));
  std::string error;
  readFrames(c, codec, [&](const spdy::Frame& f) {
    if (f.type == spdy::FrameType::Data && f.stream_id == 1) error += f.data;
    return f.type == spdy::FrameType::Data && f.stream_id == 1 && f.fin();
  });
  CHECK(error.find("error forwarding port " + port) != std::string::npos);
}

TEST_CASE("exec and portforward without a websocket upgrade answer 400, unknown pods 404", "[api][exec]") {
  LiveServer s;
  Client c;
  c.ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(s.port)));
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, kExec + "?command=true", 11};
  req.set(beast::http::field::authorization, std::string("Bearer ") + kToken);
  req.set(beast::http::field::host, "127.0.0.1");
  req.set(beast::http::field::upgrade, "SPDY/3.1");
  req.set(beast::http::field::connection, "Upgrade");
  beast::http::write(c.ws.next_layer(), req);
  beast::flat_buffer buf;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(c.ws.next_layer(), buf, res);
  CHECK(res.result_int() == 400);
  CHECK(Json::parse(res.body())["message"].get<std::string>().find("v5.channel.k8s.io") != std::string::npos);
}

TEST_CASE("stream targets and subprotocols", "[api][exec]") {
  using minikd::api::StreamKind;
  auto t = minikd::api::streamTarget("/api/v1/namespaces/ns1/pods/p/exec");
  REQUIRE(t);
  CHECK(t->kind == StreamKind::Exec);
  CHECK(t->ns == "ns1");
  CHECK(t->pod == "p");
  CHECK(minikd::api::streamTarget("/api/v1/namespaces/ns1/pods/p/portforward")->kind == StreamKind::PortForward);
  CHECK_FALSE(minikd::api::streamTarget("/api/v1/namespaces/ns1/pods/p/log"));
  CHECK_FALSE(minikd::api::streamTarget("/api/v1/namespaces/ns1/services/p/exec"));
  CHECK(minikd::api::chooseSubprotocol(StreamKind::Exec, "v4.channel.k8s.io, v5.channel.k8s.io") == "v5.channel.k8s.io");
  CHECK(minikd::api::chooseSubprotocol(StreamKind::Exec, "v4.channel.k8s.io") == "v4.channel.k8s.io");
  CHECK(minikd::api::chooseSubprotocol(StreamKind::Exec, "base64.channel.k8s.io").empty());
  CHECK(minikd::api::chooseSubprotocol(StreamKind::PortForward, "SPDY/3.1+portforward.k8s.io") ==
        "SPDY/3.1+portforward.k8s.io");
}
