// `minikd tool pause`: does nothing until asked to stop (SIGTERM or SIGINT), then exits 0.
#include "minikd/tools.h"

#include <csignal>
#include <iostream>
#include <system_error>

namespace minikd::tools {

int runPause(const Args&) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0)
    throw std::system_error(rc, std::generic_category(), "pause: block signals");
  int sig = 0;
  if (int rc = sigwait(&set, &sig); rc != 0) throw std::system_error(rc, std::generic_category(), "pause: sigwait");
  std::cerr << "pause: got " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << ", exiting\n";
  return 0;
}

}  // namespace minikd::tools
