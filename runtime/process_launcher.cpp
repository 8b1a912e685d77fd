#include "runtime/process_launcher.h"

#include <signal.h>

#include <mutex>
#include <thread>

namespace minikd::runtime {

RunResult runToCompletion(ProcessLauncher& launcher, ProcessSpec spec, std::chrono::milliseconds timeout) {
  constexpr size_t kCap = 64 * 1024;
  auto collected = std::make_shared<std::pair<std::mutex, std::string>>();
  spec.output = [collected](OutputStream, std::string_view data) {
    std::lock_guard lock(collected->first);
    if (collected->second.size() < kCap) collected->second.append(data.substr(0, kCap - collected->second.size()));
  };
  auto proc = launcher.start(spec);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  RunResult result;
  auto pause = std::chrono::microseconds(200);
  while (!(result.status = proc->poll())) {
    if (std::chrono::steady_clock::now() >= deadline) {
      proc->signal(SIGKILL);
      while (!proc->poll()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      result.status.reset();
      break;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
  }
  // Give the pump a moment to deliver the tail of the output.
  auto drain_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  while (!proc->outputDrained() && std::chrono::steady_clock::now() < drain_deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::lock_guard lock(collected->first);
  result.output = collected->second;
  return result;
}

}  // namespace minikd::runtime
