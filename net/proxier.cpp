#include "net/proxier.h"

#include "api/resources.h"

#include <iostream>
#include <thread>

namespace minikd::net {

namespace {

const api::ResourceInfo& resource(const char* group, const char* plural) {
  const api::ResourceInfo* r = api::findResource(group, plural);
  if (!r) throw std::logic_error(std::string("proxy: resource ") + plural + " is not registered");
  return *r;
}

std::string key(const std::string& ns, const std::string& name) { return ns + "/" + name; }

}  // namespace

Proxier::Proxier(api::Api& api, NftBackend& backend, ProxyConfig config)
    : api_(api),
      backend_(backend),
      config_(std::move(config)),
      services_informer_(api, resource("", "services")),
      slices_informer_(api, resource("discovery.k8s.io", "endpointslices")),
      planner_(config_) {
  services_informer_.addHandler(
      [this](api::EventType t, const api::ObjectPtr& obj, const api::ObjectPtr&) { onService(t, obj); });
  slices_informer_.addHandler(
      [this](api::EventType t, const api::ObjectPtr& obj, const api::ObjectPtr&) { onSlice(t, obj); });
}

// Handlers only record what changed and ask for a sync.
void Proxier::onService(api::EventType type, const api::ObjectPtr& obj) {
  std::string k = key(api::namespaceOf(*obj), api::nameOf(*obj));
  std::optional<ServiceInfo> info;
  if (type != api::EventType::Deleted) info = parseService(*obj);
  std::lock_guard lk(mu_);
  auto it = services_.find(k);
  if (!info) {
    if (it == services_.end()) return;
    services_.erase(it);
  } else {
    if (it != services_.end() && it->second == *info) return;
    services_[k] = std::move(*info);
  }
  changed_.insert(k);
  requestSyncLocked();
}

void Proxier::onSlice(api::EventType type, const api::ObjectPtr& obj) {
  std::string ns = api::namespaceOf(*obj), name = api::nameOf(*obj);
  std::string slice_key = key(ns, name);
  std::optional<SliceInfo> info;
  if (type != api::EventType::Deleted) info = parseSlice(*obj);
  std::lock_guard lk(mu_);
  auto owner = slice_owner_.find(slice_key);
  if (owner != slice_owner_.end()) {
    auto& group = slices_[owner->second];
    auto old = group.find(name);
    if (info && owner->second == key(ns, info->service) && old != group.end() && old->second == *info) return;
    group.erase(name);
    if (group.empty()) slices_.erase(owner->second);
    changed_.insert(owner->second);
    slice_owner_.erase(owner);
  }
  if (info) {
    std::string svc = key(ns, info->service);
    slices_[svc][name] = std::move(*info);
    slice_owner_[slice_key] = svc;
    changed_.insert(svc);
  }
  requestSyncLocked();
}

void Proxier::requestSyncLocked() {
  sync_requested_ = true;
  cv_.notify_all();
}

ProxySnapshot Proxier::takeSnapshot(bool& full, std::set<std::string>& changed) {
  std::lock_guard lk(mu_);
  full = need_full_sync_ || !planner_.hasApplied();
  sync_requested_ = false;
  ProxySnapshot snap;
  auto add = [&](const std::string& k) {
    auto s = services_.find(k);
    if (s == services_.end()) return;
    snap.services[k] = s->second;
    auto sl = slices_.find(k);
    if (sl == slices_.end()) return;
    for (auto& [_, slice] : sl->second) snap.slices[k].push_back(slice);
  };
  if (full) {
    for (auto& [k, _] : services_) add(k);
  } else {
    changed = changed_;
    for (auto& k : changed) add(k);
  }
  changed_.clear();
  return snap;
}

bool Proxier::syncOnce() {
  bool full = false;
  std::set<std::string> changed;
  ProxySnapshot snap = takeSnapshot(full, changed);
  try {
    NftTransaction tx = full ? planner_.planFull(snap) : planner_.planChanges(snap, changed);
    if (!tx.empty()) backend_.apply(tx);
    planner_.commit();
  } catch (const std::exception& e) {
    if (!last_failed_)
      std::cerr << "proxy: sync of table ip " << config_.table << " failed: " << e.what()
                << ", retrying with a full resync\n";
    last_failed_ = true;
    planner_.reset();
    std::lock_guard lk(mu_);
    need_full_sync_ = true;
    ++stats_.failures;
    return false;
  }
  if (last_failed_) std::cerr << "proxy: sync of table ip " << config_.table << " recovered\n";
  last_failed_ = false;
  std::lock_guard lk(mu_);
  if (full) {
    need_full_sync_ = false;
    ++stats_.full_syncs;
  }
  ++stats_.syncs;
  stats_.services = planner_.appliedServices();
  return true;
}

void Proxier::primeCaches() {
  services_informer_.syncOnce();
  slices_informer_.syncOnce();
}

void Proxier::run(std::stop_token st) {
  std::jthread services([this](std::stop_token t) { services_informer_.run(t); });
  std::jthread slices([this](std::stop_token t) { slices_informer_.run(t); });
  std::stop_callback stop(st, [&] {
    services.request_stop();
    slices.request_stop();
    cv_.notify_all();
  });
  using Clock = std::chrono::steady_clock;
  auto retry = config_.retry_initial;
  auto last_sync = Clock::now() - config_.min_sync_interval;
  while (!st.stop_requested()) {
    {
      std::unique_lock lk(mu_);
      // The first full sync waits for both informers' first list, so that it holds everything.
      cv_.wait_for(lk, st, std::chrono::milliseconds(200), [&] {
        return sync_requested_ && services_informer_.synced() && slices_informer_.synced();
      });
      if (!sync_requested_ || !services_informer_.synced() || !slices_informer_.synced()) continue;
    }
    auto wait = last_sync + config_.min_sync_interval - Clock::now();
    if (wait > Clock::duration::zero()) std::this_thread::sleep_for(wait);
    last_sync = Clock::now();
    if (syncOnce()) {
      retry = config_.retry_initial;
      continue;
    }
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, st, retry, [] { return false; });
    retry = std::min(retry * 2, config_.retry_max);
    sync_requested_ = true;
  }
}

void Proxier::removeAll() {
  backend_.removeTable(config_.table);
  planner_.reset();
  std::lock_guard lk(mu_);
  need_full_sync_ = true;
  sync_requested_ = true;
}

Proxier::Stats Proxier::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

}  // namespace minikd::net
