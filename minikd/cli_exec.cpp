// minikd exec: a command in a container over the API server's websocket (v5.channel.k8s.io), with
// stdin (-i), a terminal (-t: raw mode, resizes) and the command's exit code as ours.
#include "minikd/cli_common.h"
#include "minikd/cli_websocket.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <deque>

namespace minikd::cli {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

/// Puts the terminal on fd 0 into raw mode for the session and restores it on every path.
class RawTerminal {
 public:
  explicit RawTerminal(bool on) {
    if (!on || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }

 private:
  termios saved_{};
  bool active_ = false;
};

std::string resizeMessage() {
  winsize ws{};
  if (::ioctl(1, TIOCGWINSZ, &ws) != 0) return "";
  return std::string(1, '\x04') + R"({"Width":)" + std::to_string(ws.ws_col) + R"(,"Height":)" +
         std::to_string(ws.ws_row) + "}";
}

/// One exec session: stdin → channel 0, channels 1/2 → stdout/stderr, channel 3 → the exit code.
class Session {
 public:
  Session(net::io_context& ioc, Websocket& ws, bool send_stdin, bool tty)
      : ioc_(ioc), ws_(ws), tty_(tty), winch_(ioc, SIGWINCH) {
    if (send_stdin) startStdin();
    if (tty_) watchResize();
  }

  /// Runs until the server closes; the exit code to return.
  int run() {
    readServer();
    ioc_.run();
    return code_;
  }

 private:
  void startStdin() {
    struct stat st{};
    if (::fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {  // a file cannot be polled: send it whole
      std::string all;
      std::array<char, 65536> buf;
      ssize_t n;
      while ((n = ::read(0, buf.data(), buf.size())) > 0) all.append(buf.data(), static_cast<size_t>(n));
      for (size_t off = 0; off < all.size(); off += 32768) send(std::string(1, '\0') + all.substr(off, 32768));
      send(std::string("\xff\x00", 2));
      return;
    }
    stdin_ = std::make_unique<net::posix::stream_descriptor>(ioc_, ::dup(0));
    readStdin();
  }

  void readStdin() {
    stdin_->async_read_some(net::buffer(in_buf_.data() + 1, in_buf_.size() - 1), [this](beast::error_code ec, size_t n) {
      if (ec || n == 0) return send(std::string("\xff\x00", 2));  // EOF: close stdin in the container
      in_buf_[0] = '\0';
      send(std::string(in_buf_.data(), n + 1));
      readStdin();
    });
  }

  void watchResize() {
    std::string msg = resizeMessage();
    if (!msg.empty()) send(msg);
    winch_.async_wait([this](beast::error_code ec, int) {
      if (!ec) watchResize();
    });
  }

  void send(std::string msg) {
    out_.push_back(std::move(msg));
    if (out_.size() == 1) writeNext();
  }

  void writeNext() {
    ws_.async_write(net::buffer(out_.front()), [this](beast::error_code ec, size_t) {
      out_.pop_front();
      if (ec) return out_.clear();
      if (!out_.empty()) writeNext();
    });
  }

  void readServer() {
    ws_.async_read(buf_, [this](beast::error_code ec, size_t) {
      if (ec) return end();
      std::string m = beast::buffers_to_string(buf_.data());
      buf_.consume(buf_.size());
      if (!m.empty()) onMessage(static_cast<unsigned char>(m[0]), std::string_view(m).substr(1));
      readServer();
    });
  }

  void onMessage(unsigned char channel, std::string_view data) {
    if (channel == 1 || channel == 2) {
      int fd = channel == 1 ? 1 : 2;
      while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n <= 0) break;
        data.remove_prefix(static_cast<size_t>(n));
      }
    } else if (channel == 3) {
      status_ = Json::parse(data, nullptr, false);
    }
  }

  void end() {
    if (stdin_) stdin_->close();
    winch_.cancel();
    code_ = exitCode();
  }

  int exitCode() {
    if (!status_.is_object()) {
      std::cerr << "error: the connection to the server ended before the command's exit status arrived\n";
      return 1;
    }
    if (status_.value("status", "") == "Success") return 0;
    if (status_.value("reason", "") == "NonZeroExitCode") {
      for (const auto& c : status_.value("details", Json::object()).value("causes", Json::array()))
        if (c.value("reason", "") == "ExitCode") {
          int code = std::atoi(c.value("message", "1").c_str());
          std::cerr << "command terminated with exit code " << code << "\n";
          return code;
        }
    }
    std::cerr << "error: " << status_.value("message", "the command failed") << "\n";
    return 1;
  }

  net::io_context& ioc_;
  Websocket& ws_;
  bool tty_;
  net::signal_set winch_;
  std::unique_ptr<net::posix::stream_descriptor> stdin_;
  std::array<char, 32769> in_buf_;
  std::deque<std::string> out_;
  beast::flat_buffer buf_;
  Json status_;
  int code_ = 1;
};

}  // namespace

int cmdExec(Context& ctx) {
  const auto& pos = ctx.args.positional;
  std::vector<std::string> command = ctx.args.after_dashes;
  if (pos.empty()) return fail(ctx, "expected 'exec (POD | TYPE/NAME) [-c CONTAINER] [flags] -- COMMAND [args...]'.\nPOD or TYPE/NAME is a required argument for the exec command");
  if (command.empty()) command.assign(pos.begin() + 1, pos.end());
  if (command.empty()) return fail(ctx, "you must specify at least one command for the container");
  Json pod = resolvePod(ctx, pos[0]);
  std::string container = defaultContainer(ctx, pod);
  bool in = ctx.args.flag("stdin"), tty = ctx.args.flag("tty");
  if (tty && !::isatty(0)) {
    ctx.err << "Unable to use a TTY - input is not a terminal or the right kind of file\n";
    tty = false;
  }
  std::string path = objectPath(*api::findResource("", "pods"), pod["metadata"].value("namespace", ctx.ns()),
                                pod["metadata"].value("name", "")) + "/exec";
  for (const auto& c : command) path = withQuery(path, "command", c);
  if (!container.empty()) path = withQuery(path, "container", container);
  if (in) path = withQuery(path, "stdin", "true");
  path = withQuery(path, "stdout", "true");
  if (!tty) path = withQuery(path, "stderr", "true");
  if (tty) path = withQuery(path, "tty", "true");

  const ClusterAccess& access = ctx.access();
  net::io_context ioc;
  ssl::context tls(ssl::context::tls_client);
  if (!access.ca_pem.empty()) tls.add_certificate_authority(net::buffer(access.ca_pem));
  else
    tls.set_default_verify_paths();
  Websocket ws(ioc, tls);
  connectWebsocket(ioc, ws, access, path, "v5.channel.k8s.io");
  RawTerminal raw(tty && in);
  Session session(ioc, ws, in, tty);
  return session.run();
}

}  // namespace minikd::cli
