// minikd logs: a container's log, streamed with -f; TYPE/NAME resolves to a pod by selector.
#include "minikd/cli_common.h"
#include "minikd/printer.h"

namespace minikd::cli {

Json resolvePod(Context& ctx, const std::string& arg, const std::string& maybe_name) {
  const auto* pods = api::findResource("", "pods");
  std::string ns = ctx.ns();
  std::string type = "pod", name = arg;
  if (size_t slash = arg.find('/'); slash != std::string::npos) {
    type = arg.substr(0, slash);
    name = arg.substr(slash + 1);
  } else if (!maybe_name.empty()) {
    type = arg;
    name = maybe_name;
  }
  const auto& r = resolveType(type);
  if (r.kind == "Pod") return ctx.api().get(objectPath(*pods, ns, name));
  Json owner = ctx.api().get(objectPath(r, ns, name));
  std::string selector;
  if (r.kind == "Service") {
    const Json labels = owner["spec"].value("selector", Json::object());
    for (auto it = labels.begin(); it != labels.end(); ++it)
      selector += (selector.empty() ? "" : ",") + it.key() + "=" + it.value().get<std::string>();
  } else {
    const Json sel = owner["spec"].value("selector", Json::object());
    const Json labels = sel.value("matchLabels", Json::object());
    for (auto it = labels.begin(); it != labels.end(); ++it)
      selector += (selector.empty() ? "" : ",") + it.key() + "=" + it.value().get<std::string>();
  }
  if (selector.empty()) throw UsageError("error: " + kindPrefix(r) + "/" + name + " has no selector to find its pods");
  auto found = listObjects(ctx, *pods, ns, selector);
  if (found.empty()) throw UsageError("error: no pods found for " + kindPrefix(r) + "/" + name);
  // Prefer a running pod, the way kubectl picks one.
  for (const auto& p : found)
    if (p.value("status", Json::object()).value("phase", "") == "Running") return p;
  return found.front();
}

std::string defaultContainer(Context& ctx, const Json& pod) {
  std::string container = ctx.args.get("container");
  const Json containers = pod.value("spec", Json::object()).value("containers", Json::array());
  if (container.empty() && !containers.empty()) {
    std::string dflt = pod["metadata"].value("annotations", Json::object()).value("kubectl.kubernetes.io/default-container", "");
    container = dflt.empty() ? containers[0].value("name", "") : dflt;
    if (containers.size() > 1 && dflt.empty()) {
      std::string all;
      for (const auto& c : containers) all += (all.empty() ? "" : ", ") + c.value("name", "");
      ctx.err << "Defaulted container \"" << container << "\" out of: " << all << "\n";
    }
  }
  return container;
}

int cmdLogs(Context& ctx) {
  const auto& pos = ctx.args.positional;
  if (pos.empty() && !ctx.args.has("selector"))
    return fail(ctx, "expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\nPOD or TYPE/NAME is a required argument for the logs command");
  std::vector<Json> pods;
  if (pos.empty()) {
    pods = listObjects(ctx, *api::findResource("", "pods"), ctx.ns(), ctx.args.get("selector"));
    if (pods.empty()) {
      ctx.err << "No resources found in " << ctx.ns() << " namespace.\n";
      return 0;
    }
  } else {
    bool second_is_container = pos.size() > 1 && pos[0].find('/') == std::string::npos && !api::findResourceByName(pos[0]);
    pods.push_back(resolvePod(ctx, pos[0], pos.size() > 1 && !second_is_container && pos[0].find('/') == std::string::npos ? pos[1] : ""));
    if (second_is_container && !ctx.args.has("container")) ctx.args.set("container", pos[1]);
  }
  for (const auto& pod : pods) {
    std::string container = defaultContainer(ctx, pod);
    std::string path = objectPath(*api::findResource("", "pods"), pod["metadata"].value("namespace", ctx.ns()),
                                  pod["metadata"].value("name", "")) + "/log";
    if (!container.empty()) path = withQuery(path, "container", container);
    if (ctx.args.flag("follow")) path = withQuery(path, "follow", "true");
    if (ctx.args.has("tail") && ctx.args.get("tail") != "-1") path = withQuery(path, "tailLines", ctx.args.get("tail"));
    if (ctx.args.flag("previous")) path = withQuery(path, "previous", "true");
    if (ctx.args.flag("timestamps")) path = withQuery(path, "timestamps", "true");
    if (ctx.args.has("since"))
      path = withQuery(path, "sinceSeconds", std::to_string(static_cast<long long>(parseDurationSeconds(ctx.args.get("since")))));
    ctx.api().stream(path, "*/*", [&](std::string_view data) {
      ctx.out.write(data.data(), static_cast<std::streamsize>(data.size()));
      ctx.out.flush();
      return static_cast<bool>(ctx.out);
    });
  }
  return 0;
}

}  // namespace minikd::cli
