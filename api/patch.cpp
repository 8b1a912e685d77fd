// JSON merge patch, JSON patch and strategic merge patch (apimachinery util/strategicpatch semantics,
// summarised in shared/k8s-merge-keys-and-defaults.md §2–3).
#include "api/patch.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace minikd::api {
namespace {

// ---------------------------------------------------------------------------------------------
// JSON merge patch

Json mergePatchValue(const Json& target, const Json& patch) {
  if (!patch.is_object()) return patch;
  Json result = target.is_object() ? target : Json::object();
  for (auto& [k, v] : patch.items()) {
    if (v.is_null()) result.erase(k);
    else result[k] = mergePatchValue(result.contains(k) ? result[k] : Json(), v);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: which lists merge, and by which key

enum class ListStrategy { Replace, MergeByKey, MergePrimitives };

struct ListRule {
  ListStrategy strategy = ListStrategy::Replace;
  std::string key;
};

const std::string kPatchDirective = "$patch";
const std::string kRetainKeys = "$retainKeys";
const std::string kSetElementOrder = "$setElementOrder/";
const std::string kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

bool startsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The dotted path of a field (list indices dropped), with a workload's pod template folded into
/// the pod's own paths: Deployment "spec.template.spec.containers" → "spec.containers".
std::string podRelative(const ResourceInfo& r, const std::string& path) {
  if ((r.kind == "Deployment" || r.kind == "ReplicaSet") && startsWith(path, "spec.template."))
    return path.substr(std::string("spec.template.").size());
  return path;
}

bool isPodLike(const ResourceInfo& r, const std::string& full_path) {
  return r.kind == "Pod" || ((r.kind == "Deployment" || r.kind == "ReplicaSet") && startsWith(full_path, "spec.template."));
}

ListRule listRule(const ResourceInfo& r, const std::string& full_path) {
  const std::string path = podRelative(r, full_path);
  auto byKey = [](const char* key) { return ListRule{ListStrategy::MergeByKey, key}; };
  // Metadata of any object (and of a pod template).
  if (path == "metadata.finalizers") return {ListStrategy::MergePrimitives, ""};
  if (path == "metadata.ownerReferences") return byKey("uid");
  if (r.kind == "Namespace" || r.kind == "Node" || r.kind == "Service" || r.kind == "Deployment" ||
      r.kind == "ReplicaSet" || r.kind == "Pod")
    if (full_path == "status.conditions") return byKey("type");
  if (isPodLike(r, full_path)) {
    static const std::set<std::string> containers = {"spec.containers", "spec.initContainers", "spec.ephemeralContainers"};
    if (containers.count(path)) return byKey("name");
    for (const auto& c : containers) {
      if (!startsWith(path, c + ".")) continue;
      std::string rest = path.substr(c.size() + 1);
      if (rest == "ports") return byKey("containerPort");
      if (rest == "env") return byKey("name");
      if (rest == "volumeMounts") return byKey("mountPath");
      if (rest == "volumeDevices") return byKey("devicePath");
      return {};
    }
    if (path == "spec.volumes" || path == "spec.imagePullSecrets" || path == "spec.schedulingGates" ||
        path == "spec.resourceClaims")
      return byKey("name");
    if (path == "spec.hostAliases") return byKey("ip");
    if (path == "spec.topologySpreadConstraints") return byKey("topologyKey");
  }
  if (r.kind == "Pod") {
    if (path == "status.podIPs" || path == "status.hostIPs") return byKey("ip");
    if (path == "status.resourceClaimStatuses") return byKey("name");
    if (endsWith(path, "Statuses.volumeMounts")) return byKey("mountPath");
  }
  if (r.kind == "Service" && path == "spec.ports") return byKey("port");
  if (r.kind == "Node") {
    if (path == "spec.podCIDRs") return {ListStrategy::MergePrimitives, ""};
    if (path == "status.addresses") return byKey("type");
  }
  return {};
}

std::string join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

[[noreturn]] void malformed(const std::string& msg) { throw badRequest(msg); }

class StrategicMerger {
 public:
  explicit StrategicMerger(const ResourceInfo& r) : r_(r) {}

  /// Merges patch map `patch` into `original` (both objects) at `path`.
  Json mergeMap(Json original, const Json& patch, const std::string& path) {
    if (auto d = patch.find(kPatchDirective); d != patch.end()) {
      if (*d == "replace") return stripDirectives(withoutKey(patch, kPatchDirective), path);
      if (*d == "delete") return Json::object();
      malformed("unknown patch type: " + d->dump() + " in map: " + patch.dump());
    }
    if (auto rk = patch.find(kRetainKeys); rk != patch.end()) original = applyRetainKeys(original, patch, *rk);
    // $deleteFromPrimitiveList first, so that values the patch re-adds survive.
    for (auto& [k, v] : patch.items()) {
      if (!startsWith(k, kDeleteFromPrimitiveList)) continue;
      std::string field = k.substr(kDeleteFromPrimitiveList.size());
      if (!v.is_array()) malformed("invalid patch: " + k + " must be a list");
      if (!original.contains(field) || !original[field].is_array()) continue;
      Json kept = Json::array();
      for (const auto& item : original[field])
        if (std::find(v.begin(), v.end(), item) == v.end()) kept.push_back(item);
      original[field] = kept;
    }
    const Json before = original;
    for (auto& [k, v] : patch.items()) {
      if (startsWith(k, "$")) {
        if (k == kPatchDirective || k == kRetainKeys || startsWith(k, kSetElementOrder) ||
            startsWith(k, kDeleteFromPrimitiveList))
          continue;
        malformed("unknown patch directive: " + k);
      }
      mergeField(original, k, v, path);
    }
    for (auto& [k, v] : patch.items()) {
      if (!startsWith(k, kSetElementOrder)) continue;
      std::string field = k.substr(kSetElementOrder.size());
      if (!v.is_array()) malformed("invalid patch: " + k + " must be a list");
      if (!original.contains(field) || !original[field].is_array()) continue;
      original[field] = applyElementOrder(original[field], v, before.value(field, Json::array()),
                                          listRule(r_, join(path, field)).key);
    }
    return original;
  }

 private:
  void mergeField(Json& original, const std::string& k, const Json& v, const std::string& path) {
    const std::string child = join(path, k);
    if (v.is_null()) {
      original.erase(k);
      return;
    }
    auto it = original.find(k);
    if (it == original.end()) {
      // A new field: merge into an empty value of the same shape so directives are applied and dropped.
      if (v.is_object()) {
        if (v.contains(kPatchDirective) && v[kPatchDirective] == "delete") return;
        original[k] = mergeMap(Json::object(), v, child);
      } else if (v.is_array()) {
        original[k] = mergeList(Json::array(), v, child);
      } else {
        original[k] = v;
      }
      return;
    }
    if (v.is_object() && it->is_object()) *it = mergeMap(*it, v, child);
    else if (v.is_array() && it->is_array()) *it = mergeList(*it, v, child);
    else if (v.is_object()) *it = mergeMap(Json::object(), v, child);
    else if (v.is_array()) *it = mergeList(Json::array(), v, child);
    else *it = v;
  }

  Json mergeList(const Json& original, const Json& patch, const std::string& path) {
    for (const auto& item : patch)
      if (item.is_array()) throw ApiError(422, "Invalid", "unable to merge a list of lists at " + path);
    ListRule rule = listRule(r_, path);
    if (rule.strategy == ListStrategy::MergePrimitives) {
      Json result = original;
      for (const auto& item : patch)
        if (std::find(result.begin(), result.end(), item) == result.end()) result.push_back(item);
      return result;
    }
    bool maps = std::all_of(patch.begin(), patch.end(), [](const Json& j) { return j.is_object(); });
    if (rule.strategy == ListStrategy::Replace || !maps) return stripList(patch, path);
    return mergeKeyedList(original, patch, rule.key, path);
  }

  Json mergeKeyedList(const Json& original, const Json& patch, const std::string& key, const std::string& path) {
    // {"$patch": "replace"} as an element: the list becomes the patch's other elements.
    for (const auto& item : patch)
      if (item.contains(kPatchDirective) && item[kPatchDirective] == "replace") {
        Json rest = Json::array();
        for (const auto& other : patch)
          if (!(other.contains(kPatchDirective) && other[kPatchDirective] == "replace")) rest.push_back(other);
        return stripList(rest, path);
      }
    Json result = original;
    for (const auto& item : patch) {
      auto kv = item.find(key);
      if (kv == item.end())
        throw internalError("map: " + item.dump() + " does not contain declared merge key: " + key);
      if (item.contains(kPatchDirective)) {
        const Json& d = item[kPatchDirective];
        if (d != "delete") malformed("unknown patch type: " + d.dump() + " in list element: " + item.dump());
        Json kept = Json::array();
        for (const auto& live : result)
          if (!(live.is_object() && live.contains(key) && live[key] == *kv)) kept.push_back(live);
        result = kept;
        continue;
      }
      auto match = std::find_if(result.begin(), result.end(),
                                [&](const Json& live) { return live.is_object() && live.contains(key) && live[key] == *kv; });
      if (match != result.end()) *match = mergeMap(*match, item, path);
      else result.push_back(mergeMap(Json::object(), item, path));
    }
    return result;
  }

  /// Orders `merged` by `order` ($setElementOrder): listed items in the directive's order, the others
  /// (server-only) in their live order, interleaved as apimachinery's mergeSortedSlice does.
  Json applyElementOrder(const Json& merged, const Json& order, const Json& live, const std::string& key) {
    auto identity = [&](const Json& item) -> Json {
      if (key.empty()) return item;
      return item.is_object() && item.contains(key) ? item[key] : Json();
    };
    auto indexIn = [&](const Json& list, const Json& id) -> long {
      for (size_t i = 0; i < list.size(); ++i)
        if (identity(list[i]) == id) return long(i);
      return -1;
    };
    std::vector<Json> patch_items, server_only;
    for (const auto& item : merged) {
      if (indexIn(order, identity(item)) >= 0) patch_items.push_back(item);
      else server_only.push_back(item);
    }
    std::stable_sort(patch_items.begin(), patch_items.end(),
                     [&](const Json& a, const Json& b) { return indexIn(order, identity(a)) < indexIn(order, identity(b)); });
    std::stable_sort(server_only.begin(), server_only.end(), [&](const Json& a, const Json& b) {
      return indexIn(live, identity(a)) < indexIn(live, identity(b));
    });
    Json out = Json::array();
    size_t i = 0, j = 0;
    while (i < server_only.size() || j < patch_items.size()) {
      if (j >= patch_items.size()) {
        out.push_back(server_only[i++]);
        continue;
      }
      if (i >= server_only.size()) {
        out.push_back(patch_items[j++]);
        continue;
      }
      long li = indexIn(live, identity(server_only[i])), ri = indexIn(live, identity(patch_items[j]));
      if (li >= 0 && ri >= 0 && li < ri) out.push_back(server_only[i++]);
      else out.push_back(patch_items[j++]);
    }
    return out;
  }

  Json applyRetainKeys(const Json& original, const Json& patch, const Json& keys) {
    if (!keys.is_array() || !std::all_of(keys.begin(), keys.end(), [](const Json& k) { return k.is_string(); }))
      malformed("invalid patch format of retainKeys: " + keys.dump());
    for (auto& [k, v] : patch.items()) {
      if (startsWith(k, "$") || v.is_null()) continue;
      if (std::find(keys.begin(), keys.end(), Json(k)) == keys.end())
        malformed("invalid patch format of retainKeys: all fields in the patch must be present in $retainKeys; "
                  "missing " + k);
    }
    Json kept = Json::object();
    for (auto& [k, v] : original.items())
      if (std::find(keys.begin(), keys.end(), Json(k)) != keys.end()) kept[k] = v;
    return kept;
  }

  Json stripList(const Json& list, const std::string& path) {
    Json out = Json::array();
    for (const auto& item : list) {
      if (item.is_object() && item.contains(kPatchDirective) && item[kPatchDirective] == "delete") continue;
      out.push_back(item.is_object() ? stripDirectives(item, path) : item);
    }
    return out;
  }

  /// A patch value taken as is: directives removed, nulls dropped (IgnoreUnmatchedNulls).
  Json stripDirectives(const Json& v, const std::string& path) {
    if (v.is_array()) return stripList(v, path);
    if (!v.is_object()) return v;
    return mergeMap(Json::object(), withoutKey(v, kPatchDirective), path);
  }

  static Json withoutKey(Json j, const std::string& key) {
    j.erase(key);
    return j;
  }

  const ResourceInfo& r_;
};

// ---------------------------------------------------------------------------------------------
// JSON patch

std::string jsonPatchFailure(const Json& op, const std::string& why) {
  std::string kind = op.is_object() && op.contains("op") && op["op"].is_string() ? op["op"].get<std::string>() : "?";
  std::string path = op.is_object() && op.contains("path") && op["path"].is_string() ? op["path"].get<std::string>() : "";
  return "jsonpatch " + kind + " operation does not apply: " + why + " (path \"" + path + "\")";
}

void checkJsonPatchOp(const Json& op, size_t i) {
  static const std::set<std::string> kOps = {"add", "remove", "replace", "move", "copy", "test"};
  if (!op.is_object()) malformed("invalid JSON patch: operation " + std::to_string(i) + " is not an object");
  if (!op.contains("op") || !op["op"].is_string() || !kOps.count(op["op"].get<std::string>()))
    malformed("invalid JSON patch: unexpected kind of operation " + op.value("op", Json()).dump());
  if (!op.contains("path") || !op["path"].is_string())
    malformed("invalid JSON patch: operation " + std::to_string(i) + " (" + op["op"].get<std::string>() + ") is missing path");
  std::string kind = op["op"];
  if ((kind == "add" || kind == "replace" || kind == "test") && !op.contains("value"))
    malformed("invalid JSON patch: operation " + std::to_string(i) + " (" + kind + ") is missing value");
  if ((kind == "move" || kind == "copy") && (!op.contains("from") || !op["from"].is_string()))
    malformed("invalid JSON patch: operation " + std::to_string(i) + " (" + kind + ") is missing from");
}

}  // namespace

Json applyMergePatch(const Json& target, const Json& patch) {
  if (!patch.is_object()) throw badRequest("a JSON merge patch must be an object, got " + std::string(patch.type_name()));
  return mergePatchValue(target, patch);
}

Json applyJsonPatch(const Json& target, const Json& patch) {
  if (!patch.is_array()) throw badRequest("a JSON patch must be a list of operations, got " + std::string(patch.type_name()));
  Json doc = target;
  for (size_t i = 0; i < patch.size(); ++i) {
    const Json& op = patch[i];
    checkJsonPatchOp(op, i);
    try {
      doc = doc.patch(Json::array({op}));
    } catch (const Json::parse_error& e) {
      throw badRequest("invalid JSON patch operation " + std::to_string(i) + ": " + e.what());
    } catch (const Json::other_error& e) {
      // json::patch reports a failed "test" as other_error 501.
      throw ApiError(422, "Invalid", jsonPatchFailure(op, "test failed"));
    } catch (const Json::exception& e) {
      throw ApiError(422, "Invalid", jsonPatchFailure(op, e.what()));
    }
  }
  return doc;
}

Json applyStrategicMergePatch(const ResourceInfo& r, const Json& target, const Json& patch) {
  if (!patch.is_object()) throw badRequest("a strategic merge patch must be an object, got " + std::string(patch.type_name()));
  if (auto d = patch.find(kPatchDirective); d != patch.end() && *d == "merge")
    throw badRequest("unknown patch type: \"merge\" in map");
  StrategicMerger merger(r);
  return merger.mergeMap(target.is_object() ? target : Json::object(), patch, "");
}

}  // namespace minikd::api
