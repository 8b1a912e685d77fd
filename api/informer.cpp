#include "api/informer.h"

#include <iostream>
#include <thread>

namespace minikd::api {

Informer::Informer(Api& api, const ResourceInfo& r, Filter filter) : api_(api), r_(r), filter_(std::move(filter)) {
  filter_.resource = r.key();
}

void Informer::addHandler(Handler h) { handlers_.push_back(std::move(h)); }

void Informer::deliver(EventType type, const ObjectPtr& obj, const ObjectPtr& old) {
  for (auto& h : handlers_) {
    try {
      h(type, obj, old);
    } catch (const std::exception& e) {
      std::cerr << "informer " << r_.key() << ": handler failed: " << e.what() << ", ignoring\n";
    }
  }
}

void Informer::relist() {
  auto res = api_.list(r_, filter_.ns, filter_);
  std::map<std::pair<std::string, std::string>, ObjectPtr> fresh;
  for (auto& o : res.items) fresh[{namespaceOf(*o), nameOf(*o)}] = o;
  std::map<std::pair<std::string, std::string>, ObjectPtr> before;
  {
    std::lock_guard lk(mu_);
    before = cache_;
    cache_ = fresh;
    rv_ = res.resource_version;
  }
  for (auto& [k, o] : before)
    if (!fresh.count(k)) deliver(EventType::Deleted, o, o);
  for (auto& [k, o] : fresh) {
    auto it = before.find(k);
    if (it == before.end())
      deliver(EventType::Added, o, nullptr);
    else if (it->second != o)
      deliver(EventType::Modified, o, it->second);
  }
  synced_ = true;
}

void Informer::syncOnce() { relist(); }

void Informer::run(std::stop_token st) {
  while (!st.stop_requested()) {
    try {
      if (!synced_) relist();
      auto watch = api_.store().watch(filter_, rv_);
      std::stop_callback cb(st, [&] { watch->close(); });
      while (!st.stop_requested()) {
        auto ev = watch->next(std::chrono::seconds(5));
        if (!ev) continue;
        auto key = std::make_pair(namespaceOf(*ev->object), nameOf(*ev->object));
        ObjectPtr old;
        {
          std::lock_guard lk(mu_);
          rv_ = ev->rv;
          auto it = cache_.find(key);
          if (it != cache_.end()) old = it->second;
          if (ev->type == EventType::Deleted)
            cache_.erase(key);
          else
            cache_[key] = ev->object;
        }
        EventType type = ev->type;
        if (type == EventType::Modified && !old) type = EventType::Added;
        deliver(type, ev->object, old);
      }
    } catch (const ApiError& e) {
      if (e.code() != 410) std::cerr << "informer " << r_.key() << ": " << e.what() << ", relisting\n";
      synced_ = false;
    } catch (const std::exception& e) {
      std::cerr << "informer " << r_.key() << ": " << e.what() << ", relisting\n";
      synced_ = false;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

std::vector<ObjectPtr> Informer::items() const {
  std::lock_guard lk(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(cache_.size());
  for (auto& [k, o] : cache_) out.push_back(o);
  return out;
}

ObjectPtr Informer::get(const std::string& ns, const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = cache_.find({ns, name});
  return it == cache_.end() ? nullptr : it->second;
}

void WorkQueue::add(const std::string& key) {
  std::lock_guard lk(mu_);
  if (processing_.count(key)) {
    dirty_.insert(key);
    return;
  }
  if (queued_.insert(key).second) queue_.push_back(key);
  cv_.notify_one();
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard lk(mu_);
  delayed_.emplace(std::chrono::steady_clock::now() + delay, key);
  cv_.notify_one();
}

std::optional<std::string> WorkQueue::get(std::stop_token st) {
  std::unique_lock lk(mu_);
  while (!st.stop_requested()) {
    auto now = std::chrono::steady_clock::now();
    while (!delayed_.empty() && delayed_.begin()->first <= now) {
      std::string key = delayed_.begin()->second;
      delayed_.erase(delayed_.begin());
      if (processing_.count(key))
        dirty_.insert(key);
      else if (queued_.insert(key).second)
        queue_.push_back(key);
    }
    if (!queue_.empty()) {
      std::string key = queue_.front();
      queue_.pop_front();
      queued_.erase(key);
      processing_.insert(key);
      return key;
    }
    auto until = delayed_.empty() ? now + std::chrono::seconds(1) : delayed_.begin()->first;
    // Wake on add() (a ready key) or addAfter() (an earlier deadline), not only at `until`.
    cv_.wait_until(lk, st, until, [&] { return !queue_.empty() || (!delayed_.empty() && delayed_.begin()->first < until); });
  }
  return std::nullopt;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard lk(mu_);
  processing_.erase(key);
  if (dirty_.erase(key) && queued_.insert(key).second) {
    queue_.push_back(key);
    cv_.notify_one();
  }
}

size_t WorkQueue::size() const {
  std::lock_guard lk(mu_);
  return queue_.size() + delayed_.size();
}

void SyncBackoff::handle(WorkQueue& queue, const std::string& key, const std::string& who, const Sync& sync) {
  try {
    auto recheck = sync(key);
    {
      std::lock_guard lk(mu_);
      failures_.erase(key);
    }
    if (recheck) queue.addAfter(key, *recheck);
  } catch (const std::exception& e) {
    int n;
    {
      std::lock_guard lk(mu_);
      n = ++failures_[key];
    }
    auto delay = std::chrono::milliseconds(std::min<int64_t>(int64_t{100} << std::min(n, 9), 30000));
    if (n <= 3 || n % 10 == 0) std::cerr << who << ": sync " << key << ": " << e.what() << ", retrying\n";
    queue.addAfter(key, delay);
  }
}

std::string keyOf(const Json& obj) {
  std::string ns = namespaceOf(obj);
  return ns.empty() ? nameOf(obj) : ns + "/" + nameOf(obj);
}

std::pair<std::string, std::string> splitKey(const std::string& key) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace minikd::api
