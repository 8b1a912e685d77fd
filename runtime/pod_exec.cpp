#include "runtime/pod_exec.h"

namespace minikd::runtime {

using api::Json;

namespace {

/// The phase of a pod object ("" when it has none yet).
std::string phaseOf(const Json& pod) { return pod.value("status", Json::object()).value("phase", ""); }

/// The name of `wanted` in pod's spec (containers or initContainers); the first container when empty.
/// Throws ApiError 404 when there is no such container.
std::string containerName(const Json& pod, const std::string& wanted, const std::string& pod_name) {
  const Json spec = pod.value("spec", Json::object());
  const Json containers = spec.value("containers", Json::array());
  if (wanted.empty()) {
    if (containers.empty()) throw api::badRequest("a container name must be specified for pod " + pod_name);
    return containers[0].value("name", "");
  }
  for (const char* field : {"containers", "initContainers"})
    for (const auto& c : spec.value(field, Json::array()))
      if (c.value("name", "") == wanted) return wanted;
  throw api::ApiError(404, "NotFound", "container " + wanted + " is not valid for pod " + pod_name);
}

}  // namespace

RuntimePodExec::RuntimePodExec(api::Api& api, PodWorker& worker, ExecLauncher* launcher,
                               std::chrono::milliseconds connect_timeout)
    : api_(api),
      worker_(worker),
      own_launcher_(launcher ? nullptr : makeLinuxExecLauncher()),
      launcher_(launcher ? *launcher : *own_launcher_),
      connect_timeout_(connect_timeout) {}

Json RuntimePodExec::getPod(const std::string& ns, const std::string& pod) const {
  auto obj = api_.store().get(api::findResource("", "pods")->key(), ns, pod);
  if (!obj) throw api::notFound("pods", pod);
  return *obj;
}

std::unique_ptr<api::ExecProcess> RuntimePodExec::exec(const std::string& ns, const std::string& pod,
                                                       const api::ExecOptions& options) {
  Json obj = getPod(ns, pod);
  std::string container = containerName(obj, options.container, pod);
  if (options.command.empty() || options.command[0].empty())
    throw api::badRequest("you must specify at least one command for the container");
  std::string phase = phaseOf(obj);
  if (phase == "Succeeded" || phase == "Failed")
    throw api::badRequest("cannot exec into a container in a completed pod; current phase is " + phase);
  std::optional<ProcessSpec> spec;
  try {
    spec = worker_.execSpec(ns, pod, container);
  } catch (const std::exception& e) {  // ConfigError: the environment cannot be resolved
    throw api::internalError("exec in container " + container + " of pod " + ns + "/" + pod + ": " + e.what());
  }
  if (!spec) throw api::badRequest("container " + container + " is not running (pod " + ns + "/" + pod + ")");
  spec->argv = options.command;
  spec->output = nullptr;
  try {
    return launcher_.start(*spec, options);
  } catch (const StartError& e) {
    throw api::internalError(e.what());
  }
}

int RuntimePodExec::connect(const std::string& ns, const std::string& pod, uint16_t port) {
  Json obj = getPod(ns, pod);
  std::string phase = phaseOf(obj);
  std::string netns = worker_.netnsPath(ns, pod);
  if (phase != "Running" || netns.empty())
    throw api::badRequest("unable to forward port because pod is not running. Current status=" +
                          (phase.empty() ? std::string("Pending") : phase));
  try {
    return launcher_.connect(netns, port, connect_timeout_);
  } catch (const std::exception& e) {
    throw api::internalError("error forwarding port " + std::to_string(port) + " to pod " + ns + "/" + pod + ", uid " +
                             obj["metadata"].value("uid", "") + ": " + e.what());
  }
}

}  // namespace minikd::runtime
