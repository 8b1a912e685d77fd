// minikd port-forward: local ports to a pod's ports through the API server (SPDY/3.1 inside a
// websocket, as kubectl ≥ 1.31 does): per local connection an error and a data stream.
#include "api/spdy.h"
#include "api/ws_writer.h"
#include "minikd/cli_common.h"
#include "minikd/cli_websocket.h"

#include <array>
#include <deque>
#include <map>

namespace minikd::cli {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace spdy = api::spdy;
using tcp = net::ip::tcp;

struct Mapping {
  uint16_t local = 0;
  uint16_t remote = 0;
};

/// "8080", "9090:80", ":80" (a free local port).
Mapping parseMapping(const std::string& arg) {
  auto num = [&](const std::string& s) -> uint16_t {
    try {
      size_t used = 0;
      int v = std::stoi(s, &used);
      if (used == s.size() && v >= 0 && v <= 65535) return static_cast<uint16_t>(v);
    } catch (const std::exception&) {
    }
    throw UsageError("error: invalid port \"" + s + "\" in \"" + arg + "\"");
  };
  size_t colon = arg.find(':');
  if (colon == std::string::npos) return {num(arg), num(arg)};
  return {colon == 0 ? uint16_t(0) : num(arg.substr(0, colon)), num(arg.substr(colon + 1))};
}

/// One forwarded connection: the local socket and its two streams.
struct Conn {
  tcp::socket socket;
  uint32_t error_id, data_id;
  uint16_t local, remote;
  std::array<char, 32 * 1024> buf;
  std::deque<std::string> to_local;
  bool writing = false, remote_fin = false;
  bool reading = false;    // a local read, or its DATA frame waiting in the writer, is pending
  bool local_eof = false;  // the local side ended (FIN sent)
  bool closed = false;
};

class Forwarder {
 public:
  Forwarder(net::io_context& ioc, Websocket& ws, std::ostream& out, std::ostream& err)
      : ioc_(ioc), ws_(ws), out_(out), err_(err), writer_(ws, [this] { ioc_.stop(); }) {}

  void listen(const std::string& address, const Mapping& m) {
    auto acceptor = std::make_unique<tcp::acceptor>(ioc_);
    tcp::endpoint ep(net::ip::make_address(address), m.local);
    acceptor->open(ep.protocol());
    acceptor->set_option(net::socket_base::reuse_address(true));
    acceptor->bind(ep);
    acceptor->listen();
    uint16_t local = acceptor->local_endpoint().port();
    out_ << "Forwarding from " << address << ":" << local << " -> " << m.remote << std::endl;
    acceptors_.push_back(std::move(acceptor));
    accept(*acceptors_.back(), local, m.remote);
  }

  void run() {
    readServer();
    ioc_.run();
  }

 private:
  void accept(tcp::acceptor& a, uint16_t local, uint16_t remote) {
    a.async_accept([this, &a, local, remote](beast::error_code ec, tcp::socket s) {
      if (ec) return;
      out_ << "Handling connection for " << local << std::endl;
      open(std::move(s), local, remote);
      accept(a, local, remote);
    });
  }

  void open(tcp::socket s, uint16_t local, uint16_t remote) {
    uint32_t error_id = next_id_, data_id = next_id_ + 2;
    next_id_ += 4;
    std::string request = std::to_string(request_id_++);
    auto c = std::make_unique<Conn>(Conn{std::move(s), error_id, data_id, local, remote, {}, {}});
    spdy::HeaderList h = {{"streamtype", "error"}, {"port", std::to_string(remote)}, {"requestid", request}};
    writer_.send(codec_.synStream(error_id, 0, h));
    writer_.send(codec_.data(error_id, "", true));  // nothing to say on it
    h[0].second = "data";
    writer_.send(codec_.synStream(data_id, 0, h));
    Conn& ref = *c;
    conns_[data_id] = std::move(c);
    by_error_[error_id] = data_id;
    readLocal(ref);
  }

  void readLocal(Conn& c) {
    c.reading = true;
    c.socket.async_read_some(net::buffer(c.buf), [this, &c](beast::error_code ec, size_t n) {
      if (c.closed) return done(c);
      if (ec || n == 0) {
        c.local_eof = true;
        writer_.send(codec_.data(c.data_id, "", true));
        return done(c);
      }
      writer_.send(codec_.data(c.data_id, std::string_view(c.buf.data(), n)), [this, &c] {
        if (c.closed) return done(c);
        readLocal(c);
      });
    });
  }

  /// The local read side is idle: forgets the connection once nothing of it is pending.
  void done(Conn& c) {
    c.reading = false;
    reap(c);
  }

  void reap(Conn& c) {
    bool finished = c.closed || (c.local_eof && c.remote_fin && c.to_local.empty());
    if (!finished || c.reading || c.writing) return;
    close(c);
    by_error_.erase(c.error_id);
    conns_.erase(c.data_id);  // destroys c
  }

  void writeLocal(Conn& c) {
    if (c.writing) return;
    if (c.to_local.empty() || c.closed) {
      if (c.remote_fin && !c.closed) close(c);  // the pod's side ended: so does the local one (as kubectl)
      return reap(c);
    }
    c.writing = true;
    net::async_write(c.socket, net::buffer(c.to_local.front()), [this, &c](beast::error_code ec, size_t) {
      c.writing = false;
      c.to_local.pop_front();
      if (ec) close(c);
      writeLocal(c);
    });
  }

  /// Ends the local connection; pending operations finish with operation_aborted.
  void close(Conn& c) {
    c.closed = true;
    beast::error_code ignored;
    c.socket.shutdown(tcp::socket::shutdown_both, ignored);
    c.socket.close(ignored);
  }

  void readServer() {
    ws_.async_read(in_, [this](beast::error_code ec, size_t) {
      if (ec) {
        err_ << "error: lost connection to the pod\n";
        return ioc_.stop();
      }
      codec_.feed(beast::buffers_to_string(in_.data()));
      in_.consume(in_.size());
      while (auto f = codec_.next()) onFrame(*f);
      readServer();
    });
  }

  void onFrame(const spdy::Frame& f) {
    if (f.type == spdy::FrameType::Ping) return writer_.send(codec_.ping(f.ping_id));
    if (f.type == spdy::FrameType::GoAway) return ioc_.stop();
    uint32_t data_id = f.stream_id;
    if (auto e = by_error_.find(f.stream_id); e != by_error_.end()) data_id = e->second;
    auto it = conns_.find(data_id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    if (f.type == spdy::FrameType::RstStream) {
      close(c);
      return reap(c);
    }
    if (f.type != spdy::FrameType::Data) return;
    if (f.stream_id == c.error_id) {
      if (!f.data.empty())
        err_ << "error: an error occurred forwarding " << c.local << " -> " << c.remote << ": " << f.data << "\n";
      return;
    }
    if (!f.data.empty()) c.to_local.push_back(f.data);
    if (f.fin()) c.remote_fin = true;
    writeLocal(c);
  }

  net::io_context& ioc_;
  Websocket& ws_;
  std::ostream& out_;
  std::ostream& err_;
  api::WsWriter<Websocket> writer_;
  spdy::Codec codec_;
  beast::flat_buffer in_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::map<uint32_t, std::unique_ptr<Conn>> conns_;  // by data stream id, until nothing of it is pending
  std::map<uint32_t, uint32_t> by_error_;           // error stream id → data stream id
  uint32_t next_id_ = 1;
  int request_id_ = 0;
};

/// The pod port a port argument means: for a Service, its port's targetPort (by number or by the
/// container port's name), else the number itself.
uint16_t podPort(const Json& service, const Json& pod, uint16_t port) {
  for (const auto& p : service.value("spec", Json::object()).value("ports", Json::array())) {
    if (p.value("port", 0) != port) continue;
    const Json target = p.value("targetPort", Json(port));
    if (target.is_number_integer()) return static_cast<uint16_t>(target.get<int>());
    for (const auto& c : pod["spec"].value("containers", Json::array()))
      for (const auto& cp : c.value("ports", Json::array()))
        if (cp.value("name", "") == target.get<std::string>()) return static_cast<uint16_t>(cp.value("containerPort", 0));
    throw UsageError("error: Pod '" + pod["metadata"].value("name", "") + "' does not have a named port '" +
                     target.get<std::string>() + "'");
  }
  return port;
}

}  // namespace

int cmdPortForward(Context& ctx) {
  const auto& pos = ctx.args.positional;
  if (pos.size() < 2)
    return fail(ctx, "TYPE/NAME and list of ports are required for port-forward\nSee 'minikd port-forward -h' for help and examples");
  Json pod = resolvePod(ctx, pos[0]);
  Json service;
  if (pos[0].rfind("svc/", 0) == 0 || pos[0].rfind("service/", 0) == 0 || pos[0].rfind("services/", 0) == 0)
    service = ctx.api().get(objectPath(*api::findResource("", "services"), ctx.ns(), pos[0].substr(pos[0].find('/') + 1)));
  std::vector<Mapping> mappings;
  for (size_t i = 1; i < pos.size(); ++i) {
    Mapping m = parseMapping(pos[i]);
    if (service.is_object()) m.remote = podPort(service, pod, m.remote);
    mappings.push_back(m);
  }
  std::string path = objectPath(*api::findResource("", "pods"), pod["metadata"].value("namespace", ctx.ns()),
                                pod["metadata"].value("name", "")) + "/portforward";
  const ClusterAccess& access = ctx.access();
  net::io_context ioc;
  net::ssl::context tls(net::ssl::context::tls_client);
  if (!access.ca_pem.empty()) tls.add_certificate_authority(net::buffer(access.ca_pem));
  else
    tls.set_default_verify_paths();
  Websocket ws(ioc, tls);
  connectWebsocket(ioc, ws, access, path, "SPDY/3.1+portforward.k8s.io");
  Forwarder f(ioc, ws, ctx.out, ctx.err);
  std::string address = ctx.args.get("address", "127.0.0.1");
  if (address == "localhost") address = "127.0.0.1";
  for (const auto& m : mappings) f.listen(address, m);
  f.run();
  return 1;  // only a lost connection ends it (Ctrl-C otherwise)
}

}  // namespace minikd::cli
