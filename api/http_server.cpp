// ApiServer on Boost.Beast: one thread per connection, each with its own io_context so that every
// operation can carry a timeout (beast::tcp_stream) and a websocket session can run asynchronously
// in that same thread. cpp-httplib could not take over a connection for a websocket upgrade.
#include "api/server.h"
#include "api/stream_session.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

namespace minikd::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

constexpr auto kReadTimeout = std::chrono::seconds(60);   // idle keep-alive and request read
constexpr auto kWriteTimeout = std::chrono::seconds(60);  // a client that stops reading

/// Runs one asynchronous operation on the connection's own io_context to completion.
template <class Start>
beast::error_code complete(net::io_context& ioc, Start&& start) {
  beast::error_code result = net::error::operation_aborted;
  start([&result](beast::error_code ec, std::size_t = 0) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

HttpRequest toRequest(const http::request<http::string_body>& in, const std::string& remote) {
  HttpRequest r;
  r.method = std::string(in.method_string());
  std::string_view target(in.target().data(), in.target().size());
  size_t q = target.find('?');
  r.path = urlDecode(target.substr(0, q), false);
  if (q != std::string_view::npos) r.params = parseQuery(target.substr(q + 1));
  for (const auto& f : in) r.headers.emplace(std::string(f.name_string()), std::string(f.value()));
  r.body = in.body();
  r.remote_addr = remote;
  return r;
}

/// A chunked response body written to the connection.
template <class Stream>
class ChunkSink : public StreamSink {
 public:
  ChunkSink(net::io_context& ioc, Stream& stream, int fd, const ApiHandler& handler)
      : ioc_(ioc), stream_(stream), fd_(fd), handler_(handler) {}
  bool write(std::string_view chunk) override {
    if (failed_ || chunk.empty()) return !failed_;
    beast::get_lowest_layer(stream_).expires_after(kWriteTimeout);
    failed_ = static_cast<bool>(complete(ioc_, [&](auto handler) {
      net::async_write(stream_, http::make_chunk(net::const_buffer(chunk.data(), chunk.size())), handler);
    }));
    return !failed_;
  }
  bool open() override {
    if (failed_ || handler_.closing()) return false;
    pollfd p{fd_, POLLRDHUP, 0};
    if (::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) failed_ = true;
    return !failed_;
  }
  bool failed() const { return failed_; }

 private:
  net::io_context& ioc_;
  Stream& stream_;
  int fd_;
  const ApiHandler& handler_;
  bool failed_ = false;
};

}  // namespace

class ApiServer::Impl {
 public:
  Impl(const ServerConfig& config, ApiHandler& handler) : config_(config), handler_(handler), acceptor_(accept_ioc_) {
    if (config_.cert_file.empty()) return;
    tls_.emplace(ssl::context::tls_server);
    tls_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    try {
      tls_->use_certificate_chain_file(config_.cert_file);
      tls_->use_private_key_file(config_.key_file, ssl::context::pem);
    } catch (const std::exception& e) {
      throw std::runtime_error("API server: cannot load TLS certificate " + config_.cert_file + ": " + e.what());
    }
  }

  ~Impl() { stop(); }

  int bind() {
    beast::error_code ec;
    net::ip::address addr = net::ip::make_address(config_.host, ec);
    if (ec) {
      tcp::resolver resolver(accept_ioc_);
      auto results = resolver.resolve(config_.host, "", ec);
      if (ec || results.empty()) throw std::runtime_error("API server: cannot resolve " + config_.host);
      addr = results.begin()->endpoint().address();
    }
    tcp::endpoint ep(addr, static_cast<unsigned short>(config_.port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      throw std::runtime_error("API server: cannot listen on " + config_.host + ":" + std::to_string(config_.port) +
                               " (" + ec.message() + ")");
    return acceptor_.local_endpoint().port();
  }

  void run() {
    while (!stopping_) {
      beast::error_code ec;
      tcp::socket socket = acceptor_.accept(ec);
      if (stopping_) break;
      if (ec) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // EMFILE and the like: do not spin
        continue;
      }
      std::string remote = socket.remote_endpoint(ec).address().to_string();
      socket.set_option(tcp::no_delay(true), ec);  // without it Nagle + delayed ACK add ~40 ms
      auto protocol = socket.local_endpoint(ec).protocol();
      std::lock_guard lock(mu_);
      if (active_ >= config_.max_connections) continue;  // closed by the socket's destructor
      int fd = socket.release();
      ++active_;
      std::thread([this, fd, protocol, remote] { serve(fd, protocol, remote); }).detach();
    }
    beast::error_code ec;
    acceptor_.close(ec);
  }

  void stop() {
    if (stopping_.exchange(true)) return;
    handler_.closeStreams();
    if (acceptor_.is_open()) ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    std::unique_lock lock(mu_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    if (!done_.wait_for(lock, std::chrono::seconds(10), [this] { return active_ == 0; }))
      std::cerr << "API server: " << active_ << " connection(s) did not end in time\n";
  }

 private:
  void serve(int fd, tcp protocol, const std::string& remote) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) ::shutdown(fd, SHUT_RDWR);
      fds_.insert(fd);
    }
    // Forgets fd before the stream that owns it closes it: stop() must never shut down a reused number.
    struct Unregister {
      Impl& impl;
      int fd;
      ~Unregister() {
        std::lock_guard lock(impl.mu_);
        impl.fds_.erase(fd);
      }
    };
    try {
      net::io_context ioc;
      beast::tcp_stream tcp_stream(ioc);
      tcp_stream.socket().assign(protocol, fd);
      if (!tls_) {
        Unregister unregister{*this, fd};
        session(ioc, tcp_stream, fd, remote);
      } else {
        beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), *tls_);
        Unregister unregister{*this, fd};
        beast::get_lowest_layer(tls).expires_after(kReadTimeout);
        if (!complete(ioc, [&](auto h) { tls.async_handshake(ssl::stream_base::server, h); }))
          session(ioc, tls, fd, remote);
      }
    } catch (const std::exception& e) {
      std::cerr << "API server: connection from " << remote << ": " << e.what() << "\n";
    }
    std::lock_guard lock(mu_);
    fds_.erase(fd);  // (when the stream never took it)
    if (--active_ == 0) done_.notify_all();
  }

  /// Requests on one connection until it closes, times out, or is upgraded.
  template <class Stream>
  void session(net::io_context& ioc, Stream& stream, int fd, const std::string& remote) {
    beast::flat_buffer buffer;
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(64 * 1024);
      parser.body_limit(64 * 1024 * 1024);
      beast::get_lowest_layer(stream).expires_after(kReadTimeout);
      beast::error_code ec = complete(ioc, [&](auto h) { http::async_read_header(stream, buffer, parser, h); });
      if (ec) return;  // closed, timed out, or not HTTP
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        // curl asks before sending a large body; without the answer it waits a second.
        http::response<http::empty_body> go_on{http::status::continue_, parser.get().version()};
        if (complete(ioc, [&](auto h) { http::async_write(stream, go_on, h); })) return;
      }
      if (!parser.is_done()) ec = complete(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); });
      if (ec) return;
      auto& req = parser.get();
      HttpRequest request = toRequest(req, remote);
      bool authorized = config_.token.empty() || request.header("Authorization") == "Bearer " + config_.token;
      if (websocket::is_upgrade(req) && authorized) {
        if (auto target = streamTarget(request.path)) return upgrade(ioc, stream, req, request, *target);
      }
      HttpResponse res;
      handler_.respond(request, res, authorized);
      if (!reply(ioc, stream, fd, res, req.version(), req.keep_alive())) return;
    }
  }

  /// Writes a response; false when the connection is to be closed.
  template <class Stream>
  bool reply(net::io_context& ioc, Stream& stream, int fd, HttpResponse& res, unsigned version, bool keep_alive) {
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    auto status = static_cast<http::status>(res.status);
    if (!res.stream) {
      http::response<http::string_body> out{status, version};
      for (const auto& [k, v] : res.headers) out.insert(k, v);
      out.set(http::field::content_type, res.content_type.empty() ? "text/plain" : res.content_type);
      out.body() = std::move(res.body);
      out.keep_alive(keep_alive);
      out.prepare_payload();
      if (complete(ioc, [&](auto h) { http::async_write(stream, out, h); })) return false;
      return keep_alive;
    }
    http::response<http::empty_body> out{status, version};
    for (const auto& [k, v] : res.headers) out.insert(k, v);
    out.set(http::field::content_type, res.content_type);
    out.chunked(true);
    out.keep_alive(keep_alive);
    http::response_serializer<http::empty_body> sr{out};
    if (complete(ioc, [&](auto h) { http::async_write_header(stream, sr, h); })) return false;
    ChunkSink<Stream> sink(ioc, stream, fd, handler_);
    try {
      res.stream(sink);
    } catch (const std::exception& e) {
      std::cerr << "API server: stream: " << e.what() << "\n";
      return false;  // a chunked body cut short: the client must see the connection end
    }
    if (sink.failed()) return false;
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    if (complete(ioc, [&](auto h) { net::async_write(stream, http::make_chunk_last(), h); })) return false;
    return keep_alive && !handler_.closing();
  }

  /// exec / port-forward: checks, the 101 answer, then the websocket session in this thread.
  template <class Stream>
  void upgrade(net::io_context& ioc, Stream& stream, http::request<http::string_body>& req, const HttpRequest& request,
               const StreamTarget& target) {
    auto fail = [&](const ApiError& e) {
      HttpResponse res;
      res.status = e.code();
      res.setContent(e.toStatus().dump(), "application/json");
      reply(ioc, stream, -1, res, req.version(), false);
    };
    std::string protocol = chooseSubprotocol(target.kind, request.header("Sec-WebSocket-Protocol"));
    std::unique_ptr<ExecProcess> process;
    std::string start_error;
    try {
      PodExec* exec = handler_.podExec();
      if (!exec) throw badRequest("exec and port-forward are not available: minikd runs without its pod runtime");
      if (protocol.empty())
        throw badRequest("no supported websocket subprotocol in \"" + request.header("Sec-WebSocket-Protocol") + "\"");
      handler_.api().get(*findResource("", "pods"), target.ns, target.pod);  // 404 for an unknown pod
      if (target.kind == StreamKind::Exec) {
        // Past this point errors go to the client on channel 3 (kubectl prints them as they are):
        // a non-101 answer would only make kubectl retry with SPDY and report that attempt instead.
        try {
          process = exec->exec(target.ns, target.pod, execOptions(request));
        } catch (const ApiError& e) {
          start_error = e.what();
        }
      }
    } catch (const ApiError& e) {
      return fail(e);
    }
    beast::get_lowest_layer(stream).expires_never();  // the websocket has its own timeouts
    websocket::stream<Stream&> ws(stream);
    ws.set_option(websocket::stream_base::decorator(
        [protocol](websocket::response_type& res) { res.set(http::field::sec_websocket_protocol, protocol); }));
    auto timeouts = websocket::stream_base::timeout::suggested(beast::role_type::server);
    timeouts.idle_timeout = websocket::stream_base::none();
    ws.set_option(timeouts);
    if (complete(ioc, [&](auto h) { ws.async_accept(req, h); })) return;
    ws.binary(true);
    ws.auto_fragment(false);  // one frame per message: fragments of the default 4 KiB cost a TLS record each
    if (target.kind == StreamKind::PortForward) return servePortForward(ws, ioc, *handler_.podExec(), target.ns, target.pod);
    if (!process) return failExec(ws, start_error);
    serveExec(ws, ioc, *process);
  }

  static ExecOptions execOptions(const HttpRequest& req) {
    auto flag = [&](const char* name, bool fallback) {
      if (!req.hasParam(name)) return fallback;
      std::string v = req.param(name);
      return v == "true" || v == "1";
    };
    ExecOptions o;
    o.container = req.param("container");
    o.command = req.paramValues("command");
    o.stdin = flag("stdin", false);
    o.stdout = flag("stdout", false);
    o.stderr = flag("stderr", false);
    o.tty = flag("tty", false);
    if (o.command.empty()) throw badRequest("you must specify at least one command for the container");
    if (!o.stdin && !o.stdout && !o.stderr) throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
    return o;
  }

  const ServerConfig& config_;
  ApiHandler& handler_;
  net::io_context accept_ioc_;
  tcp::acceptor acceptor_;
  std::optional<ssl::context> tls_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable done_;
  std::set<int> fds_;
  int active_ = 0;
};

ApiServer::ApiServer(Api& api, ServerConfig config, PodLogs* logs)
    : config_(std::move(config)), handler_(api, config_.max_body, logs), impl_(std::make_unique<Impl>(config_, handler_)) {}

ApiServer::~ApiServer() { stop(); }

int ApiServer::bind() { return impl_->bind(); }

void ApiServer::run() { impl_->run(); }

void ApiServer::stop() { impl_->stop(); }

}  // namespace minikd::api
