#include "minikd/parts.h"
#include "minikd/up.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

namespace minikd {
namespace {

/// The PID in <state-dir>/minikd.pid if that process is a running minikd.
pid_t runningMinikd(const std::string& state_dir) {
  std::ifstream in(state_dir + "/minikd.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  if (!(comm >> name) || name != "minikd") return 0;
  return pid;
}

/// True while `pid` runs. A zombie (ended, not yet reaped by its parent — e.g. an init that reaps
/// slowly) has stopped: kill(pid, 0) alone would keep waiting for it.
bool running(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] != 'Z';
}

}  // namespace

int runDown(int argc, char** argv) {
  UpOptions o = parseUpOptions(argc, argv);
  pid_t pid = runningMinikd(o.state_dir);
  if (pid > 0) {
    std::printf("minikd down: stopping minikd (pid %d)\n", pid);
    if (kill(pid, SIGTERM) != 0) {
      std::perror("minikd down: kill");
      return 1;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (running(pid) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (running(pid)) {
      std::fprintf(stderr, "minikd down: pid %d did not stop within 90 s\n", pid);
      return 1;
    }
  } else {
    std::printf("minikd down: minikd is not running; removing what an earlier run left behind\n");
  }
  cleanupHost(o);
  std::printf("minikd down: done (the store in %s is kept)\n", o.state_dir.c_str());
  return 0;
}

}  // namespace minikd
