#pragma once
// FakeProber: answers probes at once with results the test sets. A probe is identified by its
// handler: exec → command[0], httpGet → path, tcpSocket → "tcp:<port>". Unset probes succeed.
#include "runtime/prober.h"

#include <map>
#include <mutex>

namespace minikd::runtime {

class FakeProber : public Prober {
 public:
  std::future<ProbeResult> probe(const nlohmann::json& probe, const ProbeContext& ctx) override {
    std::lock_guard lock(mu_);
    std::string key = keyOf(probe);
    ++calls_[key];
    last_ctx_[key] = ctx;
    std::promise<ProbeResult> p;
    auto it = results_.find(key);
    p.set_value(it == results_.end() ? ProbeResult{true, ""} : it->second);
    return p.get_future();
  }
  void set(const std::string& key, bool success, const std::string& message = "probe says no") {
    std::lock_guard lock(mu_);
    results_[key] = ProbeResult{success, success ? "" : message};
  }
  int calls(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(key);
    return it == calls_.end() ? 0 : it->second;
  }
  ProbeContext lastContext(const std::string& key) const {
    std::lock_guard lock(mu_);
    return last_ctx_.at(key);
  }
  static std::string keyOf(const nlohmann::json& probe) {
    if (probe.contains("exec")) return probe["exec"]["command"][0].get<std::string>();
    if (probe.contains("httpGet")) return probe["httpGet"].value("path", "/");
    if (probe.contains("tcpSocket")) return "tcp:" + probe["tcpSocket"]["port"].dump();
    return "";
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, ProbeResult> results_;
  std::map<std::string, int> calls_;
  std::map<std::string, ProbeContext> last_ctx_;
};

}  // namespace minikd::runtime
