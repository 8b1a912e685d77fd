#include "minikd/tools.h"

#include <catch2/catch.hpp>

using namespace minikd::tools;

namespace {
Args parse(std::vector<std::string> words, const std::set<std::string>& bools = {}) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return parseArgs(static_cast<int>(argv.size()), argv.data(), bools);
}
}  // namespace

TEST_CASE("tool: flags, values and positionals", "[tools]") {
  auto a = parse({"client", "http://web/", "--count", "5", "--interval=20ms", "--verbose"}, {"verbose"});
  CHECK(a.positional == std::vector<std::string>{"http://web/"});
  CHECK(a.getInt("count", 1) == 5);
  CHECK(a.get("interval") == "20ms");
  CHECK(a.has("verbose"));
  CHECK(a.get("missing", "x") == "x");
  CHECK_THROWS_AS(parse({"http", "--port"}), std::invalid_argument);
  CHECK_THROWS_AS(parse({"http", "--port", "eighty"}).getInt("port", 0), std::invalid_argument);
}

TEST_CASE("tool: durations", "[tools]") {
  CHECK(parseDuration("250ms") == std::chrono::milliseconds(250));
  CHECK(parseDuration("2s") == std::chrono::milliseconds(2000));
  CHECK(parseDuration("1.5s") == std::chrono::milliseconds(1500));
  CHECK(parseDuration("1m") == std::chrono::milliseconds(60000));
  CHECK(parseDuration("40") == std::chrono::milliseconds(40));
  CHECK_THROWS_AS(parseDuration("fast"), std::invalid_argument);
  CHECK_THROWS_AS(parseDuration("3h"), std::invalid_argument);
}

TEST_CASE("tool: nearest-rank percentiles", "[tools]") {
  std::vector<double> v;
  for (int i = 100; i >= 1; --i) v.push_back(i);  // unsorted on purpose
  CHECK(percentile(v, 50) == 50);
  CHECK(percentile(v, 90) == 90);
  CHECK(percentile(v, 99) == 99);
  CHECK(percentile(v, 100) == 100);
  CHECK(percentile({7}, 99) == 7);
  CHECK(percentile({}, 50) == 0);
  CHECK(percentile({1, 2, 3, 4}, 50) == 2);
  CHECK(percentile({1, 2, 3, 4}, 51) == 3);
}

TEST_CASE("tool: URLs", "[tools]") {
  auto u = parseUrl("http://api/");
  CHECK(u.host == "api");
  CHECK(u.port == 80);
  CHECK(u.path == "/");
  u = parseUrl("http://127.0.0.1:8080/items?x=1");
  CHECK(u.host == "127.0.0.1");
  CHECK(u.port == 8080);
  CHECK(u.path == "/items?x=1");
  CHECK(parseUrl("http://store").path == "/");
  CHECK_THROWS_AS(parseUrl("api/"), std::invalid_argument);
  CHECK_THROWS_AS(parseUrl("https://api/"), std::invalid_argument);
  CHECK_THROWS_AS(parseUrl("http://:80/"), std::invalid_argument);
}

TEST_CASE("tool: runTool lists the tools and rejects unknown ones", "[tools]") {
  std::string help = "--help", bogus = "bogus";
  char* a[] = {help.data()};
  CHECK(minikd::runTool(1, a) == 0);
  char* b[] = {bogus.data()};
  CHECK(minikd::runTool(1, b) == 2);
}
