// `minikd tool dns`: resolves a name with the system resolver (the pod's /etc/resolv.conf).
#include "minikd/tools.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <iostream>
#include <set>
#include <stdexcept>

namespace minikd::tools {

int runDns(const Args& args) {
  if (args.positional.size() != 1) throw std::invalid_argument("want exactly one name (minikd tool dns web)");
  const std::string& name = args.positional[0];
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    std::cerr << "dns: " << name << ": " << gai_strerror(rc) << "\n";
    return 1;
  }
  std::set<std::string> seen;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* addr = ai->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                                                : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
    if (inet_ntop(ai->ai_family, addr, buf, sizeof buf) && seen.insert(buf).second) std::cout << name << " " << buf << "\n";
  }
  freeaddrinfo(res);
  return 0;
}

}  // namespace minikd::tools
