// `minikd tool`: the dispatcher and the small parsers every tool shares.
#include "minikd/tools.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <iostream>
#include <stdexcept>

namespace minikd {
namespace tools {

std::string Args::get(const std::string& name, const std::string& fallback) const {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

int64_t Args::getInt(const std::string& name, int64_t fallback) const {
  auto it = flags.find(name);
  if (it == flags.end()) return fallback;
  try {
    size_t used = 0;
    int64_t v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("--" + name + ": \"" + it->second + "\" is not an integer");
}

Args parseArgs(int argc, char** argv, const std::set<std::string>& bool_flags) {
  Args out;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0 || a == "--") {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      out.flags[name.substr(0, eq)] = name.substr(eq + 1);
    } else if (bool_flags.count(name)) {
      out.flags[name] = "true";
    } else if (i + 1 < argc) {
      out.flags[name] = argv[++i];
    } else {
      throw std::invalid_argument("--" + name + " needs a value");
    }
  }
  return out;
}

std::chrono::milliseconds parseDuration(const std::string& text) {
  size_t used = 0;
  double v;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw std::invalid_argument("invalid duration \"" + text + "\" (want e.g. 250ms, 2s, 1m)");
  }
  std::string unit = text.substr(used);
  double ms;
  if (unit.empty() || unit == "ms") ms = v;
  else if (unit == "s") ms = v * 1000;
  else if (unit == "m") ms = v * 60000;
  else throw std::invalid_argument("invalid duration \"" + text + "\" (want e.g. 250ms, 2s, 1m)");
  if (ms < 0) throw std::invalid_argument("invalid duration \"" + text + "\": negative");
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(ms)));
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  // Nearest rank: the smallest value with at least p% of the values at or below it.
  auto rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<size_t>(rank, 1, values.size());
  return values[rank - 1];
}

Url parseUrl(const std::string& text) {
  Url u;
  auto sep = text.find("://");
  if (sep == std::string::npos) throw std::invalid_argument("invalid URL \"" + text + "\": want http://host[:port]/path");
  u.scheme = text.substr(0, sep);
  if (u.scheme != "http") throw std::invalid_argument("invalid URL \"" + text + "\": only http is supported");
  std::string rest = text.substr(sep + 3);
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  auto colon = hostport.rfind(':');
  if (colon != std::string::npos && hostport.find(']') == std::string::npos) {
    try {
      u.port = std::stoi(hostport.substr(colon + 1));
    } catch (const std::exception&) {
      throw std::invalid_argument("invalid URL \"" + text + "\": bad port");
    }
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) throw std::invalid_argument("invalid URL \"" + text + "\": no host");
  u.host = hostport;
  return u;
}

}  // namespace tools

namespace {

struct ToolEntry {
  const char* name;
  const char* usage;
  int (*fn)(const tools::Args&);
  std::set<std::string> bool_flags;
};

const std::vector<ToolEntry>& toolTable() {
  static const std::vector<ToolEntry> table = {
      {"http", "http [--host 0.0.0.0] [--port 8080] [--delay 100ms] [--upstream http://api/] [--message TEXT] [--shutdown-delay 2s]  HTTP server: pod name, IP, headers; /healthz, /ready (POST /ready/off|on), /fail, /bytes/N", tools::runHttp, {}},
      {"echo", "echo [--port 9000] [--tcp-only|--udp-only]  TCP and UDP echo server", tools::runEcho, {"tcp-only", "udp-only"}},
      {"client", "client URL [--count 10] [--interval 100ms] [--timeout 2s]  calls URL in a loop, reports errors and p50/p90/p99 latency (exit 1 on any error)", tools::runClient, {}},
      {"dns", "dns NAME  looks NAME up (getaddrinfo) and prints its addresses (exit 1 when it does not resolve)", tools::runDns, {}},
      {"pause", "pause  sleeps until SIGTERM or SIGINT", tools::runPause, {}},
  };
  return table;
}

void printHelp(std::ostream& out) {
  out << "Usage: minikd tool <name> [flags]\n\nBuilt-in workloads for pods (no images needed):\n";
  for (const auto& t : toolTable()) out << "  " << t.usage << "\n";
}

}  // namespace

int runTool(int argc, char** argv) {
  if (argc < 1 || !std::strcmp(argv[0], "--help") || !std::strcmp(argv[0], "-h") || !std::strcmp(argv[0], "help")) {
    printHelp(std::cout);
    return argc < 1 ? 2 : 0;
  }
  for (const auto& t : toolTable()) {
    if (t.name != std::string(argv[0])) continue;
    try {
      auto bool_flags = t.bool_flags;
      bool_flags.insert("help");
      auto args = tools::parseArgs(argc, argv, bool_flags);
      if (args.has("help")) {
        std::cout << "Usage: minikd tool " << t.usage << "\n";
        return 0;
      }
      return t.fn(args);
    } catch (const std::exception& e) {
      std::cerr << "minikd tool " << t.name << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "minikd tool: unknown tool \"" << argv[0] << "\"\n";
  printHelp(std::cerr);
  return 2;
}

}  // namespace minikd
