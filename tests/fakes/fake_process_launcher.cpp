#include "fakes/fake_process_launcher.h"

#include <signal.h>

namespace minikd::runtime {

namespace {
std::mutex& procMutex() {
  static std::mutex mu;  // guards every Proc's mutable fields (fakes only)
  return mu;
}
}  // namespace

class FakeProcess : public Process {
 public:
  FakeProcess(FakeProcessLauncher& launcher, std::shared_ptr<FakeProcessLauncher::Proc> p)
      : launcher_(launcher), p_(std::move(p)) {}
  int pid() const override { return p_->pid; }
  std::optional<ExitStatus> poll() override {
    std::lock_guard lock(procMutex());
    return p_->status;
  }
  void signal(int sig) override {
    {
      std::lock_guard lock(launcher_.mu_);
      launcher_.signal_log_.emplace_back(p_->pid, sig);
    }
    std::lock_guard lock(procMutex());
    if (p_->status) return;
    p_->signals.push_back(sig);
    if (sig == SIGKILL || (sig == SIGTERM && !p_->ignore_sigterm))
      p_->status = ExitStatus{.code = 128 + sig, .signal = sig};
  }
  bool outputDrained() const override { return true; }

 private:
  FakeProcessLauncher& launcher_;
  std::shared_ptr<FakeProcessLauncher::Proc> p_;
};

void FakeProcessLauncher::Proc::exit(int code) {
  std::lock_guard lock(procMutex());
  if (!status) status = ExitStatus{.code = code, .signal = 0};
}

void FakeProcessLauncher::Proc::write(const std::string& data, OutputStream s) {
  if (spec.output) spec.output(s, data);
}

std::unique_ptr<Process> FakeProcessLauncher::start(const ProcessSpec& spec) {
  std::lock_guard lock(mu_);
  std::string argv0 = spec.argv.empty() ? "" : spec.argv[0];
  if (auto it = failing_.find(argv0); it != failing_.end())
    throw StartError(it->second.first, "exec: \"" + argv0 + "\": " + it->second.second);
  auto p = std::make_shared<Proc>();
  p->spec = spec;
  p->pid = next_pid_++;
  p->ignore_sigterm = ignoring_.count(argv0) > 0;
  procs_.push_back(p);
  return std::make_unique<FakeProcess>(*this, p);
}

void FakeProcessLauncher::failCommand(const std::string& argv0, const std::string& reason, const std::string& message) {
  std::lock_guard lock(mu_);
  failing_[argv0] = {reason, message};
}

void FakeProcessLauncher::ignoreSigterm(const std::string& argv0) {
  std::lock_guard lock(mu_);
  ignoring_.insert(argv0);
}

std::vector<std::shared_ptr<FakeProcessLauncher::Proc>> FakeProcessLauncher::started() const {
  std::lock_guard lock(mu_);
  return procs_;
}

std::vector<std::shared_ptr<FakeProcessLauncher::Proc>> FakeProcessLauncher::startedWith(const std::string& argv0) const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Proc>> out;
  for (const auto& p : procs_)
    if (!p->spec.argv.empty() && p->spec.argv[0] == argv0) out.push_back(p);
  return out;
}

std::shared_ptr<FakeProcessLauncher::Proc> FakeProcessLauncher::latest(const std::string& argv0) const {
  auto all = startedWith(argv0);
  return all.empty() ? nullptr : all.back();
}

size_t FakeProcessLauncher::running() const {
  std::lock_guard lock(mu_);
  std::lock_guard plock(procMutex());
  size_t n = 0;
  for (const auto& p : procs_)
    if (!p->status) ++n;
  return n;
}

std::vector<std::pair<int, int>> FakeProcessLauncher::signalLog() const {
  std::lock_guard lock(mu_);
  return signal_log_;
}

}  // namespace minikd::runtime
