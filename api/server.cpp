#include "api/server.h"

#include "api/discovery.h"
#include "api/table.h"

#include <httplib.h>

#include <set>

#include <chrono>
#include <iostream>
#include <sstream>

namespace minikd::api {
namespace {

using Request = HttpRequest;
using Response = HttpResponse;

constexpr const char* kJson = "application/json";
// Streams use a content type httplib does not gzip: a compressed stream would hold events back.
constexpr const char* kJsonStream = "application/json;stream=watch";

void sendJson(Response& res, int code, const Json& body, const char* type = kJson) {
  res.status = code;
  res.setContent(body.dump(), type);
}

void sendError(Response& res, const ApiError& e) { sendJson(res, e.code(), e.toStatus()); }

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> out;
  std::stringstream ss(path);
  std::string seg;
  while (std::getline(ss, seg, '/'))
    if (!seg.empty()) out.push_back(seg);
  return out;
}

bool wantsTable(const Request& req) { return req.header("Accept").find("as=Table") != std::string::npos; }

std::string queryParam(const Request& req, const char* name) {
  return req.param(name);
}

int64_t intParam(const Request& req, const char* name, int64_t fallback) {
  std::string v = queryParam(req, name);
  if (v.empty()) return fallback;
  try {
    size_t used = 0;
    int64_t n = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw badRequest("invalid value for " + std::string(name) + ": \"" + v + "\"");
  }
}

std::string baseContentType(const Request& req) {
  std::string ct = req.header("Content-Type");
  auto semi = ct.find(';');
  if (semi != std::string::npos) ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  return ct;
}

Json parseBody(const Request& req, size_t max_body) {
  if (req.body.size() > max_body)
    throw tooLarge("the request body of " + std::to_string(req.body.size()) + " bytes is larger than the limit of " +
                   std::to_string(max_body) + " bytes");
  std::string ct = baseContentType(req);
  if (ct == "application/vnd.kubernetes.protobuf")
    throw unsupportedMediaType(
        "minikd does not decode protobuf request bodies (kubectl's typed `create` sends them). Use: kubectl create "
        "… --dry-run=client -o yaml | kubectl apply -f -");
  if (ct == "application/yaml" && !req.body.empty() && req.body[0] != '{')
    throw unsupportedMediaType("send JSON (application/json); YAML bodies are not accepted");
  Json body = Json::parse(req.body, nullptr, false);
  if (body.is_discarded()) throw badRequest("the request body is not valid JSON");
  return body;
}

WriteOptions writeOptions(const Request& req, std::vector<std::string>* warnings) {
  WriteOptions w;
  w.dry_run = queryParam(req, "dryRun") == "All";
  w.field_manager = queryParam(req, "fieldManager");
  std::string fv = queryParam(req, "fieldValidation");
  if (!fv.empty()) w.field_validation = fv;
  w.force = queryParam(req, "force") == "true";
  w.warnings = warnings;
  return w;
}

void setWarnings(Response& res, const std::vector<std::string>& warnings) {
  for (const auto& w : warnings) res.setHeader("Warning", "299 - \"" + w + "\"");
}

Filter filterOf(const Request& req) {
  Filter f;
  f.labels = LabelSelector::parse(queryParam(req, "labelSelector"));
  f.fields = FieldSelector::parse(queryParam(req, "fieldSelector"));
  return f;
}

Subresource subOf(const ResourceInfo& r, const std::string& sub, const std::string& name) {
  if (sub.empty()) return Subresource::None;
  if (sub == "status" && r.has_status) return Subresource::Status;
  if (sub == "scale" && r.has_scale) return Subresource::Scale;
  throw notFound(qualifiedResource(r), name + "/" + sub);
}

Json listObject(const ResourceInfo& r, const ListResult& res) {
  Json items = Json::array();
  for (const auto& o : res.items) items.push_back(*o);
  Json md = {{"resourceVersion", std::to_string(res.resource_version)}};
  if (!res.continue_token.empty()) {
    md["continue"] = res.continue_token;
    md["remainingItemCount"] = res.remaining;
  }
  return {{"kind", r.kind + "List"}, {"apiVersion", r.apiVersion()}, {"metadata", md}, {"items", items}};
}

std::string includeObject(const Request& req) {
  std::string v = queryParam(req, "includeObject");
  return v.empty() ? "Metadata" : v;
}

}  // namespace

void ApiHandler::respond(const Request& req, Response& res, bool authorized) {
  try {
    static const std::set<std::string> open = {"/healthz", "/livez", "/readyz", "/version"};
    if (!open.count(req.path) && !authorized) throw unauthorized();
    handle(req, res);
  } catch (const ApiError& e) {
    sendError(res, e);
  } catch (const Json::exception& e) {
    sendError(res, badRequest(std::string("malformed object: ") + e.what()));
  } catch (const std::exception& e) {
    sendError(res, internalError(e.what()));
  }
}

namespace {

/// A chunked httplib response body as a StreamSink.
class HttplibSink : public StreamSink {
 public:
  explicit HttplibSink(httplib::DataSink& sink) : sink_(sink) {}
  bool write(std::string_view chunk) override { return sink_.write(chunk.data(), chunk.size()); }
  bool open() override { return sink_.is_writable(); }

 private:
  httplib::DataSink& sink_;
};

HttpRequest fromHttplib(const httplib::Request& in) {
  HttpRequest r;
  r.method = in.method;
  r.path = in.path;
  r.body = in.body;
  r.remote_addr = in.remote_addr;
  for (const auto& [k, v] : in.headers) r.headers.emplace(k, v);
  for (const auto& [k, v] : in.params) r.params.emplace(k, v);
  return r;
}

void toHttplib(HttpResponse&& in, httplib::Response& out) {
  out.status = in.status;
  for (const auto& [k, v] : in.headers) out.set_header(k, v);
  if (!in.stream) {
    out.set_content(in.body, in.content_type.empty() ? "text/plain" : in.content_type.c_str());
    return;
  }
  out.set_chunked_content_provider(in.content_type, [stream = std::move(in.stream)](size_t, httplib::DataSink& sink) {
    HttplibSink s(sink);
    stream(s);
    sink.done();
    return true;
  });
}

}  // namespace

void ApiHandler::install(httplib::Server& srv, std::function<bool(const httplib::Request&)> authorize) {
  auto h = [this, authorize](const httplib::Request& req, httplib::Response& res) {
    HttpResponse out;
    respond(fromHttplib(req), out, authorize(req));
    toHttplib(std::move(out), res);
  };
  srv.Get(R"(/.*)", h);
  srv.Post(R"(/.*)", h);
  srv.Put(R"(/.*)", h);
  srv.Patch(R"(/.*)", h);
  srv.Delete(R"(/.*)", h);
}

void ApiHandler::handle(const Request& req, Response& res) {
  const std::string& path = req.path;
  if (path == "/healthz" || path == "/livez" || path == "/readyz") {
    bool ok = api_.store().healthy();
    res.status = ok ? 200 : 500;
    res.setContent(ok ? "ok" : "store: not answering", "text/plain");
    return;
  }
  if (path == "/version") return sendJson(res, 200, versionInfo());
  if (path == "/minikd/status") {
    return sendJson(res, 200, status_ ? status_() : Json{{"components", Json::array()}});
  }
  std::string accept = req.header("Accept");
  if (path == "/api" || path == "/apis") {
    if (accept.find("as=APIGroupDiscoveryList") != std::string::npos) {
      std::string v = accept.find("v=v2;") != std::string::npos || accept.find("v=v2,") != std::string::npos ||
                              accept.find("v=v2") + 4 == accept.size()
                          ? "v2"
                          : "v2beta1";
      if (accept.find("v=v2;") == std::string::npos && accept.find("v=v2beta1") != std::string::npos) v = "v2beta1";
      std::string type = "application/json;g=apidiscovery.k8s.io;v=" + v + ";as=APIGroupDiscoveryList";
      res.status = 200;
      res.setContent(aggregatedDiscovery(path == "/api", v).dump(), type);
      return;
    }
    std::string host = req.header("Host");
    return sendJson(res, 200, path == "/api" ? legacyApiVersions(host) : legacyApiGroupList());
  }
  if (path == "/openapi/v3") return sendJson(res, 200, openApiRoot());
  if (path.rfind("/openapi/v3/", 0) == 0) {
    if (auto doc = openApiGroupVersion(path.substr(12))) return sendJson(res, 200, *doc);
    throw ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  auto seg = splitPath(path);
  std::string group, version;
  size_t i = 0;
  if (seg.size() >= 2 && seg[0] == "api") {
    version = seg[1];
    i = 2;
  } else if (seg.size() >= 3 && seg[0] == "apis") {
    group = seg[1];
    version = seg[2];
    i = 3;
  } else if (seg.size() == 2 && seg[0] == "apis") {
    if (auto g = legacyApiGroup(seg[1])) return sendJson(res, 200, *g);
    throw ApiError(404, "NotFound", "the server could not find the requested resource");
  } else {
    throw ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  if (i == seg.size()) {
    if (auto l = apiResourceList(group, version)) return sendJson(res, 200, *l);
    throw ApiError(404, "NotFound", "the server could not find the requested resource");
  }
  std::string ns;
  if (seg[i] == "namespaces" && seg.size() >= i + 3) {
    const ResourceInfo* inner = findResource(group, seg[i + 2]);
    if (inner && inner->namespaced && inner->version == version) {
      ns = seg[i + 1];
      i += 2;
    }
  }
  const ResourceInfo* r = findResource(group, seg[i]);
  if (!r || r->version != version || seg.size() > i + 3)
    throw ApiError(404, "NotFound", "the server could not find the requested resource");
  std::string name = seg.size() > i + 1 ? seg[i + 1] : "";
  std::string sub = seg.size() > i + 2 ? seg[i + 2] : "";
  handleResource(req, res, *r, ns, name, sub);
}

void ApiHandler::handleResource(const Request& req, Response& res, const ResourceInfo& r, const std::string& ns,
                                const std::string& name, const std::string& sub) {
  const std::string& m = req.method;
  std::vector<std::string> warnings;
  if (name.empty()) {
    if (m == "GET") {
      if (queryParam(req, "watch") == "true" || queryParam(req, "watch") == "1") return handleWatch(req, res, r, ns);
      return handleList(req, res, r, ns);
    }
    if (m == "POST") {
      Json obj = parseBody(req, max_body_);
      Json out = api_.create(r, ns, std::move(obj), writeOptions(req, &warnings));
      setWarnings(res, warnings);
      return sendJson(res, 201, out);
    }
    if (m == "DELETE") {
      Filter f = filterOf(req);
      auto list = api_.list(r, ns, f);
      Json items = Json::array();
      for (const auto& o : list.items) {
        try {
          items.push_back(api_.remove(r, namespaceOf(*o), nameOf(*o)));
        } catch (const ApiError& e) {
          if (e.code() != 404) throw;
        }
      }
      return sendJson(res, 200, {{"kind", r.kind + "List"}, {"apiVersion", r.apiVersion()},
                                 {"metadata", Json::object()}, {"items", items}});
    }
    throw methodNotAllowed("the server does not allow this method on the requested resource");
  }
  if (sub == "log" && r.kind == "Pod" && m == "GET") return handleLog(req, res, ns, name);
  if (r.kind == "Pod" && (sub == "exec" || sub == "attach" || sub == "portforward")) {
    api_.get(r, ns, name);  // 404 for an unknown pod
    if (!exec_) throw badRequest("exec and port-forward are not available: minikd runs without its pod runtime");
    throw badRequest("Upgrade request required: minikd serves " + sub + " over a websocket (" +
                     (sub == "portforward" ? "SPDY/3.1+portforward.k8s.io" : "v5.channel.k8s.io") +
                     "), which kubectl 1.31 and newer use by default");
  }
  Subresource s = subOf(r, sub, name);
  if (m == "GET") {
    Json obj = api_.get(r, ns, name, s);
    if (wantsTable(req) && s == Subresource::None) {
      auto ptr = std::make_shared<const Json>(obj);
      return sendJson(res, 200, toTable(r, {ptr}, {{"resourceVersion", obj["metadata"].value("resourceVersion", "")}},
                                        includeObject(req)));
    }
    return sendJson(res, 200, obj);
  }
  if (m == "PUT") {
    Json obj = parseBody(req, max_body_);
    Json out = api_.update(r, ns, name, std::move(obj), s, writeOptions(req, &warnings));
    setWarnings(res, warnings);
    return sendJson(res, 200, out);
  }
  if (m == "PATCH") {
    Json patch = parseBody(req, max_body_);
    bool existed = static_cast<bool>(api_.store().getPtr(r.key(), r.namespaced ? ns : "", name));
    Json out = api_.patch(r, ns, name, baseContentType(req), patch, s, writeOptions(req, &warnings));
    setWarnings(res, warnings);
    return sendJson(res, existed ? 200 : 201, out);
  }
  if (m == "DELETE") {
    DeleteRequest d;
    if (!req.body.empty()) {
      Json body = parseBody(req, max_body_);
      d.propagation_policy = body.value("propagationPolicy", "");
      if (body.contains("gracePeriodSeconds") && body["gracePeriodSeconds"].is_number_integer())
        d.options.grace_period_seconds = body["gracePeriodSeconds"].get<int64_t>();
      if (body.contains("preconditions") && body["preconditions"].is_object()) {
        const auto& p = body["preconditions"];
        if (p.contains("uid") && p["uid"].is_string()) d.options.uid = p["uid"].get<std::string>();
        if (p.contains("resourceVersion") && p["resourceVersion"].is_string())
          d.options.resource_version = p["resourceVersion"].get<std::string>();
      }
      if (body.value("orphanDependents", false)) d.propagation_policy = "Orphan";
    }
    if (req.hasParam("propagationPolicy")) d.propagation_policy = queryParam(req, "propagationPolicy");
    if (req.hasParam("gracePeriodSeconds")) d.options.grace_period_seconds = intParam(req, "gracePeriodSeconds", 0);
    if (!d.propagation_policy.empty() && d.propagation_policy != "Background" && d.propagation_policy != "Foreground" &&
        d.propagation_policy != "Orphan")
      throw badRequest("propagationPolicy: Unsupported value: \"" + d.propagation_policy +
                       "\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
    return sendJson(res, 200, api_.remove(r, ns, name, d));
  }
  throw methodNotAllowed("the server does not allow this method on the requested resource");
}

void ApiHandler::handleList(const Request& req, Response& res, const ResourceInfo& r, const std::string& ns) {
  ListOptions o;
  o.limit = intParam(req, "limit", 0);
  o.continue_token = queryParam(req, "continue");
  auto list = api_.list(r, ns, filterOf(req), o);
  if (wantsTable(req)) {
    Json md = {{"resourceVersion", std::to_string(list.resource_version)}};
    if (!list.continue_token.empty()) md["continue"] = list.continue_token;
    return sendJson(res, 200, toTable(r, list.items, md, includeObject(req)));
  }
  sendJson(res, 200, listObject(r, list));
}

void ApiHandler::handleWatch(const Request& req, Response& res, const ResourceInfo& r, const std::string& ns) {
  Filter filter = filterOf(req);
  std::string rv_text = queryParam(req, "resourceVersion");
  int64_t rv = rv_text.empty() ? 0 : intParam(req, "resourceVersion", 0);
  int64_t timeout = intParam(req, "timeoutSeconds", 1800);
  bool bookmarks = queryParam(req, "allowWatchBookmarks") == "true";
  bool table = wantsTable(req);
  std::string include = includeObject(req);
  // {"type":…,"object":…}: a plain object's text is made once per event for all its watchers.
  auto encode = [&r, table, include](const char* type, const ObjectPtr& obj, EncodedObject* cached) {
    std::string text = table ? toTable(r, {obj}, Json::object(), include).dump() : cached ? cached->text(*obj) : obj->dump();
    return std::string("{\"type\":\"") + type + "\",\"object\":" + text + "}\n";
  };
  std::shared_ptr<Api::WatchStart> start;
  std::string expired;
  try {
    start = std::make_shared<Api::WatchStart>(api_.watch(r, ns, filter, rv));
  } catch (const ApiError& e) {
    if (e.code() != 410) throw;
    expired = Json{{"type", "ERROR"}, {"object", e.toStatus()}}.dump() + "\n";
  }
  res.status = 200;
  res.setHeader("Cache-Control", "no-cache, private");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  auto kind = r.kind, api_version = r.apiVersion();
  res.content_type = kJsonStream;
  res.stream = [this, start, expired, encode, deadline, bookmarks, kind, api_version](StreamSink& sink) {
    if (!start) {
      sink.write(expired);
      return;
    }
    for (const auto& o : start->initial) {
      if (!sink.write(encode("ADDED", o, nullptr))) return;
    }
    start->initial.clear();
    while (!closing_ && std::chrono::steady_clock::now() < deadline) {
      if (!sink.open()) return;
      std::optional<Event> ev;
      try {
        ev = start->watch->next(std::chrono::milliseconds(1000));
      } catch (const ApiError& e) {
        sink.write(Json{{"type", "ERROR"}, {"object", e.toStatus()}}.dump() + "\n");
        break;
      }
      if (!ev) {
        if (!bookmarks) continue;
        Json bm = {{"type", "BOOKMARK"},
                   {"object", {{"kind", kind}, {"apiVersion", api_version},
                               {"metadata", {{"resourceVersion", std::to_string(start->watch->cursor())}}}}}};
        if (!sink.write(bm.dump() + "\n")) return;
        continue;
      }
      if (!sink.write(encode(eventTypeName(ev->type), ev->object, ev->encoded.get()))) return;
    }
  };
}

void ApiHandler::handleLog(const Request& req, Response& res, const std::string& ns, const std::string& name) {
  const ResourceInfo* pods = findResource("", "pods");
  api_.get(*pods, ns, name);  // 404 for an unknown pod
  if (!logs_) throw ApiError(400, "BadRequest", "pod logs are not available: minikd runs without its pod runtime");
  LogOptions o;
  o.container = queryParam(req, "container");
  o.follow = queryParam(req, "follow") == "true";
  o.previous = queryParam(req, "previous") == "true";
  o.timestamps = queryParam(req, "timestamps") == "true";
  if (req.hasParam("tailLines")) o.tail_lines = intParam(req, "tailLines", 0);
  if (req.hasParam("sinceSeconds")) o.since_seconds = intParam(req, "sinceSeconds", 0);
  if (req.hasParam("limitBytes")) o.limit_bytes = intParam(req, "limitBytes", 0);
  if (!o.follow) {
    std::string out;
    logs_->stream(ns, name, o, [&](std::string_view chunk) {
      out.append(chunk);
      return true;
    });
    res.status = 200;
    res.setContent(out, "text/plain");
    return;
  }
  // Validate (container exists) before the 200 goes out: a first non-following read.
  LogOptions probe = o;
  probe.follow = false;
  probe.limit_bytes = 1;
  logs_->stream(ns, name, probe, [](std::string_view) { return true; });
  res.status = 200;
  PodLogs* logs = logs_;
  res.content_type = "application/octet-stream";
  res.stream = [this, logs, ns, name, o](StreamSink& sink) {
    try {
      logs->stream(ns, name, o, [&](std::string_view chunk) {
        // An empty chunk only asks whether to go on: writing it would end the chunked response.
        if (closing_ || !sink.open()) return false;
        return chunk.empty() || sink.write(chunk);
      });
    } catch (const std::exception& e) {
      std::cerr << "log stream " << ns << "/" << name << ": " << e.what() << "\n";
    }
  };
}

}  // namespace minikd::api
