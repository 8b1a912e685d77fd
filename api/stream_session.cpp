#include "api/stream_session.h"

#include "api/errors.h"
#include "api/resources.h"
#include "api/ws_writer.h"

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <array>
#include <deque>
#include <sstream>

namespace minikd::api {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;

std::optional<StreamTarget> streamTarget(const std::string& path) {
  // /api/v1/namespaces/{ns}/pods/{name}/{sub}
  std::vector<std::string> seg;
  std::stringstream ss(path);
  std::string s;
  while (std::getline(ss, s, '/'))
    if (!s.empty()) seg.push_back(s);
  if (seg.size() != 7 || seg[0] != "api" || seg[1] != "v1" || seg[2] != "namespaces" || seg[4] != "pods")
    return std::nullopt;
  if (seg[6] == "exec" || seg[6] == "attach") return StreamTarget{StreamKind::Exec, seg[3], seg[5]};
  if (seg[6] == "portforward") return StreamTarget{StreamKind::PortForward, seg[3], seg[5]};
  return std::nullopt;
}

std::string chooseSubprotocol(StreamKind kind, const std::string& offered) {
  std::vector<std::string> offer;
  std::stringstream ss(offered);
  std::string p;
  while (std::getline(ss, p, ',')) {
    while (!p.empty() && p.front() == ' ') p.erase(p.begin());
    while (!p.empty() && p.back() == ' ') p.pop_back();
    offer.push_back(p);
  }
  auto has = [&](const char* name) { return std::find(offer.begin(), offer.end(), name) != offer.end(); };
  const std::vector<const char*> ours = kind == StreamKind::Exec
                                            ? std::vector<const char*>{"v5.channel.k8s.io", "v4.channel.k8s.io"}
                                            : std::vector<const char*>{"SPDY/3.1+portforward.k8s.io"};
  for (const char* name : ours)
    if (has(name)) return name;
  return "";
}

std::string exitStatusJson(int code) {
  if (code == 0) return R"({"metadata":{},"status":"Success"})";
  nlohmann::json st = {
      {"metadata", nlohmann::json::object()},
      {"status", "Failure"},
      {"message", "command terminated with non-zero exit code: exit status " + std::to_string(code)},
      {"reason", "NonZeroExitCode"},
      {"details", {{"causes", {{{"reason", "ExitCode"}, {"message", std::to_string(code)}}}}}}};
  return st.dump();
}

std::string failureStatusJson(const std::string& message) {
  nlohmann::json st = {{"metadata", nlohmann::json::object()},
                       {"status", "Failure"},
                       {"message", message},
                       {"reason", "InternalError"},
                       {"code", 500}};
  return st.dump();
}

namespace {

constexpr char kStdin = 0, kStdout = 1, kStderr = 2, kError = 3, kResize = 4;
constexpr unsigned char kClose = 255;

/// One exec: output → channels 1/2, channel 0 → stdin, resize, and the exit status on channel 3.
template <class Websocket>
class ExecSession {
 public:
  ExecSession(Websocket& ws, net::io_context& ioc, ExecProcess& p)
      : ws_(ws), ioc_(ioc), p_(p), writer_(ws, [this] { clientGone(); }), stdin_(ioc), exit_(ioc), grace_(ioc) {}

  void run() {
    if (p_.stdoutFd() >= 0) startReader(kStdout, p_.stdoutFd());
    if (p_.stderrFd() >= 0) startReader(kStderr, p_.stderrFd());
    if (p_.stdinFd() >= 0) stdin_.assign(::dup(p_.stdinFd()));
    exit_.assign(::dup(p_.exitFd()));
    exit_.async_wait(net::posix::stream_descriptor::wait_read, [this](beast::error_code ec) {
      if (!ec) exited();
    });
    readClient();
    ioc_.restart();
    ioc_.run();
  }

 private:
  struct Reader {
    char channel;
    std::unique_ptr<net::posix::stream_descriptor> fd;
    std::array<char, 32 * 1024> buf;
    bool done = false;
  };

  void startReader(char channel, int fd) {
    auto r = std::make_unique<Reader>();
    r->channel = channel;
    r->fd = std::make_unique<net::posix::stream_descriptor>(ioc_, ::dup(fd));
    readers_.push_back(std::move(r));
    readOutput(*readers_.back());
  }

  void readOutput(Reader& r) {
    r.fd->async_read_some(net::buffer(r.buf.data() + 1, r.buf.size() - 1), [this, &r](beast::error_code ec, size_t n) {
      if (ec || n == 0) {  // EOF (EIO on a pty whose child is gone)
        r.done = true;
        return maybeFinish();
      }
      r.buf[0] = r.channel;
      writer_.send(std::string(r.buf.data(), n + 1), [this, &r] { readOutput(r); });
    });
  }

  void exited() {
    code_ = p_.wait();
    exited_ = true;
    // Output still in the pipes is sent; a background child keeping them open is not waited for.
    grace_.expires_after(std::chrono::milliseconds(500));
    grace_.async_wait([this](beast::error_code ec) {
      if (!ec) finish();
    });
    maybeFinish();
  }

  void maybeFinish() {
    if (!exited_) return;
    for (const auto& r : readers_)
      if (!r->done) return;
    finish();
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    grace_.cancel();
    for (auto& r : readers_) r->fd->close();
    writer_.send(std::string(1, kError) + exitStatusJson(code_));
    writer_.whenFlushed([this] {
      ws_.async_close(websocket::close_code::normal, [this](beast::error_code) { ioc_.stop(); });
    });
  }

  void clientGone() {
    if (!finished_) p_.kill();
    finished_ = true;
    ioc_.stop();
  }

  void readClient() {
    ws_.async_read(in_, [this](beast::error_code ec, size_t) {
      if (ec) return finished_ ? ioc_.stop() : clientGone();
      std::string msg = beast::buffers_to_string(in_.data());
      in_.consume(in_.size());
      onClientMessage(msg);
      readClient();
    });
  }

  void onClientMessage(const std::string& msg) {
    if (msg.empty()) return;
    unsigned char channel = static_cast<unsigned char>(msg[0]);
    if (channel == kStdin && msg.size() > 1 && stdin_.is_open()) {
      stdin_queue_.push_back(msg.substr(1));
      if (stdin_queue_.size() == 1) writeStdin();
    } else if (channel == kResize) {
      auto size = nlohmann::json::parse(msg.substr(1), nullptr, false);
      if (size.is_object())
        p_.resize(static_cast<uint16_t>(size.value("Width", 0)), static_cast<uint16_t>(size.value("Height", 0)));
    } else if (channel == kClose && msg.size() > 1 && msg[1] == kStdin) {
      stdin_eof_ = true;
      if (stdin_queue_.empty()) closeStdin();
    }
  }

  void writeStdin() {
    net::async_write(stdin_, net::buffer(stdin_queue_.front()), [this](beast::error_code ec, size_t) {
      stdin_queue_.pop_front();
      if (ec) stdin_queue_.clear();
      if (!stdin_queue_.empty()) return writeStdin();
      if (stdin_eof_ || ec) closeStdin();
    });
  }

  void closeStdin() {
    beast::error_code ignored;
    stdin_.close(ignored);
    p_.closeStdin();
  }

  Websocket& ws_;
  net::io_context& ioc_;
  ExecProcess& p_;
  WsWriter<Websocket> writer_;
  net::posix::stream_descriptor stdin_;
  net::posix::stream_descriptor exit_;
  net::steady_timer grace_;
  std::vector<std::unique_ptr<Reader>> readers_;
  std::deque<std::string> stdin_queue_;
  beast::flat_buffer in_;
  bool stdin_eof_ = false;
  bool exited_ = false;
  bool finished_ = false;
  int code_ = 0;
};

}  // namespace

template <class Websocket>
void serveExec(Websocket& ws, net::io_context& ioc, ExecProcess& process) {
  ExecSession<Websocket> session(ws, ioc, process);
  session.run();
}

template <class Websocket>
void failExec(Websocket& ws, const std::string& message) {
  beast::error_code ec;
  ws.write(net::buffer(std::string(1, kError) + failureStatusJson(message)), ec);
  if (!ec) ws.close(websocket::close_code::normal, ec);
}

template void serveExec<PlainWebsocket>(PlainWebsocket&, net::io_context&, ExecProcess&);
template void serveExec<TlsWebsocket>(TlsWebsocket&, net::io_context&, ExecProcess&);
template void failExec<PlainWebsocket>(PlainWebsocket&, const std::string&);
template void failExec<TlsWebsocket>(TlsWebsocket&, const std::string&);

}  // namespace minikd::api
