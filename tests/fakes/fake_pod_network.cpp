#include "fakes/fake_pod_network.h"

#include "net/os_error.h"

#include <cstdio>

namespace minikd::net {

FakePodNetwork::FakePodNetwork(NetworkConfig config) : config_(std::move(config)) {}

Sandbox FakePodNetwork::makeSandbox(const std::string& id, const std::string& ip) const {
  Sandbox s;
  s.id = id;
  s.netns_name = config_.netns_prefix + id;
  s.netns_path = "/run/netns/" + s.netns_name;
  // Same shape as the real one: <veth_prefix><8 hex of a hash of the id>.
  unsigned h = 2166136261u;
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  s.host_veth = config_.veth_prefix + hex;
  s.ip = ip;
  return s;
}

void FakePodNetwork::ensureBridge() {
  std::lock_guard lock(mu_);
  if (fail_bridge_ > 0) {
    --fail_bridge_;
    throw OsError(fail_bridge_err_, "create bridge \"" + config_.bridge + "\" (fake)");
  }
  bridge_up_ = true;
}

Sandbox FakePodNetwork::ensureSandbox(const std::string& id, const std::string& ip) {
  std::lock_guard lock(mu_);
  ++ensure_calls_;
  if (fail_ensure_ > 0) {
    --fail_ensure_;
    throw OsError(fail_ensure_err_, "create sandbox netns \"" + config_.netns_prefix + id + "\" (fake)");
  }
  Sandbox s = makeSandbox(id, ip);
  sandboxes_[id] = s;
  return s;
}

void FakePodNetwork::removeSandbox(const std::string& id) {
  std::lock_guard lock(mu_);
  ++remove_calls_;
  if (fail_remove_ > 0) {
    --fail_remove_;
    throw OsError(fail_remove_err_, "remove netns \"" + config_.netns_prefix + id + "\" (fake)");
  }
  sandboxes_.erase(id);
}

std::vector<std::string> FakePodNetwork::listSandboxes() {
  std::lock_guard lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, s] : sandboxes_) ids.push_back(id);
  return ids;
}

void FakePodNetwork::removeAll() {
  std::lock_guard lock(mu_);
  ++remove_all_calls_;
  sandboxes_.clear();
  bridge_up_ = false;
}

void FakePodNetwork::failEnsure(int count, int err) {
  std::lock_guard lock(mu_);
  fail_ensure_ = count;
  fail_ensure_err_ = err;
}

void FakePodNetwork::failRemove(int count, int err) {
  std::lock_guard lock(mu_);
  fail_remove_ = count;
  fail_remove_err_ = err;
}

void FakePodNetwork::failBridge(int count, int err) {
  std::lock_guard lock(mu_);
  fail_bridge_ = count;
  fail_bridge_err_ = err;
}

void FakePodNetwork::addLeftover(const std::string& id, const std::string& ip) {
  std::lock_guard lock(mu_);
  sandboxes_[id] = makeSandbox(id, ip);
}

bool FakePodNetwork::bridgeUp() const {
  std::lock_guard lock(mu_);
  return bridge_up_;
}

std::optional<Sandbox> FakePodNetwork::sandbox(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = sandboxes_.find(id);
  if (it == sandboxes_.end()) return std::nullopt;
  return it->second;
}

std::map<std::string, Sandbox> FakePodNetwork::sandboxes() const {
  std::lock_guard lock(mu_);
  return sandboxes_;
}

int FakePodNetwork::ensureCalls() const {
  std::lock_guard lock(mu_);
  return ensure_calls_;
}

int FakePodNetwork::removeCalls() const {
  std::lock_guard lock(mu_);
  return remove_calls_;
}

int FakePodNetwork::removeAllCalls() const {
  std::lock_guard lock(mu_);
  return remove_all_calls_;
}

}  // namespace minikd::net
