#pragma once
// FakePodNetwork: an in-memory PodNetwork for the runtime's unit tests. Records the bridge and the
// sandboxes, counts calls, and can be told to fail the next ensureSandbox/removeSandbox calls.
#include "net/pod_network.h"

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace minikd::net {

class FakePodNetwork : public PodNetwork {
 public:
  explicit FakePodNetwork(NetworkConfig config = {});

  void ensureBridge() override;
  /// Records the sandbox. Idempotent for the same id (the ip is updated). Throws OsError(EIO, …)
  /// while failEnsure() has failures left; a failed call records nothing.
  Sandbox ensureSandbox(const std::string& id, const std::string& ip) override;
  /// Forgets the sandbox; unknown ids are success. Throws while failRemove() has failures left.
  void removeSandbox(const std::string& id) override;
  std::vector<std::string> listSandboxes() override;
  void removeAll() override;

  // --- test controls and inspection ---
  /// The next `count` ensureSandbox calls throw OsError(err, …).
  void failEnsure(int count = 1, int err = 5 /* EIO */);
  /// The next `count` removeSandbox calls throw OsError(err, …).
  void failRemove(int count = 1, int err = 5 /* EIO */);
  /// The next `count` ensureBridge calls throw OsError(err, …).
  void failBridge(int count = 1, int err = 5 /* EIO */);
  /// Pretends a crashed earlier run left these sandboxes behind (listSandboxes shows them).
  void addLeftover(const std::string& id, const std::string& ip = "");

  bool bridgeUp() const;
  std::optional<Sandbox> sandbox(const std::string& id) const;
  std::map<std::string, Sandbox> sandboxes() const;
  int ensureCalls() const;
  int removeCalls() const;
  int removeAllCalls() const;

 private:
  Sandbox makeSandbox(const std::string& id, const std::string& ip) const;

  NetworkConfig config_;
  mutable std::mutex mu_;
  bool bridge_up_ = false;
  std::map<std::string, Sandbox> sandboxes_;
  int fail_ensure_ = 0, fail_ensure_err_ = 5;
  int fail_remove_ = 0, fail_remove_err_ = 5;
  int fail_bridge_ = 0, fail_bridge_err_ = 5;
  int ensure_calls_ = 0, remove_calls_ = 0, remove_all_calls_ = 0;
};

}  // namespace minikd::net
