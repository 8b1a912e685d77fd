// minikd: one binary for the whole cluster (`up`, `down`), its CLI and its built-in tools.
#include "minikd/up.h"

#if __has_include("minikd/cli.h")
#include "minikd/cli.h"
#define MINIKD_HAS_CLI 1
#endif
#if __has_include("minikd/tools.h")
#include "minikd/tools.h"
#define MINIKD_HAS_TOOLS 1
#endif

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

namespace {

void usage() {
  std::printf(
      "minikd: a local Kubernetes-shaped cluster in one binary.\n\n"
      "  minikd up [flags]      start the cluster in the foreground (sudo)\n"
      "  minikd down            stop it and remove what it made on the host\n"
      "  minikd get|describe|apply|delete|logs|scale|rollout|edit|… (like kubectl)\n"
      "  minikd tool <name>     built-in workloads (minikd tool --help)\n\n"
      "up flags: --state-dir DIR (/var/lib/minikd) --listen ADDR:PORT (127.0.0.1:6443)\n"
      "          --dashboard-listen ADDR:PORT (127.0.0.1:8001) --apply FILE|DIR (repeatable)\n"
      "          --dns-upstream IP[:PORT] --bridge NAME --pod-cidr CIDR --service-cidr CIDR\n"
      "          --nft-table NAME --node-name NAME\n"
      "          --no-pods --no-proxy --no-dns --no-dashboard --no-controllers --api-only\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    usage();
    return argc < 2 ? 1 : 0;
  }
  std::string verb = argv[1];
  try {
    if (verb == "up") {
      if (argc > 2 && (!std::strcmp(argv[2], "--help") || !std::strcmp(argv[2], "-h"))) {
        usage();
        return 0;
      }
      return minikd::runUp(minikd::parseUpOptions(argc - 2, argv + 2));
    }
    if (verb == "down") return minikd::runDown(argc - 2, argv + 2);
#ifdef MINIKD_HAS_TOOLS
    if (verb == "tool") return minikd::runTool(argc - 2, argv + 2);
#endif
#ifdef MINIKD_HAS_CLI
    return minikd::runCli(argc - 1, argv + 1);
#else
    std::fprintf(stderr, "error: unknown command \"%s\" for \"minikd\"\n", verb.c_str());
    return 1;
#endif
  } catch (const std::exception& e) {
    std::fprintf(stderr, "minikd %s: %s\n", verb.c_str(), e.what());
    return 1;
  }
}
