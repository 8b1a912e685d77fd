#pragma once
// FakeProcessLauncher: records every ProcessSpec it is asked to start and hands out fake processes
// that tests end (exit codes), feed output to, and inspect for signals. SIGKILL always ends a fake
// process (exit 137); SIGTERM ends it (143) unless it was told to ignore SIGTERM.
#include "runtime/process_launcher.h"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace minikd::runtime {

class FakeProcessLauncher : public ProcessLauncher {
 public:
  /// One started process.
  struct Proc {
    ProcessSpec spec;
    int pid = 0;
    std::optional<ExitStatus> status;
    std::vector<int> signals;
    bool ignore_sigterm = false;
    /// Ends the process (as seen by the next poll()).
    void exit(int code);
    /// Writes output as the process would (through spec.output).
    void write(const std::string& data, OutputStream s = OutputStream::Stdout);
  };

  std::unique_ptr<Process> start(const ProcessSpec& spec) override;

  /// start() throws StartError(reason, message) for this argv[0].
  void failCommand(const std::string& argv0, const std::string& reason = "RunContainerError",
                   const std::string& message = "executable file not found in $PATH");
  /// Processes started with this argv[0] ignore SIGTERM.
  void ignoreSigterm(const std::string& argv0);

  /// Every process started, oldest first.
  std::vector<std::shared_ptr<Proc>> started() const;
  /// Processes with this argv[0], oldest first.
  std::vector<std::shared_ptr<Proc>> startedWith(const std::string& argv0) const;
  /// The newest process with this argv[0] (nullptr if none).
  std::shared_ptr<Proc> latest(const std::string& argv0) const;
  /// Processes that have not ended.
  size_t running() const;
  /// The order of signals sent (pid, signal) across all processes.
  std::vector<std::pair<int, int>> signalLog() const;

 private:
  friend class FakeProcess;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Proc>> procs_;
  std::map<std::string, std::pair<std::string, std::string>> failing_;
  std::set<std::string> ignoring_;
  std::vector<std::pair<int, int>> signal_log_;
  int next_pid_ = 1000;
};

}  // namespace minikd::runtime
