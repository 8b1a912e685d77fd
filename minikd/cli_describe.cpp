// minikd describe: a readable, kubectl-like layout for pods, services and deployments (with events),
// and a generic one for every other kind.
#include "minikd/cli_common.h"
#include "minikd/printer.h"

#include <algorithm>
#include <chrono>
#include <sstream>

namespace minikd::cli {
namespace {

/// Writes "Key:   value" lines with the values aligned in one column, like kubectl's tabwriter output.
class Section {
 public:
  explicit Section(int indent = 0) : indent_(indent) {}
  void add(const std::string& key, const std::string& value) { lines_.push_back({key, value}); }
  /// A key whose value is a block of already formatted lines.
  void block(const std::string& key, const std::string& text) { lines_.push_back({key, "\x01" + text}); }
  std::string render() const {
    size_t w = 0;
    for (const auto& [k, v] : lines_)
      if (v.empty() || v[0] != '\x01') w = std::max(w, k.size() + 1);
    std::string out;
    for (const auto& [k, v] : lines_) {
      out += std::string(static_cast<size_t>(indent_), ' ') + k + ":";
      if (!v.empty() && v[0] == '\x01') {
        out += "\n" + v.substr(1);
        continue;
      }
      std::string line = std::string(w - k.size() - 1 + 2, ' ') + v;
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  }

 private:
  int indent_;
  std::vector<std::pair<std::string, std::string>> lines_;
};

std::string s(const Json& obj, const std::string& ptr, const std::string& fallback = "<none>") {
  Json::json_pointer p(ptr);
  if (!obj.contains(p)) return fallback;
  const Json& v = obj[p];
  if (v.is_null()) return fallback;
  if (v.is_string()) return v.get<std::string>().empty() ? fallback : v.get<std::string>();
  return v.dump();
}

/// "k=v" lines, the first on the key's line and the rest aligned under it.
std::string mapLines(const Json& m, size_t pad) {
  if (!m.is_object() || m.empty()) return "<none>";
  std::string out;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!out.empty()) out += "\n" + std::string(pad, ' ');
    out += it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  return out;
}

std::string selectorText(const Json& sel) {
  if (!sel.is_object()) return "<none>";
  std::string out;
  const Json labels = sel.value("matchLabels", Json::object());
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    if (!out.empty()) out += ",";
    out += it.key() + "=" + it.value().get<std::string>();
  }
  return out.empty() ? "<none>" : out;
}

std::string plainMap(const Json& m) {
  if (!m.is_object() || m.empty()) return "<none>";
  std::string out;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!out.empty()) out += ",";
    out += it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  return out;
}

void metaLines(Section& sec, const Json& obj, bool namespaced) {
  const Json meta = obj.value("metadata", Json::object());
  sec.add("Name", meta.value("name", ""));
  if (namespaced) sec.add("Namespace", meta.value("namespace", ""));
  sec.add("Labels", mapLines(meta.value("labels", Json::object()), 18));
  Json ann = meta.value("annotations", Json::object());
  ann.erase("kubectl.kubernetes.io/last-applied-configuration");
  sec.add("Annotations", mapLines(ann, 18));
}

std::string eventsBlock(Context& ctx, const Json& obj) {
  const Json meta = obj.value("metadata", Json::object());
  std::string ns = meta.value("namespace", "");
  std::string fs = "involvedObject.name=" + meta.value("name", "");
  if (!ns.empty()) fs += ",involvedObject.namespace=" + ns;
  if (!meta.value("uid", "").empty()) fs += ",involvedObject.uid=" + meta.value("uid", "");
  std::vector<Json> events;
  try {
    const auto* ev = api::findResource("", "events");
    events = listObjects(ctx, *ev, ns.empty() ? "default" : ns, "", fs);
  } catch (const ServerError&) {
    return "Events:  <unknown>\n";
  }
  if (events.empty()) return "Events:  <none>\n";
  TextTable t;
  t.addRow({"Type", "Reason", "Age", "From", "Message"});
  t.addRow({"----", "------", "----", "----", "-------"});
  auto now = std::chrono::system_clock::now();
  for (const auto& e : events) {
    std::string last = e.value("lastTimestamp", "");
    if (last.empty()) last = e.value("eventTime", "");
    if (last.empty()) last = e["metadata"].value("creationTimestamp", "");
    std::string from = e.value("source", Json::object()).value("component", "");
    if (from.empty()) from = e.value("reportingComponent", "");
    std::string age = ageOf(last, now);
    int count = e.value("count", 1);
    if (count > 1) age += " (x" + std::to_string(count) + " over " + ageOf(e.value("firstTimestamp", last), now) + ")";
    t.addRow({e.value("type", ""), e.value("reason", ""), age, from, e.value("message", "")});
  }
  std::string out = "Events:\n";
  std::istringstream lines(t.render());
  for (std::string line; std::getline(lines, line);) out += "  " + line + "\n";
  return out;
}

std::string containerState(const Json& st) {
  if (!st.is_object() || st.empty()) return "Waiting\n";
  std::string out;
  if (st.contains("running")) {
    out = "Running\n      Started:      " + st["running"].value("startedAt", "") + "\n";
  } else if (st.contains("terminated")) {
    const Json t = st["terminated"];
    out = "Terminated\n      Reason:       " + t.value("reason", "") + "\n      Exit Code:    " + std::to_string(t.value("exitCode", 0)) +
          "\n      Started:      " + t.value("startedAt", "") + "\n      Finished:     " + t.value("finishedAt", "") + "\n";
  } else if (st.contains("waiting")) {
    out = "Waiting\n";
    if (!st["waiting"].value("reason", "").empty()) out += "      Reason:       " + st["waiting"].value("reason", "") + "\n";
  }
  return out;
}

std::string joinArgs(const Json& arr) {
  std::string out;
  for (const auto& a : arr) out += "\n      " + (a.is_string() ? a.get<std::string>() : a.dump());
  return out;
}

std::string containersBlock(const Json& containers, const Json& statuses, const std::string& indent) {
  std::string out;
  for (const auto& c : containers) {
    std::string name = c.value("name", "");
    Json st = Json::object();
    for (const auto& cs : statuses)
      if (cs.value("name", "") == name) st = cs;
    out += indent + name + ":\n";
    Section sec(static_cast<int>(indent.size()) + 2);
    if (!st.empty()) sec.add("Container ID", st.value("containerID", "<none>"));
    sec.add("Image", c.value("image", "<none>"));
    std::string ports;
    for (const auto& p : c.value("ports", Json::array())) {
      if (!ports.empty()) ports += ", ";
      ports += std::to_string(p.value("containerPort", 0)) + "/" + p.value("protocol", "TCP");
    }
    sec.add("Port", ports.empty() ? "<none>" : ports);
    if (c.contains("command")) sec.block("Command", joinArgs(c["command"]).substr(1) + "\n");
    if (c.contains("args")) sec.block("Args", joinArgs(c["args"]).substr(1) + "\n");
    if (!st.empty()) {
      std::string state = containerState(st.value("state", Json::object()));
      sec.add("State", state.substr(0, state.find('\n')));
      std::string rest = state.substr(state.find('\n') + 1);
      out += sec.render();
      if (!rest.empty()) out += rest;
      sec = Section(static_cast<int>(indent.size()) + 2);
      sec.add("Ready", st.value("ready", false) ? "True" : "False");
      sec.add("Restart Count", std::to_string(st.value("restartCount", 0)));
    }
    std::string env;
    for (const auto& e : c.value("env", Json::array())) {
      env += indent + "    " + e.value("name", "") + ":  " +
             (e.contains("value") ? e["value"].get<std::string>() : std::string("<set from a source>")) + "\n";
    }
    if (env.empty()) sec.add("Environment", "<none>");
    else sec.block("Environment", env);
    out += sec.render();
  }
  return out;
}

std::string conditionsBlock(const Json& conds) {
  if (!conds.is_array() || conds.empty()) return "Conditions:  <none>\n";
  TextTable t;
  t.addRow({"Type", "Status"});
  t.addRow({"----", "------"});
  for (const auto& c : conds) t.addRow({c.value("type", ""), c.value("status", "")});
  std::string out = "Conditions:\n";
  std::istringstream lines(t.render());
  for (std::string line; std::getline(lines, line);) out += "  " + line + "\n";
  return out;
}

std::string describePod(Context& ctx, const Json& pod) {
  const Json spec = pod.value("spec", Json::object()), status = pod.value("status", Json::object());
  std::string out;
  Section head;
  head.add("Name", s(pod, "/metadata/name"));
  head.add("Namespace", s(pod, "/metadata/namespace"));
  head.add("Node", s(pod, "/spec/nodeName"));
  head.add("Start Time", s(pod, "/status/startTime"));
  head.add("Labels", mapLines(pod["metadata"].value("labels", Json::object()), 14));
  Json ann = pod["metadata"].value("annotations", Json::object());
  ann.erase("kubectl.kubernetes.io/last-applied-configuration");
  head.add("Annotations", mapLines(ann, 14));
  std::string phase = s(pod, "/status/phase", "Unknown");
  if (pod["metadata"].contains("deletionTimestamp")) phase = "Terminating (lasts " + ageOf(s(pod, "/metadata/deletionTimestamp", ""), std::chrono::system_clock::now()) + ")";
  head.add("Status", phase);
  head.add("IP", s(pod, "/status/podIP", ""));
  std::string ips;
  for (const auto& ip : status.value("podIPs", Json::array())) ips += "\n  IP:           " + ip.value("ip", "");
  head.block("IPs", ips.empty() ? "  <none>\n" : ips.substr(1) + "\n");
  for (const auto& o : pod["metadata"].value("ownerReferences", Json::array()))
    if (o.value("controller", false)) head.add("Controlled By", o.value("kind", "") + "/" + o.value("name", ""));
  out += head.render();
  if (spec.contains("initContainers"))
    out += "Init Containers:\n" + containersBlock(spec["initContainers"], status.value("initContainerStatuses", Json::array()), "  ");
  out += "Containers:\n" + containersBlock(spec.value("containers", Json::array()), status.value("containerStatuses", Json::array()), "  ");
  out += conditionsBlock(status.value("conditions", Json::array()));
  std::string vols;
  for (const auto& v : spec.value("volumes", Json::array())) {
    vols += "  " + v.value("name", "") + ":\n";
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it.key() != "name") vols += "    Type:  " + it.key() + "\n";
  }
  out += vols.empty() ? "Volumes:  <none>\n" : "Volumes:\n" + vols;
  Section tail;
  tail.add("QoS Class", s(pod, "/status/qosClass", "BestEffort"));
  tail.add("Node-Selectors", plainMap(spec.value("nodeSelector", Json::object())));
  out += tail.render();
  out += eventsBlock(ctx, pod);
  return out;
}

std::string describeService(Context& ctx, const Json& svc) {
  Section sec;
  metaLines(sec, svc, true);
  const Json spec = svc.value("spec", Json::object());
  sec.add("Selector", plainMap(spec.value("selector", Json::object())));
  sec.add("Type", spec.value("type", "ClusterIP"));
  sec.add("IP Family Policy", spec.value("ipFamilyPolicy", "SingleStack"));
  sec.add("IP", spec.value("clusterIP", "<none>"));
  std::string ips;
  for (const auto& ip : spec.value("clusterIPs", Json::array())) ips += (ips.empty() ? "" : ",") + ip.get<std::string>();
  sec.add("IPs", ips.empty() ? "<none>" : ips);
  // Endpoints: the ready addresses of the Service's Endpoints object.
  std::vector<std::string> eps;
  try {
    const auto* ep_r = api::findResource("", "endpoints");
    Json ep = ctx.api().get(objectPath(*ep_r, s(svc, "/metadata/namespace", "default"), s(svc, "/metadata/name", "")));
    for (const auto& sub : ep.value("subsets", Json::array()))
      for (const auto& a : sub.value("addresses", Json::array()))
        for (const auto& p : sub.value("ports", Json::array()))
          eps.push_back(a.value("ip", "") + ":" + std::to_string(p.value("port", 0)));
  } catch (const ServerError&) {
  }
  for (const auto& p : spec.value("ports", Json::array())) {
    std::string pname = p.value("name", "<unset>");
    sec.add("Port", pname + "  " + std::to_string(p.value("port", 0)) + "/" + p.value("protocol", "TCP"));
    const Json tp = p.value("targetPort", Json(p.value("port", 0)));
    sec.add("TargetPort", (tp.is_string() ? tp.get<std::string>() : tp.dump()) + "/" + p.value("protocol", "TCP"));
    if (p.contains("nodePort")) sec.add("NodePort", pname + "  " + std::to_string(p.value("nodePort", 0)) + "/" + p.value("protocol", "TCP"));
    std::string list;
    for (const auto& e : eps) list += (list.empty() ? "" : ",") + e;
    sec.add("Endpoints", list);
  }
  sec.add("Session Affinity", spec.value("sessionAffinity", "None"));
  return sec.render() + eventsBlock(ctx, svc);
}

std::string describeDeployment(Context& ctx, const Json& d) {
  Section sec;
  metaLines(sec, d, true);
  const Json spec = d.value("spec", Json::object()), st = d.value("status", Json::object());
  sec.add("CreationTimestamp", s(d, "/metadata/creationTimestamp"));
  sec.add("Selector", selectorText(spec.value("selector", Json::object())));
  int want = spec.value("replicas", 1), updated = st.value("updatedReplicas", 0), total = st.value("replicas", 0),
      avail = st.value("availableReplicas", 0), unavail = st.value("unavailableReplicas", 0);
  sec.add("Replicas", std::to_string(want) + " desired | " + std::to_string(updated) + " updated | " + std::to_string(total) +
                          " total | " + std::to_string(avail) + " available | " + std::to_string(unavail) + " unavailable");
  const Json strategy = spec.value("strategy", Json::object());
  sec.add("StrategyType", strategy.value("type", "RollingUpdate"));
  sec.add("MinReadySeconds", std::to_string(spec.value("minReadySeconds", 0)));
  if (strategy.value("type", "RollingUpdate") == "RollingUpdate") {
    const Json ru = strategy.value("rollingUpdate", Json::object());
    auto txt = [](const Json& v, const char* dflt) { return v.is_null() ? std::string(dflt) : v.is_string() ? v.get<std::string>() : v.dump(); };
    sec.add("RollingUpdateStrategy", txt(ru.value("maxUnavailable", Json()), "25%") + " max unavailable, " +
                                         txt(ru.value("maxSurge", Json()), "25%") + " max surge");
  }
  std::string out = sec.render();
  const Json tmpl = spec.value("template", Json::object());
  out += "Pod Template:\n";
  Section pt(2);
  pt.add("Labels", mapLines(tmpl.value("metadata", Json::object()).value("labels", Json::object()), 10));
  out += pt.render();
  out += "  Containers:\n" + containersBlock(tmpl.value("spec", Json::object()).value("containers", Json::array()), Json::array(), "   ");
  out += conditionsBlock(st.value("conditions", Json::array()));
  // The ReplicaSets the deployment owns: the newest one is "new", the rest "old".
  std::string new_rs = "<none>", old_rs;
  try {
    const auto* rs_r = api::findResource("apps", "replicasets");
    std::string uid = s(d, "/metadata/uid", "");
    std::vector<Json> owned;
    for (const auto& rs : listObjects(ctx, *rs_r, s(d, "/metadata/namespace", "default")))
      for (const auto& o : rs["metadata"].value("ownerReferences", Json::array()))
        if (o.value("uid", "") == uid) owned.push_back(rs);
    auto rev = [](const Json& rs) {
      return std::atoi(rs["metadata"].value("annotations", Json::object()).value("deployment.kubernetes.io/revision", "0").c_str());
    };
    std::sort(owned.begin(), owned.end(), [&](const Json& a, const Json& b) { return rev(a) > rev(b); });
    for (size_t i = 0; i < owned.size(); ++i) {
      std::string line = owned[i]["metadata"].value("name", "") + " (" + std::to_string(owned[i].value("status", Json::object()).value("replicas", 0)) +
                         "/" + std::to_string(owned[i].value("spec", Json::object()).value("replicas", 0)) + " replicas created)";
      if (i == 0) new_rs = line;
      else old_rs += (old_rs.empty() ? "" : ", ") + line;
    }
  } catch (const ServerError&) {
  }
  Section rs(0);
  rs.add("OldReplicaSets", old_rs.empty() ? "<none>" : old_rs);
  rs.add("NewReplicaSet", new_rs);
  return out + rs.render() + eventsBlock(ctx, d);
}

/// Every other kind: metadata, then the rest of the object as indented "Key: value" lines.
void genericFields(const Json& v, int indent, std::string& out) {
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string key = it.key();
    if (!key.empty()) key[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(key[0])));
    const Json& val = it.value();
    std::string pad(static_cast<size_t>(indent), ' ');
    if (val.is_object()) {
      out += pad + key + ":\n";
      genericFields(val, indent + 2, out);
    } else if (val.is_array()) {
      out += pad + key + ":\n";
      for (const auto& item : val) {
        if (item.is_object()) {
          out += pad + "  -\n";
          genericFields(item, indent + 4, out);
        } else {
          out += pad + "  " + (item.is_string() ? item.get<std::string>() : item.dump()) + "\n";
        }
      }
    } else {
      out += pad + key + ":  " + (val.is_string() ? val.get<std::string>() : val.dump()) + "\n";
    }
  }
}

std::string describeGeneric(Context& ctx, const api::ResourceInfo& r, const Json& obj) {
  Section sec;
  metaLines(sec, obj, r.namespaced);
  std::string out = sec.render();
  Json rest = obj;
  for (const char* k : {"metadata", "kind", "apiVersion"}) rest.erase(k);
  if (r.kind == "ConfigMap" || r.kind == "Secret") {
    Json data = rest.value("data", Json::object());
    rest.erase("data");
    genericFields(rest, 0, out);
    out += "\nData\n====\n";
    for (auto it = data.begin(); it != data.end(); ++it) {
      if (r.kind == "Secret") {
        out += it.key() + ":  " + std::to_string(base64Decode(it.value().get<std::string>()).size()) + " bytes\n";
      } else {
        out += it.key() + ":\n----\n" + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump()) + "\n\n";
      }
    }
    out += "\n";
  } else {
    genericFields(rest, 0, out);
  }
  if (r.kind != "Event") out += eventsBlock(ctx, obj);
  return out;
}

std::string describeOne(Context& ctx, const api::ResourceInfo& r, const Json& obj) {
  if (r.kind == "Pod") return describePod(ctx, obj);
  if (r.kind == "Service") return describeService(ctx, obj);
  if (r.kind == "Deployment") return describeDeployment(ctx, obj);
  return describeGeneric(ctx, r, obj);
}

}  // namespace

int cmdDescribe(Context& ctx) {
  auto targets = parseTargets(ctx.args.positional);
  if (targets.empty()) return fail(ctx, "You must specify the type of resource to describe. Use \"minikd api-resources\" for a complete list of supported resources.");
  int rc = 0;
  bool first = true;
  for (const auto& t : targets) {
    std::vector<Json> objs;
    if (t.names.empty()) {
      objs = listObjects(ctx, *t.r, ctx.allNamespaces() ? "" : ctx.ns(), ctx.args.get("selector"));
    } else {
      for (const auto& n : t.names) {
        try {
          objs.push_back(ctx.api().get(objectPath(*t.r, t.r->namespaced ? ctx.ns() : "", n)));
        } catch (const ServerError& e) {
          ctx.err << e.what() << "\n";
          rc = 1;
        }
      }
    }
    for (const auto& o : objs) {
      if (!first) ctx.out << "\n\n";
      first = false;
      ctx.out << describeOne(ctx, *t.r, o) << std::flush;
    }
    if (objs.empty() && t.names.empty()) ctx.err << "No resources found in " << ctx.ns() << " namespace.\n";
  }
  return rc;
}

}  // namespace minikd::cli
