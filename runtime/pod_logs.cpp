#include "runtime/pod_logs.h"

#include "runtime/container_log.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace minikd::runtime {

using api::Json;
namespace fs = std::filesystem;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

/// The container's name (defaulted) and its status; throws 400 as the API server does.
std::pair<std::string, Json> pickContainer(const Json& pod, const std::string& wanted) {
  std::vector<std::string> names;
  for (const char* f : {"initContainers", "containers"})
    for (const auto& c : pod["spec"].value(f, Json::array())) names.push_back(c.value("name", ""));
  std::string podname = pod["metadata"].value("name", "");
  std::string name = wanted;
  if (name.empty()) {
    const Json& containers = pod["spec"].value("containers", Json::array());
    std::string def = pod["metadata"].value("annotations", Json::object()).value("kubectl.kubernetes.io/default-container", "");
    if (!def.empty()) name = def;
    else if (containers.size() == 1) name = containers[0].value("name", "");
    else {
      std::string list;
      for (const auto& c : containers) list += (list.empty() ? "" : " ") + c.value("name", "");
      throw api::badRequest("a container name must be specified for pod " + podname + ", choose one of: [" + list + "]");
    }
  }
  if (std::find(names.begin(), names.end(), name) == names.end())
    throw api::badRequest("container " + name + " is not valid for pod " + podname);
  const Json status = pod.value("status", Json::object());
  for (const char* f : {"initContainerStatuses", "containerStatuses"})
    for (const auto& cs : status.value(f, Json::array()))
      if (cs.value("name", "") == name) return {name, cs};
  return {name, Json::object()};
}

/// True while `container` instance `instance` of pod `uid` is running.
bool instanceRunning(api::Api& api, const std::string& ns, const std::string& pod, const std::string& uid,
                     const std::string& container, int instance) {
  auto obj = api.store().getPtr("pods", ns, pod);
  if (!obj || (*obj)["metadata"].value("uid", "") != uid) return false;
  const Json status = obj->value("status", Json::object());
  for (const char* f : {"initContainerStatuses", "containerStatuses"})
    for (const auto& cs : status.value(f, Json::array()))
      if (cs.value("name", "") == container)
        return cs.value("restartCount", 0) == instance && cs.value("state", Json::object()).contains("running");
  return false;
}

/// Applies limitBytes to what is sent; false once the limit is reached or the sink said stop.
class LimitedSink {
 public:
  LimitedSink(const std::function<bool(std::string_view)>& sink, std::optional<int64_t> limit)
      : sink_(sink), left_(limit ? *limit : -1) {}
  bool send(std::string_view data) {
    if (data.empty()) return left_ != 0;
    if (left_ == 0) return false;
    if (left_ > 0 && static_cast<int64_t>(data.size()) > left_) data = data.substr(0, static_cast<size_t>(left_));
    if (left_ > 0) left_ -= static_cast<int64_t>(data.size());
    return sink_(data) && left_ != 0;
  }
  /// Asks the sink whether to go on (an empty chunk, see api/pod_logs.h) while there is nothing new.
  bool alive() { return sink_(std::string_view()); }

 private:
  const std::function<bool(std::string_view)>& sink_;
  int64_t left_;
};

}  // namespace

void RuntimePodLogs::stream(const std::string& ns, const std::string& name, const api::LogOptions& o,
                            const std::function<bool(std::string_view)>& sink) {
  auto obj = api_.store().getPtr("pods", ns, name);
  if (!obj) throw api::notFound("pods", name);
  const Json& pod = *obj;
  std::string uid = pod["metadata"].value("uid", "");
  auto [container, cs] = pickContainer(pod, o.container);
  int current = cs.value("restartCount", 0);
  int instance = o.previous ? current - 1 : current;
  std::string dir = podDir(state_dir_, ns, name, uid);
  std::string path = containerLogPath(dir, container, instance);
  if (o.previous && (instance < 0 || !fs::exists(path)))
    throw api::badRequest("previous terminated container \"" + container + "\" in pod \"" + name + "\" not found");
  if (!fs::exists(path)) {
    std::string reason = cs.value("state", Json::object()).value("waiting", Json::object()).value("reason", "ContainerCreating");
    throw api::badRequest("container \"" + container + "\" in pod \"" + name + "\" is waiting to start: " + reason);
  }
  std::optional<TimePoint> since;
  if (o.since_seconds) since = clock_.now() - std::chrono::seconds(*o.since_seconds);
  LimitedSink out(sink, o.limit_bytes);

  std::string current_file = readFile(path);
  std::string data = readFile(path + ".1") + current_file;
  std::string rest;
  auto lines = selectLogLines(parseLogLines(data, &rest), since, o.tail_lines.value_or(-1));
  if (!out.send(renderLogLines(lines, o.timestamps))) return;
  if (!o.follow || o.previous) return;

  // Follow: read what is appended to `path` until this instance has ended and all is sent.
  size_t file_offset = current_file.size() >= rest.size() ? current_file.size() - rest.size() : 0;
  for (;;) {
    bool running = instanceRunning(api_, ns, name, uid, container, instance);
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (!ec && size < file_offset) file_offset = 0;  // rotated: start the new file from its beginning
    if (!ec && size > file_offset) {
      std::ifstream f(path, std::ios::binary);
      f.seekg(static_cast<std::streamoff>(file_offset));
      std::string chunk(size - file_offset, '\0');
      f.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      chunk.resize(static_cast<size_t>(f.gcount()));
      std::string tail;
      auto more = parseLogLines(chunk, &tail);
      file_offset += chunk.size() - tail.size();
      if (since) more = selectLogLines(std::move(more), since, -1);
      if (!out.send(renderLogLines(more, o.timestamps))) return;
      continue;
    }
    if (!running) return;
    if (!out.alive()) return;  // the client went away, or the server is shutting down
    std::this_thread::sleep_for(poll_);
  }
}

}  // namespace minikd::runtime
