#include "api/store.h"

#include <openssl/rand.h>
#include <sqlite3.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace minikd::api {
namespace {

std::string nsOf(const Json& obj) {
  const auto& md = obj.at("metadata");
  auto it = md.find("namespace");
  return it != md.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string nameOf(const Json& obj) { return obj.at("metadata").value("name", ""); }

/// Everything but metadata and status: what a change to bumps generation.
Json specPart(const Json& obj) {
  Json copy = obj;
  copy.erase("metadata");
  copy.erase("status");
  return copy;
}

void check(int rc, sqlite3* db, const std::string& what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    throw std::runtime_error("sqlite: " + what + ": " + sqlite3_errmsg(db));
}

void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error(std::string("sqlite: ") + sql + ": " + msg);
  }
}

/// metadata.finalizers, or a namespace's spec.finalizers.
bool hasFinalizers(const Json& obj) {
  auto it = obj["metadata"].find("finalizers");
  if (it != obj["metadata"].end() && it->is_array() && !it->empty()) return true;
  auto spec = obj.find("spec");
  if (spec == obj.end() || !spec->is_object()) return false;
  auto sf = spec->find("finalizers");
  return sf != spec->end() && sf->is_array() && !sf->empty();
}

std::string encodeContinue(int64_t rv, const std::string& ns, const std::string& name) {
  Json j = {{"rv", rv}, {"ns", ns}, {"name", name}};
  std::string raw = j.dump(), out;
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : raw) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

Json decodeContinue(const std::string& token) {
  if (token.size() % 2) throw badRequest("continue token is not valid");
  std::string raw;
  for (size_t i = 0; i < token.size(); i += 2) raw += static_cast<char>(std::stoi(token.substr(i, 2), nullptr, 16));
  Json j = Json::parse(raw, nullptr, false);
  if (j.is_discarded() || !j.contains("ns")) throw badRequest("continue token is not valid");
  return j;
}

}  // namespace

const char* eventTypeName(EventType t) {
  switch (t) {
    case EventType::Added: return "ADDED";
    case EventType::Modified: return "MODIFIED";
    case EventType::Deleted: return "DELETED";
  }
  return "";
}

std::string newUid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return out;
}

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool Filter::matches(const Json& obj) const {
  if (!ns.empty() && nsOf(obj) != ns) return false;
  if (!labels.empty()) {
    auto it = obj["metadata"].find("labels");
    if (!labels.matches(it == obj["metadata"].end() ? Json() : *it)) return false;
  }
  return fields.empty() || fields.matches(obj);
}

Store::Store(const std::string& path, size_t event_window) : event_window_(event_window) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error("open store \"" + path + "\": " + msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  exec(db_, "PRAGMA journal_mode=WAL");
  // NORMAL in WAL mode: a commit is in the OS before the call returns, so it survives a crash or
  // SIGKILL of minikd (not a power cut); FULL would fsync every commit.
  exec(db_, "PRAGMA synchronous=NORMAL");
  exec(db_,
       "CREATE TABLE IF NOT EXISTS objects (resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,"
       " rv INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (resource, namespace, name));"
       "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
       "INSERT OR IGNORE INTO meta VALUES ('rv', 0);");
  check(sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO objects VALUES (?1, ?2, ?3, ?4, ?5)", -1, &upsert_, nullptr),
        db_, "prepare");
  check(sqlite3_prepare_v2(db_, "DELETE FROM objects WHERE resource=?1 AND namespace=?2 AND name=?3", -1, &erase_,
                           nullptr),
        db_, "prepare");
  check(sqlite3_prepare_v2(db_, "UPDATE meta SET value=?1 WHERE key='rv'", -1, &set_rv_, nullptr), db_, "prepare");
  loadAll();
}

Store::~Store() {
  sqlite3_finalize(upsert_);
  sqlite3_finalize(erase_);
  sqlite3_finalize(set_rv_);
  sqlite3_close(db_);
}

void Store::loadAll() {
  sqlite3_stmt* st = nullptr;
  check(sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key='rv'", -1, &st, nullptr), db_, "prepare");
  if (sqlite3_step(st) == SQLITE_ROW) rv_ = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  check(sqlite3_prepare_v2(db_, "SELECT resource, namespace, name, data FROM objects", -1, &st, nullptr), db_,
        "prepare");
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string res = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    std::string ns = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 2));
    auto obj = std::make_shared<Json>(Json::parse(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))));
    objects_[res][{ns, name}] = obj;
  }
  sqlite3_finalize(st);
  window_start_ = rv_;
}

void Store::persist(const std::string& resource, const Json& obj, bool erase, int64_t rv) {
  exec(db_, "BEGIN IMMEDIATE");
  try {
    sqlite3_stmt* st = erase ? erase_ : upsert_;
    std::string ns = nsOf(obj), name = nameOf(obj);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, resource.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, ns.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, name.c_str(), -1, SQLITE_TRANSIENT);
    std::string data;
    if (!erase) {
      data = obj.dump();
      sqlite3_bind_int64(st, 4, rv);
      sqlite3_bind_text(st, 5, data.c_str(), static_cast<int>(data.size()), SQLITE_STATIC);
    }
    check(sqlite3_step(st), db_, "write " + resource + " " + ns + "/" + name);
    sqlite3_reset(st);
    sqlite3_reset(set_rv_);
    sqlite3_bind_int64(set_rv_, 1, rv);
    check(sqlite3_step(set_rv_), db_, "write rv");
    exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

// Called with data_mu_ held exclusively. Persists first: nothing is visible before it is durable.
Json Store::commit(const std::string& resource, EventType type, Json obj, ObjectPtr old) {
  int64_t rv = rv_ + 1;
  obj["metadata"]["resourceVersion"] = std::to_string(rv);
  persist(resource, obj, type == EventType::Deleted, rv);
  rv_ = rv;
  auto ptr = std::make_shared<const Json>(obj);
  auto key = std::make_pair(nsOf(obj), nameOf(obj));
  if (type == EventType::Deleted)
    objects_[resource].erase(key);
  else
    objects_[resource][key] = ptr;
  publish(Event{type, resource, rv, ptr, std::move(old)});
  return obj;
}

void Store::publish(Event ev) {
  {
    std::lock_guard lk(events_mu_);
    events_.push_back(std::move(ev));
    while (events_.size() > event_window_) {
      window_start_ = events_.front().rv;
      events_.pop_front();
    }
  }
  events_cv_.notify_all();
}

Json Store::create(const std::string& resource, Json obj) {
  std::unique_lock lk(data_mu_);
  auto& md = obj["metadata"];
  std::string ns = nsOf(obj), name = nameOf(obj);
  if (objects_[resource].count({ns, name})) throw alreadyExists(resource, name);
  md["uid"] = newUid();
  md["creationTimestamp"] = nowRfc3339();
  md["generation"] = 1;
  md.erase("deletionTimestamp");
  return commit(resource, EventType::Added, std::move(obj), nullptr);
}

ObjectPtr Store::getPtr(const std::string& resource, const std::string& ns, const std::string& name) const {
  std::shared_lock lk(data_mu_);
  auto r = objects_.find(resource);
  if (r == objects_.end()) return nullptr;
  auto it = r->second.find({ns, name});
  return it == r->second.end() ? nullptr : it->second;
}

std::optional<Json> Store::get(const std::string& resource, const std::string& ns, const std::string& name) const {
  auto p = getPtr(resource, ns, name);
  if (!p) return std::nullopt;
  return *p;
}

ListResult Store::list(const Filter& filter, const ListOptions& options) const {
  ListResult out;
  std::pair<std::string, std::string> after;
  bool has_after = false;
  if (!options.continue_token.empty()) {
    Json c = decodeContinue(options.continue_token);
    after = {c["ns"].get<std::string>(), c["name"].get<std::string>()};
    has_after = true;
  }
  std::shared_lock lk(data_mu_);
  out.resource_version = rv_;
  auto r = objects_.find(filter.resource);
  if (r == objects_.end()) return out;
  const auto& objs = r->second;
  auto it = filter.ns.empty() ? objs.begin() : objs.lower_bound({filter.ns, ""});
  if (has_after) it = objs.upper_bound(after);
  std::string name = filter.fields.requiredValue("metadata.name");
  for (; it != objs.end(); ++it) {
    if (!filter.ns.empty() && it->first.first != filter.ns) {
      if (it->first.first > filter.ns) break;
      continue;
    }
    if (!name.empty() && it->first.second != name) continue;
    if (!filter.matches(*it->second)) continue;
    if (options.limit > 0 && static_cast<int64_t>(out.items.size()) == options.limit) {
      const auto& last = *out.items.back();
      out.continue_token = encodeContinue(rv_, nsOf(last), nameOf(last));
      for (; it != objs.end(); ++it)
        if (filter.matches(*it->second)) ++out.remaining;
      break;
    }
    out.items.push_back(it->second);
  }
  return out;
}

Json Store::updateLocked(const std::string& resource, Json obj, ObjectPtr old) {
  auto& md = obj["metadata"];
  const auto& omd = (*old)["metadata"];
  for (const char* k : {"uid", "creationTimestamp", "namespace", "name"})
    if (omd.contains(k)) md[k] = omd[k];
  if (omd.contains("deletionTimestamp")) {
    md["deletionTimestamp"] = omd["deletionTimestamp"];
    if (omd.contains("deletionGracePeriodSeconds") && !md.contains("deletionGracePeriodSeconds"))
      md["deletionGracePeriodSeconds"] = omd["deletionGracePeriodSeconds"];
  }
  int64_t gen = omd.value("generation", int64_t{1});
  if (specPart(obj) != specPart(*old)) ++gen;
  md["generation"] = gen;
  if (md.contains("deletionTimestamp") && !hasFinalizers(obj) && md.value("deletionGracePeriodSeconds", int64_t{0}) == 0)
    return commit(resource, EventType::Deleted, std::move(obj), old);
  return commit(resource, EventType::Modified, std::move(obj), old);
}

Json Store::update(const std::string& resource, Json obj) {
  std::unique_lock lk(data_mu_);
  std::string ns = nsOf(obj), name = nameOf(obj);
  auto& objs = objects_[resource];
  auto it = objs.find({ns, name});
  if (it == objs.end()) throw notFound(resource, name);
  auto want = obj["metadata"].find("resourceVersion");
  if (want != obj["metadata"].end() && want->is_string() && !want->get<std::string>().empty() &&
      *want != (*it->second)["metadata"]["resourceVersion"])
    throw conflict(resource, name, "the object has been modified; please apply your changes to the latest version and try again");
  return updateLocked(resource, std::move(obj), it->second);
}

Json Store::modify(const std::string& resource, const std::string& ns, const std::string& name,
                   const std::function<bool(Json&)>& fn) {
  std::unique_lock lk(data_mu_);
  auto& objs = objects_[resource];
  auto it = objs.find({ns, name});
  if (it == objs.end()) throw notFound(resource, name);
  Json obj = *it->second;
  if (!fn(obj) || obj == *it->second) return *it->second;
  return updateLocked(resource, std::move(obj), it->second);
}

Json Store::remove(const std::string& resource, const std::string& ns, const std::string& name,
                   const DeleteOptions& options) {
  std::unique_lock lk(data_mu_);
  auto& objs = objects_[resource];
  auto it = objs.find({ns, name});
  if (it == objs.end()) throw notFound(resource, name);
  ObjectPtr old = it->second;
  const auto& omd = (*old)["metadata"];
  if (options.uid && *options.uid != omd.value("uid", ""))
    throw conflict(resource, name, "Precondition failed: UID in precondition: " + *options.uid +
                                       ", UID in object meta: " + omd.value("uid", ""));
  if (options.resource_version && *options.resource_version != omd.value("resourceVersion", ""))
    throw conflict(resource, name, "Precondition failed: ResourceVersion in precondition: " +
                                       *options.resource_version + ", ResourceVersion in object meta: " +
                                       omd.value("resourceVersion", ""));
  Json obj = *old;
  bool graceful = options.grace_period_seconds && *options.grace_period_seconds > 0;
  if (hasFinalizers(obj) || graceful) {
    if (omd.contains("deletionTimestamp") && !graceful) return obj;  // already being deleted
    if (omd.contains("deletionTimestamp") && omd.contains("deletionGracePeriodSeconds") &&
        omd["deletionGracePeriodSeconds"].get<int64_t>() <= *options.grace_period_seconds)
      return obj;
    obj["metadata"]["deletionTimestamp"] = omd.value("deletionTimestamp", nowRfc3339());
    if (graceful) obj["metadata"]["deletionGracePeriodSeconds"] = *options.grace_period_seconds;
    return commit(resource, EventType::Modified, std::move(obj), old);
  }
  return commit(resource, EventType::Deleted, std::move(obj), old);
}

std::unique_ptr<Watch> Store::watch(Filter filter, int64_t from_rv) {
  std::lock_guard lk(events_mu_);
  if (from_rv < window_start_)
    throw gone("too old resource version: " + std::to_string(from_rv) + " (" + std::to_string(window_start_ + 1) + ")");
  return std::make_unique<Watch>(*this, std::move(filter), from_rv);
}

int64_t Store::resourceVersion() const {
  std::shared_lock lk(data_mu_);
  return rv_;
}

bool Store::healthy() const {
  std::unique_lock lk(data_mu_);
  return sqlite3_exec(db_, "SELECT 1", nullptr, nullptr, nullptr) == SQLITE_OK;
}

std::optional<Event> Store::nextEvent(Watch& w, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lk(events_mu_);
  while (!w.closed_) {
    if (w.cursor_ < window_start_)
      throw gone("too old resource version: " + std::to_string(w.cursor_) + " (" + std::to_string(window_start_ + 1) + ")");
    size_t idx = static_cast<size_t>(w.cursor_ - window_start_);
    for (; idx < events_.size(); ++idx) {
      const Event& ev = events_[idx];
      w.cursor_ = ev.rv;
      const auto& f = w.filter_;
      if (!f.resource.empty() && ev.resource != f.resource) continue;
      bool now = f.matches(*ev.object);
      bool before = ev.old && f.matches(*ev.old);
      if (ev.type == EventType::Modified && now != before) {
        if (!now && !before) continue;
        return Event{now ? EventType::Added : EventType::Deleted, ev.resource, ev.rv, ev.object, ev.old, ev.encoded};
      }
      if (!now && !(ev.type == EventType::Deleted && before)) continue;
      return ev;
    }
    if (events_cv_.wait_until(lk, deadline) == std::cv_status::timeout) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Event> Watch::next(std::chrono::milliseconds timeout) { return store_.nextEvent(*this, timeout); }

void Watch::close() {
  closed_ = true;
  std::lock_guard lk(store_.events_mu_);
  store_.events_cv_.notify_all();
}

Watch::~Watch() = default;

}  // namespace minikd::api
