// kubectl port-forward: SPDY/3.1 inside a websocket. Per forwarded connection the client opens an
// "error" and a "data" stream sharing a requestid and naming the port; once both exist we connect to
// 127.0.0.1:<port> inside the pod's network namespace and relay bytes both ways. A failure is written
// on the error stream (kubectl prints it). FIN on the data stream half-closes; RST ends the pair.
#include "api/errors.h"
#include "api/spdy.h"
#include "api/stream_session.h"
#include "api/ws_writer.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <array>
#include <deque>
#include <iostream>
#include <map>

namespace minikd::api {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

/// The error and data streams of one forwarded connection.
struct Pair {
  uint32_t error_id = 0;
  uint32_t data_id = 0;
  uint16_t port = 0;
  std::unique_ptr<tcp::socket> socket;
  std::array<char, 32 * 1024> buf;
  std::deque<std::string> to_pod;  // client bytes not yet written to the pod
  bool writing = false;
  bool client_fin = false;         // the client will send no more on the data stream
  bool pod_eof = false;            // the pod closed its side
  bool failed = false;
};

template <class Websocket>
class PortForwardSession {
 public:
  PortForwardSession(Websocket& ws, net::io_context& ioc, PodExec& exec, std::string ns, std::string pod)
      : ws_(ws), ioc_(ioc), exec_(exec), ns_(std::move(ns)), pod_(std::move(pod)), writer_(ws, [this] { end(); }) {}

  void run() {
    readClient();
    ioc_.restart();
    ioc_.run();
  }

 private:
  void end() {
    ended_ = true;
    for (auto& [id, p] : pairs_)
      if (p->socket) p->socket->close();
    ioc_.stop();
  }

  void readClient() {
    ws_.async_read(in_, [this](beast::error_code ec, size_t) {
      if (ec) return end();
      codec_.feed(beast::buffers_to_string(in_.data()));
      in_.consume(in_.size());
      try {
        while (auto frame = codec_.next()) onFrame(*frame);
      } catch (const spdy::ProtocolError& e) {
        std::cerr << "port-forward " << ns_ << "/" << pod_ << ": " << e.what() << "\n";
        writer_.send(codec_.goAway(last_stream_, spdy::kProtocolError));
        return writer_.whenFlushed([this] { end(); });
      }
      if (!ended_) readClient();
    });
  }

  void onFrame(const spdy::Frame& f) {
    switch (f.type) {
      case spdy::FrameType::SynStream: return onSynStream(f);
      case spdy::FrameType::Data: return onData(f);
      case spdy::FrameType::RstStream: return onReset(f.stream_id);
      case spdy::FrameType::Ping: return writer_.send(codec_.ping(f.ping_id));
      case spdy::FrameType::GoAway: return writer_.whenFlushed([this] { end(); });
      default: return;  // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do (spdystream does no flow control)
    }
  }

  void onSynStream(const spdy::Frame& f) {
    last_stream_ = std::max(last_stream_, f.stream_id);
    writer_.send(codec_.synReply(f.stream_id, {}));
    std::string type = f.header("streamtype").value_or("");
    std::string request = f.header("requestid").value_or(std::to_string(f.stream_id));
    auto& p = pairs_[request];
    if (!p) p = std::make_unique<Pair>();
    streams_[f.stream_id] = request;
    if (type == "error") p->error_id = f.stream_id;
    if (type == "data") p->data_id = f.stream_id;
    if (type != "error" && type != "data") {
      writer_.send(codec_.rstStream(f.stream_id, spdy::kProtocolError));
      return;
    }
    try {
      int port = std::stoi(f.header("port").value_or("0"));
      if (port <= 0 || port > 65535) throw std::invalid_argument("port");
      p->port = static_cast<uint16_t>(port);
    } catch (const std::exception&) {
      return fail(*p, "invalid port \"" + f.header("port").value_or("") + "\"");
    }
    if (p->error_id && p->data_id && !p->socket && !p->failed) connect(*p);
  }

  void connect(Pair& p) {
    int fd = -1;
    try {
      fd = exec_.connect(ns_, pod_, p.port);
    } catch (const std::exception& e) {
      return fail(p, e.what());
    }
    p.socket = std::make_unique<tcp::socket>(ioc_);
    beast::error_code ec;
    p.socket->assign(tcp::v4(), fd, ec);
    if (ec) {
      ::close(fd);
      return fail(p, "port " + std::to_string(p.port) + ": " + ec.message());
    }
    readPod(p);
    writePod(p);
  }

  /// Tells kubectl why the connection failed, then ends both streams.
  void fail(Pair& p, const std::string& message) {
    p.failed = true;
    if (p.error_id) writer_.send(codec_.data(p.error_id, message, true));
    if (p.data_id) writer_.send(codec_.data(p.data_id, "", true));
  }

  void readPod(Pair& p) {
    p.socket->async_read_some(net::buffer(p.buf), [this, &p](beast::error_code ec, size_t n) {
      if (ended_) return;
      if (ec || n == 0) {
        p.pod_eof = true;
        if (ec && ec != net::error::eof && ec != net::error::operation_aborted)
          writer_.send(codec_.data(p.error_id, "reading from the pod's port " + std::to_string(p.port) + ": " +
                                                   ec.message()));
        // Both ends, the error stream first (kubelet's order): kubectl waits for both.
        writer_.send(codec_.data(p.error_id, "", true));
        writer_.send(codec_.data(p.data_id, "", true));
        return;
      }
      writer_.send(codec_.data(p.data_id, std::string_view(p.buf.data(), n)), [this, &p] {
        if (!ended_ && p.socket) readPod(p);
      });
    });
  }

  void onData(const spdy::Frame& f) {
    auto it = streams_.find(f.stream_id);
    if (it == streams_.end()) return;
    Pair& p = *pairs_[it->second];
    if (f.stream_id != p.data_id) return;  // the client only ever closes its error stream
    if (!f.data.empty()) p.to_pod.push_back(f.data);
    if (f.fin()) p.client_fin = true;
    if (p.socket) writePod(p);
  }

  void writePod(Pair& p) {
    if (p.writing || !p.socket) return;
    if (p.to_pod.empty()) {
      beast::error_code ignored;
      if (p.client_fin) p.socket->shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    p.writing = true;
    net::async_write(*p.socket, net::buffer(p.to_pod.front()), [this, &p](beast::error_code ec, size_t) {
      if (ended_) return;
      p.writing = false;
      p.to_pod.pop_front();
      if (ec) {
        p.to_pod.clear();
        return;
      }
      writePod(p);
    });
  }

  void onReset(uint32_t stream) {
    auto it = streams_.find(stream);
    if (it == streams_.end()) return;
    auto pit = pairs_.find(it->second);
    streams_.erase(it);
    if (pit == pairs_.end()) return;
    Pair& p = *pit->second;
    if (p.socket) p.socket->close();  // pending handlers see operation_aborted
    bool others = streams_.end() != std::find_if(streams_.begin(), streams_.end(),
                                                 [&](const auto& s) { return s.second == pit->first; });
    if (!others) retired_.push_back(std::move(pit->second)), pairs_.erase(pit);
  }

  Websocket& ws_;
  net::io_context& ioc_;
  PodExec& exec_;
  std::string ns_, pod_;
  WsWriter<Websocket> writer_;
  spdy::Codec codec_;
  beast::flat_buffer in_;
  std::map<std::string, std::unique_ptr<Pair>> pairs_;       // by requestid
  std::map<uint32_t, std::string> streams_;                  // stream id → requestid
  std::vector<std::unique_ptr<Pair>> retired_;               // kept until the session ends (handlers may run)
  uint32_t last_stream_ = 0;
  bool ended_ = false;
};

}  // namespace

template <class Websocket>
void servePortForward(Websocket& ws, net::io_context& ioc, PodExec& exec, const std::string& ns,
                      const std::string& pod) {
  PortForwardSession<Websocket> session(ws, ioc, exec, ns, pod);
  session.run();
}

template void servePortForward<PlainWebsocket>(PlainWebsocket&, net::io_context&, PodExec&, const std::string&,
                                               const std::string&);
template void servePortForward<TlsWebsocket>(TlsWebsocket&, net::io_context&, PodExec&, const std::string&,
                                             const std::string&);

}  // namespace minikd::api
