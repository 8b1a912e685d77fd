// API benchmark: over HTTPS with keep-alive, 8 concurrent clients: creates/s and create/get/list
// latency; watch delivery latency to 100 watchers; and, in the same run, raw SQLite single-insert
// transactions with the store's durability (WAL, synchronous=NORMAL) as the baseline.
//
//   ninja -C build api_bench && build/tests/api_bench [creates_per_client]
#include "api/pki.h"
#include "api/server.h"

#include <httplib.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

using minikd::api::Json;
using Clock = std::chrono::steady_clock;

namespace {

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()))];
}

double msSince(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string configMap(const std::string& name, const std::string& ns = "default", int64_t stamp = 0) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app", "bench"}}},
                            {"annotations", {{"stamp", std::to_string(stamp)}}}}},
              {"data", {{"config", std::string(200, 'x')}}}}
      .dump();
}

double rawSqliteInsertsPerSec(const std::string& path, int n) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                   "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL);", nullptr, nullptr, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, ?2)", -1, &st, nullptr);
  std::string payload = configMap("x");
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    std::string k = "k" + std::to_string(i);
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, k.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, payload.c_str(), -1, SQLITE_STATIC);
    sqlite3_step(st);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double secs = msSince(t0) / 1000;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n / secs;
}

}  // namespace

int main(int argc, char** argv) {
  int per_client = argc > 1 ? std::atoi(argv[1]) : 1500;
  const int clients = 8, watchers = 100, watch_events = 200;
  char tmpl[] = "/tmp/minikd-apibench-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto pki = minikd::api::ensurePki(dir, {});
  minikd::api::Store store(dir + "/store.db");
  minikd::api::Api api(store);
  const auto* nsr = minikd::api::findResource("", "namespaces");
  for (const char* n : {"default", "small"}) api.create(*nsr, "", {{"metadata", {{"name", n}}}});
  minikd::api::ServerConfig cfg;
  cfg.port = 0;
  cfg.cert_file = pki.server_cert_file;
  cfg.key_file = pki.server_key_file;
  cfg.token = pki.token;
  minikd::api::ApiServer server(api, cfg);
  int port = server.bind();
  std::thread srv([&] { server.run(); });
  auto client = [&] {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    c->set_ca_cert_path(pki.ca_cert_file.c_str());
    c->enable_server_certificate_verification(true);
    c->set_bearer_token_auth(pki.token.c_str());
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    c->set_read_timeout(30, 0);
    return c;
  };

  // Creates: 8 clients, keep-alive.
  std::vector<std::vector<double>> lat(clients);
  std::atomic<int> failures{0};
  auto t0 = Clock::now();
  {
    std::vector<std::thread> ts;
    for (int c = 0; c < clients; ++c)
      ts.emplace_back([&, c] {
        auto cl = client();
        for (int i = 0; i < per_client; ++i) {
          auto t = Clock::now();
          auto r = cl->Post("/api/v1/namespaces/default/configmaps", configMap("c" + std::to_string(c) + "-" + std::to_string(i)),
                            "application/json");
          lat[c].push_back(msSince(t));
          if (!r || r->status != 201) ++failures;
        }
      });
    for (auto& t : ts) t.join();
  }
  double create_secs = msSince(t0) / 1000;
  std::vector<double> create_lat;
  for (auto& v : lat) create_lat.insert(create_lat.end(), v.begin(), v.end());
  double creates_per_sec = clients * per_client / create_secs;

  // Gets and lists (a namespace of 100 objects), 8 clients.
  for (int i = 0; i < 100; ++i)
    api.create(*minikd::api::findResource("", "configmaps"), "small", Json::parse(configMap("s" + std::to_string(i), "small")));
  std::vector<std::vector<double>> get_lat(clients), list_lat(clients);
  {
    std::vector<std::thread> ts;
    for (int c = 0; c < clients; ++c)
      ts.emplace_back([&, c] {
        auto cl = client();
        for (int i = 0; i < 500; ++i) {
          auto t = Clock::now();
          auto r = cl->Get("/api/v1/namespaces/default/configmaps/c" + std::to_string(c) + "-" + std::to_string(i % per_client));
          get_lat[c].push_back(msSince(t));
          if (!r || r->status != 200) ++failures;
          if (i % 5) continue;
          t = Clock::now();
          r = cl->Get("/api/v1/namespaces/small/configmaps");
          list_lat[c].push_back(msSince(t));
          if (!r || r->status != 200) ++failures;
        }
      });
    for (auto& t : ts) t.join();
  }
  std::vector<double> gets, lists;
  for (int c = 0; c < clients; ++c) {
    gets.insert(gets.end(), get_lat[c].begin(), get_lat[c].end());
    lists.insert(lists.end(), list_lat[c].begin(), list_lat[c].end());
  }

  // Watch delivery: 100 watchers over HTTPS; each event carries its creation time.
  std::mutex mu;
  std::vector<double> watch_lat;
  std::atomic<int> ready{0};
  std::string from = std::to_string(store.resourceVersion());
  std::vector<std::thread> ws;
  for (int w = 0; w < watchers; ++w)
    ws.emplace_back([&] {
      auto cl = client();
      std::string buf;
      int seen = 0;
      ++ready;
      cl->Get("/api/v1/namespaces/small/configmaps?watch=true&timeoutSeconds=60&resourceVersion=" + from,
              [&](const char* d, size_t n) {
                buf.append(d, n);
                size_t nl;
                while ((nl = buf.find('\n')) != std::string::npos) {
                  Json ev = Json::parse(buf.substr(0, nl));
                  buf.erase(0, nl + 1);
                  int64_t stamp = std::stoll(ev["object"]["metadata"]["annotations"]["stamp"].get<std::string>());
                  int64_t now = Clock::now().time_since_epoch().count();
                  std::lock_guard lk(mu);
                  watch_lat.push_back((now - stamp) / 1e6);
                  if (++seen == watch_events) return false;
                }
                return true;
              });
    });
  while (ready < watchers) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  {
    auto cl = client();
    for (int i = 0; i < watch_events; ++i) {
      cl->Post("/api/v1/namespaces/small/configmaps",
               configMap("w" + std::to_string(i), "small", Clock::now().time_since_epoch().count()), "application/json");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  for (auto& t : ws) t.join();
  server.stop();
  srv.join();

  double raw = rawSqliteInsertsPerSec(dir + "/raw.db", clients * per_client);
  std::filesystem::remove_all(dir);

  std::printf("API benchmark (HTTPS, keep-alive, %d clients; %d watchers)\n", clients, watchers);
  std::printf("  creates:  %8.0f /s  p50 %.2f ms  p99 %.2f ms  (%d creates)\n", creates_per_sec, pct(create_lat, 50),
              pct(create_lat, 99), clients * per_client);
  std::printf("  get:      p50 %.2f ms  p99 %.2f ms\n", pct(gets, 50), pct(gets, 99));
  std::printf("  list 100: p50 %.2f ms  p99 %.2f ms\n", pct(lists, 50), pct(lists, 99));
  std::printf("  watch delivery to %d watchers: p50 %.2f ms  p99 %.2f ms  (%zu deliveries)\n", watchers,
              pct(watch_lat, 50), pct(watch_lat, 99), watch_lat.size());
  std::printf("  baseline raw SQLite single-insert transactions (WAL, NORMAL): %.0f /s\n", raw);
  std::printf("  ratio API creates / raw SQLite inserts: %.2f\n", creates_per_sec / raw);
  std::printf("  failures: %d\n", failures.load());
  return failures == 0 ? 0 : 1;
}
