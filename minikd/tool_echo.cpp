// `minikd tool echo`: a TCP and UDP echo server on one port.
#include "minikd/tools.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace minikd::tools {
namespace {

/// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

/// A socket of `type` bound to 0.0.0.0:port. Throws std::system_error naming the port.
int boundSocket(int type, int port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "echo: socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(),
                            std::string("echo: bind ") + (type == SOCK_STREAM ? "tcp" : "udp") + " port " + std::to_string(port));
  }
  return fd;
}

void echoConnection(int fd) {
  Fd conn(fd);
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(fd, buf + off, static_cast<size_t>(n - off));
      if (w <= 0) return;
      off += w;
    }
  }
}

void serveTcp(int port) {
  Fd listener(boundSocket(SOCK_STREAM, port));
  if (::listen(listener.get(), 128) != 0) throw std::system_error(errno, std::generic_category(), "echo: listen");
  for (;;) {
    int c = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      throw std::system_error(errno, std::generic_category(), "echo: accept");
    }
    std::thread(echoConnection, c).detach();
  }
}

void serveUdp(int port) {
  Fd sock(boundSocket(SOCK_DGRAM, port));
  char buf[65536];
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    ssize_t n = ::recvfrom(sock.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "echo: recvfrom");
    }
    ::sendto(sock.get(), buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
  }
}

}  // namespace

int runEcho(const Args& args) {
  int port = static_cast<int>(args.getInt("port", 9000));
  bool tcp = !args.has("udp-only"), udp = !args.has("tcp-only");
  std::cerr << "echo: port " << port << (tcp ? " tcp" : "") << (udp ? " udp" : "") << "\n";
  std::thread udp_thread;
  if (udp && tcp) {
    udp_thread = std::thread([port] {
      try {
        serveUdp(port);
      } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
        std::_Exit(1);
      }
    });
    udp_thread.detach();
  }
  if (tcp) serveTcp(port);
  else serveUdp(port);
  return 0;
}

}  // namespace minikd::tools
