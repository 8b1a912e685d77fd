// Server-side apply and managedFields, after sigs.k8s.io/structured-merge-diff (fieldpath sets,
// FieldsV1 encoding, list types from the kinds' +listType/+listMapKey tags).
#include "api/apply.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace minikd::api {
namespace {

// ---------------------------------------------------------------------------------------------
// List and map types (SSA's, which differ from strategic merge patch's in places)

struct ListType {
  enum Kind { Atomic, Set, Map } kind = Atomic;
  std::vector<std::string> keys;  // Map: the listMapKeys, sorted
};

bool startsWith(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

/// A workload's pod template folded onto the pod's own paths.
std::string podRelative(const ResourceInfo& r, const std::string& path) {
  if ((r.kind == "Deployment" || r.kind == "ReplicaSet") && startsWith(path, "spec.template."))
    return path.substr(std::string("spec.template.").size());
  return path;
}

ListType listType(const ResourceInfo& r, const std::string& full_path) {
  const std::string path = podRelative(r, full_path);
  auto keyed = [](std::vector<std::string> keys) { return ListType{ListType::Map, std::move(keys)}; };
  if (path == "metadata.finalizers") return {ListType::Set, {}};
  if (path == "metadata.ownerReferences") return keyed({"uid"});
  if (full_path == "status.conditions") return keyed({"type"});
  bool pod_like = r.kind == "Pod" || path != full_path;
  if (pod_like) {
    static const std::set<std::string> containers = {"spec.containers", "spec.initContainers", "spec.ephemeralContainers"};
    if (containers.count(path)) return keyed({"name"});
    for (const auto& c : containers) {
      if (!startsWith(path, c + ".")) continue;
      std::string rest = path.substr(c.size() + 1);
      if (rest == "ports") return keyed({"containerPort", "protocol"});
      if (rest == "env") return keyed({"name"});
      if (rest == "volumeMounts") return keyed({"mountPath"});
      if (rest == "volumeDevices") return keyed({"devicePath"});
      return {};
    }
    if (path == "spec.volumes" || path == "spec.imagePullSecrets" || path == "spec.schedulingGates" ||
        path == "spec.resourceClaims")
      return keyed({"name"});
    if (path == "spec.hostAliases") return keyed({"ip"});
    if (path == "spec.topologySpreadConstraints") return keyed({"topologyKey", "whenUnsatisfiable"});
  }
  if (r.kind == "Service" && path == "spec.ports") return keyed({"port", "protocol"});
  if (r.kind == "Node" && path == "spec.podCIDRs") return {ListType::Set, {}};
  return {};
}

/// Objects owned as a whole (+structType=atomic / +mapType=atomic).
bool atomicObject(const ResourceInfo& r, const std::string& path) {
  if ((r.kind == "Deployment" || r.kind == "ReplicaSet") && path == "spec.selector") return true;
  if (r.kind == "Service" && path == "spec.selector") return true;
  return false;
}

/// The value of a list-map key field, with the API default for an omitted protocol.
Json keyValue(const Json& item, const std::string& key) {
  auto it = item.find(key);
  if (it != item.end()) return *it;
  if (key == "protocol") return "TCP";
  return Json();
}

/// "k:{...}" for a keyed list item, or "" when a key is missing.
std::string itemKey(const Json& item, const std::vector<std::string>& keys) {
  if (!item.is_object()) return "";
  Json k = Json::object();
  for (const auto& key : keys) {
    Json v = keyValue(item, key);
    if (v.is_null()) return "";
    k[key] = v;
  }
  return "k:" + k.dump();
}

std::string itemIdentity(const Json& item, const ListType& lt) {
  if (lt.kind == ListType::Set) return "v:" + item.dump();
  return itemKey(item, lt.keys);
}

std::string join(const std::string& path, const std::string& field) { return path.empty() ? field : path + "." + field; }

// ---------------------------------------------------------------------------------------------
// Field sets (a trie of path elements: "f:name", "k:{...}", "v:...")

using Path = std::vector<std::string>;

struct FieldSet {
  bool member = false;
  std::map<std::string, FieldSet> children;

  bool empty() const { return !member && children.empty(); }

  void insert(const Path& p, size_t i = 0) {
    if (i == p.size()) {
      member = true;
      return;
    }
    children[p[i]].insert(p, i + 1);
  }

  bool contains(const Path& p, size_t i = 0) const {
    if (i == p.size()) return member;
    auto it = children.find(p[i]);
    return it != children.end() && it->second.contains(p, i + 1);
  }

  /// True when `p` or anything below it is in the set.
  bool touches(const Path& p, size_t i = 0) const {
    if (i == p.size()) return !empty();
    auto it = children.find(p[i]);
    return it != children.end() && it->second.touches(p, i + 1);
  }

  void remove(const Path& p, size_t i = 0) {
    if (i == p.size()) {
      member = false;
      return;
    }
    auto it = children.find(p[i]);
    if (it == children.end()) return;
    it->second.remove(p, i + 1);
    if (it->second.empty()) children.erase(it);
  }

  void unite(const FieldSet& o) {
    member = member || o.member;
    for (const auto& [k, c] : o.children) children[k].unite(c);
  }

  /// Every member path, parents before children.
  void members(Path& prefix, std::vector<Path>& out) const {
    if (member) out.push_back(prefix);
    for (const auto& [k, c] : children) {
      prefix.push_back(k);
      c.members(prefix, out);
      prefix.pop_back();
    }
  }
  std::vector<Path> members() const {
    Path prefix;
    std::vector<Path> out;
    members(prefix, out);
    return out;
  }

  /// FieldsV1: {"f:a":{}} for a leaf, {".":{}, ...children} for a member with children.
  Json toJson() const {
    Json j = Json::object();
    if (member && !children.empty()) j["."] = Json::object();
    for (const auto& [k, c] : children) j[k] = c.toJson();
    return j;
  }

  static FieldSet fromJson(const Json& j) {
    FieldSet s;
    if (!j.is_object()) return s;
    if (j.empty()) s.member = true;
    for (auto& [k, v] : j.items()) {
      if (k == ".") {
        s.member = true;
        continue;
      }
      s.children[k] = fromJson(v);
      if (s.children[k].empty()) s.children.erase(k);
    }
    return s;
  }
};

/// The fields an object sets, as SSA tracks them (identity and system metadata, and the status of
/// kinds with a status subresource, are not tracked on the main resource).
class FieldCollector {
 public:
  explicit FieldCollector(const ResourceInfo& r) : r_(r) {}

  FieldSet collect(const Json& obj) {
    FieldSet out;
    if (!obj.is_object()) return out;
    Path path;
    for (auto& [k, v] : obj.items()) {
      if (k == "apiVersion" || k == "kind" || (k == "status" && r_.has_status)) continue;
      if (k == "metadata" && v.is_object()) {
        path.push_back("f:metadata");
        for (auto& [mk, mv] : v.items()) {
          static const std::set<std::string> kSystem = {"name", "namespace", "uid", "resourceVersion", "generation",
                                                        "creationTimestamp", "deletionTimestamp",
                                                        "deletionGracePeriodSeconds", "managedFields", "selfLink",
                                                        "generateName"};
          if (kSystem.count(mk)) continue;
          walkField(mk, mv, path, "metadata", out);
        }
        path.pop_back();
        continue;
      }
      walkField(k, v, path, "", out);
    }
    return out;
  }

 private:
  void walkField(const std::string& name, const Json& v, Path& path, const std::string& dotted, FieldSet& out) {
    path.push_back("f:" + name);
    walk(v, path, join(dotted, name), out);
    path.pop_back();
  }

  void walk(const Json& v, Path& path, const std::string& dotted, FieldSet& out) {
    if (v.is_object()) {
      if (v.empty() || atomicObject(r_, dotted)) {
        out.insert(path);
        return;
      }
      for (auto& [k, c] : v.items()) walkField(k, c, path, dotted, out);
      return;
    }
    if (!v.is_array()) {
      out.insert(path);
      return;
    }
    ListType lt = listType(r_, dotted);
    if (lt.kind == ListType::Atomic || v.empty()) {
      out.insert(path);
      return;
    }
    for (const auto& item : v)
      if (itemIdentity(item, lt).empty()) {  // an item without its key: own the list as a whole
        out.insert(path);
        return;
      }
    for (const auto& item : v) {
      path.push_back(itemIdentity(item, lt));
      if (lt.kind == ListType::Map)
        for (auto& [k, c] : item.items()) walkField(k, c, path, dotted, out);
      out.insert(path);
      path.pop_back();
    }
  }

  const ResourceInfo& r_;
};

// ---------------------------------------------------------------------------------------------
// Values at paths

/// The value at `p` in `obj`, or nullptr.
const Json* valueAt(const ResourceInfo& r, const Json& obj, const Path& p) {
  const Json* cur = &obj;
  std::string dotted;
  for (const auto& pe : p) {
    if (startsWith(pe, "f:")) {
      std::string name = pe.substr(2);
      if (!cur->is_object() || !cur->contains(name)) return nullptr;
      cur = &(*cur)[name];
      dotted = join(dotted, name);
      continue;
    }
    if (!cur->is_array()) return nullptr;
    ListType lt = listType(r, dotted);
    const Json* found = nullptr;
    for (const auto& item : *cur)
      if (itemIdentity(item, lt) == pe) {
        found = &item;
        break;
      }
    if (!found) return nullptr;
    cur = found;
  }
  return cur;
}

/// Removes the value at `p` from `obj` (a field, a keyed item or a set value). Absent is fine.
void removeAt(const ResourceInfo& r, Json& obj, const Path& p) {
  if (p.empty()) return;
  Json* cur = &obj;
  std::string dotted;
  for (size_t i = 0; i < p.size(); ++i) {
    const std::string& pe = p[i];
    bool last = i + 1 == p.size();
    if (startsWith(pe, "f:")) {
      std::string name = pe.substr(2);
      if (!cur->is_object() || !cur->contains(name)) return;
      if (last) {
        cur->erase(name);
        return;
      }
      cur = &(*cur)[name];
      dotted = join(dotted, name);
      continue;
    }
    if (!cur->is_array()) return;
    ListType lt = listType(r, dotted);
    for (size_t j = 0; j < cur->size(); ++j)
      if (itemIdentity((*cur)[j], lt) == pe) {
        if (last) {
          cur->erase(j);
          return;
        }
        cur = &(*cur)[j];
        break;
      }
    if (!last && !cur->is_object()) return;
  }
}

/// ".spec.containers[name=\"main\"].image", as structured-merge-diff prints paths.
std::string pathString(const Path& p) {
  std::string out;
  for (const auto& pe : p) {
    if (startsWith(pe, "f:")) out += "." + pe.substr(2);
    else if (startsWith(pe, "v:")) out += "[=" + pe.substr(2) + "]";
    else if (startsWith(pe, "k:")) {
      Json keys = Json::parse(pe.substr(2));
      std::string inner;
      for (auto& [k, v] : keys.items()) inner += (inner.empty() ? "" : ",") + k + "=" + v.dump();
      out += "[" + inner + "]";
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Merging the applied configuration into the live object

class Merger {
 public:
  explicit Merger(const ResourceInfo& r) : r_(r) {}

  Json merge(const Json& live, const Json& applied, const std::string& dotted) {
    if (applied.is_object() && live.is_object() && !atomicObject(r_, dotted)) {
      Json out = live;
      for (auto& [k, v] : applied.items()) {
        if (v.is_null()) {
          out.erase(k);
          continue;
        }
        out[k] = out.contains(k) ? merge(out[k], v, join(dotted, k)) : v;
      }
      return out;
    }
    if (applied.is_array() && live.is_array()) {
      ListType lt = listType(r_, dotted);
      if (lt.kind != ListType::Atomic && keyed(applied, lt) && keyed(live, lt)) return mergeList(live, applied, lt, dotted);
    }
    return applied;
  }

 private:
  static bool keyed(const Json& list, const ListType& lt) {
    return std::all_of(list.begin(), list.end(), [&](const Json& i) { return !itemIdentity(i, lt).empty(); });
  }

  /// structured-merge-diff's list merge: live-only items keep their places, applied items take the
  /// applied order, shared items are merged.
  Json mergeList(const Json& lhs, const Json& rhs, const ListType& lt, const std::string& dotted) {
    std::vector<std::string> lids, rids;
    std::map<std::string, const Json*> lmap, rmap;
    for (const auto& i : lhs) {
      lids.push_back(itemIdentity(i, lt));
      lmap.emplace(lids.back(), &i);
    }
    for (const auto& i : rhs) {
      rids.push_back(itemIdentity(i, lt));
      rmap.emplace(rids.back(), &i);
    }
    std::vector<std::string> shared;
    for (const auto& id : rids)
      if (lmap.count(id)) shared.push_back(id);
    size_t next_shared = 0;
    std::set<std::string> merged;
    Json out = Json::array();
    auto item = [&](const std::string& id) {
      const Json* l = lmap.count(id) ? lmap[id] : nullptr;
      const Json* rr = rmap.count(id) ? rmap[id] : nullptr;
      if (!rr) return *l;
      if (!l) return *rr;
      return lt.kind == ListType::Set ? *rr : merge(*l, *rr, dotted);
    };
    size_t li = 0, ri = 0;
    while (li < lids.size() || ri < rids.size()) {
      if (li < lids.size() && ri < rids.size()) {
        if (lids[li] == rids[ri]) {
          if (!merged.count(lids[li])) out.push_back(item(lids[li]));
          merged.insert(lids[li]);
          if (next_shared < shared.size() && shared[next_shared] == lids[li]) ++next_shared;
          ++li, ++ri;
          continue;
        }
        if (rmap.count(lids[li]) && next_shared < shared.size() && shared[next_shared] != lids[li]) {
          ++li;  // a shared item, but not the one the applied order wants next
          continue;
        }
      }
      if (li < lids.size()) {
        if (!rmap.count(lids[li])) {
          out.push_back(*lmap[lids[li]]);
          ++li;
          continue;
        }
        if (merged.count(lids[li])) {
          ++li;
          continue;
        }
      }
      if (ri < rids.size()) {
        if (!merged.count(rids[ri])) out.push_back(item(rids[ri]));
        merged.insert(rids[ri]);
        if (next_shared < shared.size() && shared[next_shared] == rids[ri]) ++next_shared;
        ++ri;
        continue;
      }
      ++li;  // only reached for an lhs item already emitted
    }
    return out;
  }

  const ResourceInfo& r_;
};

// ---------------------------------------------------------------------------------------------
// managedFields entries

struct Entry {
  Json raw;  // the entry as stored (manager, operation, apiVersion, time, fieldsType, fieldsV1, subresource)
  FieldSet set;
  std::string manager() const { return raw.value("manager", ""); }
  std::string operation() const { return raw.value("operation", ""); }
};

std::vector<Entry> readEntries(const Json& obj) {
  std::vector<Entry> out;
  const Json* mf = nullptr;
  if (obj.is_object() && obj.contains("metadata") && obj["metadata"].is_object() && obj["metadata"].contains("managedFields"))
    mf = &obj["metadata"]["managedFields"];
  if (!mf || !mf->is_array()) return out;
  for (const auto& e : *mf) {
    if (!e.is_object()) continue;
    Entry entry{e, FieldSet::fromJson(e.value("fieldsV1", Json::object()))};
    entry.set.member = false;  // the root is never a field
    out.push_back(std::move(entry));
  }
  return out;
}

void writeEntries(Json& obj, const std::vector<Entry>& entries) {
  Json mf = Json::array();
  for (const auto& e : entries) {
    if (e.set.empty()) continue;
    Json raw = e.raw;
    raw["fieldsType"] = "FieldsV1";
    raw["fieldsV1"] = e.set.toJson();
    mf.push_back(std::move(raw));
  }
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = Json::object();
  if (mf.empty()) obj["metadata"].erase("managedFields");
  else obj["metadata"]["managedFields"] = std::move(mf);
}

/// The entry of (manager, operation), created at the end when missing.
Entry& entryFor(std::vector<Entry>& entries, const ManagedWrite& w, const char* operation) {
  for (auto& e : entries)
    if (e.manager() == w.manager && e.operation() == operation && !e.raw.contains("subresource")) return e;
  entries.push_back({{{"manager", w.manager}, {"operation", operation}}, {}});
  return entries.back();
}

void stamp(Entry& e, const ManagedWrite& w) {
  e.raw["apiVersion"] = w.api_version;
  e.raw["time"] = w.time;
}

/// Leaf members: the values an apply or update sets (list items and objects with children aside).
std::vector<Path> leaves(const FieldSet& s) {
  std::vector<Path> out;
  for (auto& p : s.members()) {
    const FieldSet* node = &s;
    for (const auto& pe : p) node = &node->children.at(pe);
    if (node->children.empty()) out.push_back(p);
  }
  return out;
}

void checkApplied(const ResourceInfo& r, const Json& applied) {
  if (!applied.is_object()) throw badRequest("an apply patch must be an object");
  std::string kind = applied.value("kind", "");
  std::string api_version = applied.value("apiVersion", "");
  if (kind.empty() || api_version.empty())
    throw badRequest("apply patches must specify apiVersion and kind");
  if (kind != r.kind || api_version != r.apiVersion())
    throw badRequest("the apply patch is for " + api_version + ", Kind=" + kind + ", not " + r.apiVersion() +
                     ", Kind=" + r.kind);
}

[[noreturn]] void throwConflicts(const ResourceInfo& r, const Json& obj,
                                 const std::vector<std::pair<std::string, const Entry*>>& conflicts) {
  // Group by manager, in the order found.
  std::vector<const Entry*> order;
  std::map<const Entry*, std::vector<std::string>> fields;
  for (const auto& [field, e] : conflicts) {
    if (!fields.count(e)) order.push_back(e);
    fields[e].push_back(field);
  }
  std::string msg = "Apply failed with " + std::to_string(conflicts.size()) +
                    (conflicts.size() == 1 ? " conflict: " : " conflicts: ");
  Json causes = Json::array();
  for (size_t i = 0; i < order.size(); ++i) {
    const Entry* e = order[i];
    std::string who = "\"" + e->manager() + "\"";
    if (e->raw.value("apiVersion", "") != "") who += " using " + e->raw.value("apiVersion", "");
    const auto& fs = fields[e];
    if (i) msg += "\n";
    if (conflicts.size() == 1) msg += "conflict with " + who + ": " + fs[0];
    else {
      msg += "conflicts with " + who + ":";
      for (const auto& f : fs) msg += "\n- " + f;
    }
    for (const auto& f : fs)
      causes.push_back({{"reason", "FieldManagerConflict"}, {"message", "conflict with " + who}, {"field", f}});
  }
  std::string name = obj.contains("metadata") && obj["metadata"].is_object() ? obj["metadata"].value("name", "") : "";
  std::string kind = r.group.empty() ? r.plural : r.plural + "." + r.group;
  throw ApiError(409, "Conflict", msg, {{"name", name}, {"group", r.group}, {"kind", kind}, {"causes", causes}});
}

}  // namespace

Json serverSideApply(const ResourceInfo& r, const Json* live, const Json& applied, const ManagedWrite& w) {
  checkApplied(r, applied);
  if (w.manager.empty()) throw badRequest("PATCH requests with apply patches must set fieldManager");
  Json config = applied;
  if (config.contains("metadata") && config["metadata"].is_object()) config["metadata"].erase("managedFields");
  FieldCollector collector(r);
  FieldSet applied_set = collector.collect(config);

  if (!live) {
    Json created = config;
    std::vector<Entry> entries;
    Entry& e = entryFor(entries, w, "Apply");
    stamp(e, w);
    e.set = applied_set;
    writeEntries(created, entries);
    return created;
  }

  std::vector<Entry> entries = readEntries(*live);
  entries.reserve(entries.size() + 1);  // entryFor() below must not move the entries `taken` points at
  // Conflicts: a value this apply changes that another manager owns.
  std::vector<std::pair<std::string, const Entry*>> conflicts;
  std::vector<std::pair<Path, Entry*>> taken;
  for (const auto& p : leaves(applied_set)) {
    const Json* want = valueAt(r, config, p);
    const Json* have = valueAt(r, *live, p);
    if (want && have && *want == *have) continue;
    for (auto& e : entries) {
      if (e.manager() == w.manager && e.operation() == "Apply") continue;
      if (!e.set.contains(p)) continue;
      conflicts.push_back({pathString(p), &e});
      taken.push_back({p, &e});
    }
  }
  if (!conflicts.empty() && !w.force) throwConflicts(r, *live, conflicts);
  for (auto& [p, e] : taken) e->set.remove(p);

  Merger merger(r);
  Json result = merger.merge(*live, config, "");

  // Fields this manager applied before and no longer applies are removed, unless someone else owns them.
  Entry& mine = entryFor(entries, w, "Apply");
  FieldSet others;
  for (const auto& e : entries)
    if (&e != &mine) others.unite(e.set);
  for (const auto& p : mine.set.members()) {
    if (applied_set.touches(p) || others.touches(p)) continue;
    removeAt(r, result, p);
  }
  mine.set = applied_set;
  stamp(mine, w);
  writeEntries(result, entries);
  return result;
}

Json recordManagedUpdate(const ResourceInfo& r, const Json* old, Json updated, const ManagedWrite& w) {
  if (w.manager.empty()) return updated;
  FieldCollector collector(r);
  FieldSet new_set = collector.collect(updated);
  std::vector<Entry> entries = old ? readEntries(*old) : readEntries(updated);
  FieldSet changed;
  for (const auto& p : new_set.members()) {
    const Json* now = valueAt(r, updated, p);
    const Json* before = old ? valueAt(r, *old, p) : nullptr;
    bool is_leaf = true;
    {
      const FieldSet* node = &new_set;
      for (const auto& pe : p) node = &node->children.at(pe);
      is_leaf = node->children.empty();
    }
    // A new list item is owned as an item; an existing one only through its changed fields.
    if (!before || (is_leaf && now && *now != *before)) changed.insert(p);
  }
  FieldSet removed;
  if (old)
    for (const auto& p : collector.collect(*old).members())
      if (!new_set.contains(p)) removed.insert(p);
  Entry& mine = entryFor(entries, w, "Update");
  for (auto& e : entries) {
    for (const auto& p : removed.members()) e.set.remove(p);
    if (&e == &mine) continue;
    for (const auto& p : changed.members()) e.set.remove(p);
  }
  mine.set.unite(changed);
  if (!mine.set.empty()) stamp(mine, w);
  writeEntries(updated, entries);
  return updated;
}

}  // namespace minikd::api
