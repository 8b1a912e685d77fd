// `minikd tool client`: calls a URL in a loop; reports every error and the latency percentiles.
#include "minikd/tools.h"

#include <httplib.h>

#include <cstdio>
#include <iostream>
#include <thread>

namespace minikd::tools {

int runClient(const Args& args) {
  if (args.positional.size() != 1) throw std::invalid_argument("want exactly one URL (minikd tool client http://web/)");
  Url u = parseUrl(args.positional[0]);
  int64_t count = args.getInt("count", 10);
  auto interval = parseDuration(args.get("interval", "100ms"));
  auto timeout = parseDuration(args.get("timeout", "2s"));
  if (count < 1) throw std::invalid_argument("--count must be at least 1");

  std::vector<double> latencies_ms;
  int64_t errors = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (i > 0) std::this_thread::sleep_for(interval);
    // A fresh connection per request, so that each one is load-balanced on its own.
    httplib::Client cli(u.host, u.port);
    cli.set_connection_timeout(timeout);
    cli.set_read_timeout(timeout);
    auto start = std::chrono::steady_clock::now();
    auto res = cli.Get(u.path);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!res) {
      ++errors;
      std::cout << "request " << i + 1 << ": error: " << httplib::to_string(res.error()) << "\n";
    } else if (res->status >= 400) {
      ++errors;
      std::cout << "request " << i + 1 << ": HTTP " << res->status << "\n";
    } else {
      latencies_ms.push_back(ms);
    }
  }
  char line[256];
  std::snprintf(line, sizeof line, "requests: %lld ok: %zu errors: %lld p50: %.1fms p90: %.1fms p99: %.1fms\n",
                static_cast<long long>(count), latencies_ms.size(), static_cast<long long>(errors),
                percentile(latencies_ms, 50), percentile(latencies_ms, 90), percentile(latencies_ms, 99));
  std::cout << line;
  return errors == 0 ? 0 : 1;
}

}  // namespace minikd::tools
